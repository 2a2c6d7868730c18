"""The TIS hook, its data models and its exceptions."""

from __future__ import annotations

from airflow_provider_tis.hooks.errors import (
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
    is_temporary,
    redact_url,
)
from airflow_provider_tis.hooks.models import AppInfo, Job, JobState, OutputFile, ServerInfo, TokenInfo
from airflow_provider_tis.hooks.retry import RetryPolicy
from airflow_provider_tis.hooks.streams import TisDownload
from airflow_provider_tis.hooks.tis import TisHook

__all__ = [
    "AppInfo",
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
    "TokenInfo",
    "is_temporary",
    "redact_url",
]
