"""Moved: the TIS exceptions live in :mod:`airflow_provider_tis.hooks.tis_errors` (this path keeps working)."""

from airflow_provider_tis.core.errors import is_temporary, redact_url, scrub, server_message
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
    error_from_response,
    unexpected_answer,
)

__all__ = [
    "TisApiError",
    "TisAuthError",
    "TisConfigError",
    "TisConnectionError",
    "TisDownloadLimitError",
    "TisDownloadLinkExpiredError",
    "TisError",
    "TisForbiddenError",
    "TisJobLimitError",
    "TisMaintenanceError",
    "TisNotFoundError",
    "TisResponseError",
    "TisTransferError",
    "error_from_response",
    "is_temporary",
    "redact_url",
    "scrub",
    "server_message",
    "unexpected_answer",
]
