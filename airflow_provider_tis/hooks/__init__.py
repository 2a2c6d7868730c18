"""The TIS hook, its data models and its exceptions."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.lazy import lazy_exports

if TYPE_CHECKING:
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

__getattr__ = lazy_exports(
    __name__,
    {
        "is_temporary": "airflow_provider_tis.core.errors",
        "redact_url": "airflow_provider_tis.core.errors",
        "RetryPolicy": "airflow_provider_tis.core.retry",
        "CgiHook": "airflow_provider_tis.hooks.cgi",
        "AppInfo": "airflow_provider_tis.hooks.models",
        "Job": "airflow_provider_tis.hooks.models",
        "JobState": "airflow_provider_tis.hooks.models",
        "OutputFile": "airflow_provider_tis.hooks.models",
        "ServerInfo": "airflow_provider_tis.hooks.models",
        "TokenInfo": "airflow_provider_tis.hooks.models",
        "TisDownload": "airflow_provider_tis.hooks.tis",
        "TisHook": "airflow_provider_tis.hooks.tis",
        "TisApiError": "airflow_provider_tis.hooks.tis_errors",
        "TisAuthError": "airflow_provider_tis.hooks.tis_errors",
        "TisConfigError": "airflow_provider_tis.hooks.tis_errors",
        "TisConnectionError": "airflow_provider_tis.hooks.tis_errors",
        "TisDownloadLimitError": "airflow_provider_tis.hooks.tis_errors",
        "TisDownloadLinkExpiredError": "airflow_provider_tis.hooks.tis_errors",
        "TisError": "airflow_provider_tis.hooks.tis_errors",
        "TisForbiddenError": "airflow_provider_tis.hooks.tis_errors",
        "TisJobLimitError": "airflow_provider_tis.hooks.tis_errors",
        "TisMaintenanceError": "airflow_provider_tis.hooks.tis_errors",
        "TisNotFoundError": "airflow_provider_tis.hooks.tis_errors",
        "TisResponseError": "airflow_provider_tis.hooks.tis_errors",
        "TisTransferError": "airflow_provider_tis.hooks.tis_errors",
    },
)
