"""The TIS hook, its data models and its exceptions."""

from __future__ import annotations

from airflow_provider_tis.core.errors import is_temporary, redact_url
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.hooks.models import AppInfo, Job, JobState, OutputFile, ServerInfo, TokenInfo
from airflow_provider_tis.hooks.tis import TisDownload, TisHook
from airflow_provider_tis.hooks.tis_errors import (
    TisApiError,
    TisAuthError,
    TisConfigError,
    TisConnectionError,
    TisDownloadLimitError,
    TisDownloadLinkExpiredError,
    TisError,
    TisForbiddenError,
    TisJobLimitError,
    TisMaintenanceError,
    TisNotFoundError,
    TisResponseError,
    TisTransferError,
)

__all__ = [
    "AppInfo",
    "CgiHook",
    "Job",
    "JobState",
    "OutputFile",
    "RetryPolicy",
    "ServerInfo",
    "TisApiError",
    "TisAuthError",
    "TisConfigError",
    "TisConnectionError",
    "TisDownload",
    "TisDownloadLimitError",
    "TisDownloadLinkExpiredError",
    "TisError",
    "TisForbiddenError",
    "TisHook",
    "TisJobLimitError",
    "TisMaintenanceError",
    "TisNotFoundError",
    "TisResponseError",
    "TisTransferError",
    "TokenInfo",
    "is_temporary",
    "redact_url",
]
