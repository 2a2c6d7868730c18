"""Exceptions raised by the TIS hook, one class per thing a user can do something about.

Every message says what went wrong and what to do; server text is scrubbed of the token and of URLs'
query strings first (:func:`airflow_provider_tis.core.errors.scrub`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.download import LinkExpiredError, TransferError
from airflow_provider_tis.core.errors import (  # noqa: F401 - is_temporary, redact_url, scrub lived here
    ApiError,
    ConfigError,
    NetworkError,
    ProviderError,
    ResponseError,
    describe_failure,
    is_temporary,
    redact_url,
    scrub,
    server_message,
    shape_of,
)
from airflow_provider_tis.core.retry import RETRYABLE_STATUS, retry_after_seconds

if TYPE_CHECKING:
    from airflow_provider_tis.core.http import Response


class TisError(ProviderError):
    """Base class of every error raised by airflow-provider-tis."""


class TisConfigError(TisError, ConfigError):
    """The Airflow connection or a parameter is wrong; nothing was sent to the server."""


class TisResponseError(TisError, ResponseError):
    """The server answered something this provider cannot understand."""


class TisApiError(TisError, ApiError):
    """The server answered with an HTTP error (see :class:`ApiError` for its fields)."""


class TisAuthError(TisApiError):
    """401: the token is invalid or expired."""


class TisForbiddenError(TisApiError):
    """403: the token was revoked or replaced by a newer one, or the job belongs to another user."""


class TisNotFoundError(TisApiError):
    """404: the job, app or download does not exist (or was deleted)."""


class TisMaintenanceError(TisApiError):
    """503: the server is in maintenance mode and refuses job operations."""


class TisJobLimitError(TisApiError):
    """400 "Only N jobs per user can be executed simultaneously." (the upload was wasted)."""


class TisDownloadLimitError(TisApiError):
    """400 "number of max downloads exceeded.": this file cannot be downloaded again."""


def unexpected_answer(what: str, data: object) -> TisResponseError:
    """The server answered JSON of the wrong shape: say what, show its shape, and what to check.

    Only the field names of an object are shown: its values may hold a password from a step message.
    """
    shape = shape_of(data)
    return TisResponseError(
        f"The server sent {what} ({shape}). Check that the connection's host is the imputation server itself "
        "(not a proxy or login page); if it is, report this to its administrators."
    )


def error_from_response(
    response: Response, *, conn_id: str, action: str, secret: str | None = None
) -> TisApiError:
    """Map an HTTP error answer to the exception a user can act on.

    :param response: the failed response.
    :param conn_id: the Airflow connection id, named in messages that ask the user to fix it.
    :param action: what we were doing, e.g. ``"get job job-2025..."``.
    :param secret: the API token, removed from the server's words: the message reaches trigger events
        (stored in the database) and logs of processes whose masker may not know the token.
    """
    status = response.status_code
    message, prefix = describe_failure(response, "TIS", action, secret)
    if status == 401:
        return TisAuthError(
            f"{prefix} The API token is invalid or has expired. Create a new token on the server "
            f"(Profile > API Access) and put it in the password field of Airflow connection '{conn_id}'.",
            status=status,
            message=message,
        )
    if status == 403:
        hint = (
            "The job belongs to another user."
            if message == "Access denied."
            else "The API token was revoked or replaced by a newer one (only the newest token of a user "
            f"is valid). Put the current token in the password field of Airflow connection '{conn_id}'."
        )
        return TisForbiddenError(f"{prefix} {hint}", status=status, message=message)
    if status == 404:
        return TisNotFoundError(
            f"{prefix} It does not exist on this server, or it was deleted.", status=status, message=message
        )
    retry_after = retry_after_seconds(response)
    if status == 503:
        return TisMaintenanceError(
            f"{prefix} The server is in maintenance mode or temporarily unavailable; try again later.",
            status=status,
            message=message,
            retry_after=retry_after,
        )
    if status == 400 and message.startswith("Only ") and "jobs per user" in message:
        return TisJobLimitError(
            f"{prefix} Wait until one of your running jobs finishes, or lower max_active_jobs "
            f"in connection '{conn_id}'.",
            status=status,
            message=message,
        )
    if status == 400 and "max downloads exceeded" in message:
        return TisDownloadLimitError(
            f"{prefix} Every output file can be downloaded 10 times; this one has no downloads left. "
            "Ask the server administrators to reset the counter.",
            status=status,
            message=message,
        )
    if status in RETRYABLE_STATUS:
        hint = "It is rate-limiting requests" if status == 429 else "It failed or is overloaded"
        return TisApiError(
            f"{prefix} {hint}; try again later.", status=status, message=message, retry_after=retry_after
        )
    return TisApiError(prefix, status=status, message=message)


class TisDownloadLinkExpiredError(TisApiError, LinkExpiredError):
    """403 from the storage behind a download link: the presigned link expired (it lasts an hour)."""


class TisConnectionError(TisError, NetworkError):
    """The server could not be reached (connection refused, DNS, TLS, timeouts), retries included."""


class TisTransferError(TisError, TransferError):
    """A download could not be completed or verified; nothing was left under the final name."""
