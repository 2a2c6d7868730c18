"""Moved to :mod:`airflow_provider_tis.hooks.tis_inputs` (this path keeps working)."""

from airflow_provider_tis.core.inputs import task_job_name
from airflow_provider_tis.hooks.tis_inputs import (
    check_bgzf_header,
    check_input_files,
    check_password,
    check_server_safe,
    default_job_name,
    resolve_files,
)

__all__ = [
    "check_bgzf_header",
    "check_input_files",
    "check_password",
    "check_server_safe",
    "default_job_name",
    "resolve_files",
    "task_job_name",
]
