"""Apache Airflow provider for the TOPMed Imputation Server and the Michigan Imputation Server."""

from __future__ import annotations

__version__ = "0.1.0"
