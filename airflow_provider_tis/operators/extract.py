"""Moved to :mod:`airflow_provider_tis.core.archive` (this path keeps working)."""

from airflow_provider_tis.core.archive import extract_zip

__all__ = ["extract_zip"]
