"""The Cancer Genome Interpreter (CGI) REST API simulator (``/api/v1``), written from the API facts."""

from __future__ import annotations

from airflow_provider_tis.testing.cgi.formats import write_cnas, write_mutations, write_translocations
from airflow_provider_tis.testing.cgi.jobs import CgiConfig, CgiJob
from airflow_provider_tis.testing.cgi.results import RESULT_MEMBERS
from airflow_provider_tis.testing.cgi.simulator import CgiSimulator

__all__ = [
    "RESULT_MEMBERS",
    "CgiConfig",
    "CgiJob",
    "CgiSimulator",
    "write_cnas",
    "write_mutations",
    "write_translocations",
]
