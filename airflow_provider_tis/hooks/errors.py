"""Exceptions raised by the TIS hook, one class per thing a user can do something about.

Every message says what went wrong and what to do. None of them ever contains the API token or a
URL's query string (a presigned link's signature): they are built from the status code, the server's
``message`` with both removed (:func:`scrub`) and our own words only.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_tis.hooks.retry import (
    RETRYABLE_STATUS,
    TEMPORARY_STATUS,
    TRANSIENT_ERRORS,
    retry_after_seconds,
)
from airflow_provider_tis.version_compat import AirflowException

if TYPE_CHECKING:
    import requests

_SNIPPET_CHARS = 200
# An absolute or relative URL with a query string (urllib3 errors show "url: /path?query"). The query
# ends at a closing bracket: signed links encode theirs, and a message often puts a URL in brackets.
_URL_WITH_QUERY = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://[^\s\"'<>/?#]*)?/[^\s\"'<>?#]*\?[^\s\"'<>)\]]+", re.I)
REDACTED = "***"


class TisError(AirflowException):
    """Base class of every error raised by airflow-provider-tis."""


class TisConfigError(TisError):
    """The Airflow connection or a parameter is wrong; nothing was sent to the server."""


class TisResponseError(TisError):
    """The server answered something this provider cannot understand."""


class TisApiError(TisError):
    """The server answered with an HTTP error.

    :param status: HTTP status code.
    :param message: the server's ``message`` (or a short snippet of a non-JSON body).
    :param retry_after: the server's ``Retry-After`` in seconds, if it sent one.
    :param link: for a download answered by the storage, the storage link (retrying it spends nothing).
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        message: str = "",
        retry_after: float | None = None,
        link: str | None = None,
    ) -> None:
        super().__init__(text)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.link = link


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


def is_temporary(exc: BaseException, *, bounded: bool = False) -> bool:
    """The one rule, for every route and for the sync and async client alike: will this trouble pass?

    Temporary: HTTP 429, 502, 503 and 504 (``TEMPORARY_STATUS``), refused or lost connections, read
    timeouts and calls that did not finish in time (:class:`TisConnectionError`, or the library errors
    behind it). A wait (sensor, trigger) outlasts these until its own timeout.

    :param bounded: for loops that give up after a few tries (request retries, upload retries, download
        resumes). There a 500 counts too: often a one-off crash of one request, while a 500 that
        persists is a server bug, which a wait of hours must not hide.
    """
    if isinstance(exc, TisApiError):
        return exc.status in (RETRYABLE_STATUS if bounded else TEMPORARY_STATUS)
    # asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11
    return isinstance(exc, (TisConnectionError, TimeoutError, asyncio.TimeoutError, *TRANSIENT_ERRORS))


def redact_url(url: str) -> str:
    """``url`` without its query string, fragment and password: safe to show in a message or a log.

    A presigned storage link carries its signature in the query string, a secret for as long as it lasts.
    """
    parts = urlsplit(url)
    netloc = parts.netloc.rpartition("@")[2] if "@" in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def scrub(text: str, *secrets: str | None) -> str:
    """``text`` from a server or a library with every secret replaced by ``***`` and every URL's query
    string dropped; apply it before any cut, so no part of a secret survives either."""
    for secret in secrets:
        if secret:
            text = text.replace(secret, REDACTED)
    return _URL_WITH_QUERY.sub(lambda match: redact_url(match.group(0)), text)


def unexpected_answer(what: str, data: object) -> TisResponseError:
    """The server answered JSON of the wrong shape: say what, show its shape, and what to check.

    Only the field names of an object are shown: its values may hold a password from a step message.
    """
    shape = (
        f"an object with fields {sorted(map(str, data))[:20]}"
        if isinstance(data, dict)
        else type(data).__name__
    )
    return TisResponseError(
        f"The server sent {what} ({shape}). Check that the connection's host is the imputation server itself "
        "(not a proxy or login page); if it is, report this to its administrators."
    )


def server_message(response: requests.Response, secret: str | None = None) -> str:
    """The server's ``message`` field, or a short snippet of the body when it is not JSON; scrubbed of
    ``secret`` (a server or proxy may echo the token) and of URLs' query strings."""
    try:
        body = response.json()
    except (ValueError, RecursionError):  # RecursionError: JSON nested too deeply to parse
        body = None
    if isinstance(body, dict) and isinstance(body.get("message"), str):
        return scrub(body["message"], secret)
    text = scrub(response.text, secret).strip()
    if not text:
        return ""
    if len(text) > _SNIPPET_CHARS:
        text = text[:_SNIPPET_CHARS] + "..."
    return json.dumps(text)  # quoted, so stray markup or newlines stay readable


def error_from_response(
    response: requests.Response, *, conn_id: str, action: str, secret: str | None = None
) -> TisApiError:
    """Map an HTTP error answer to the exception a user can act on.

    :param response: the failed response.
    :param conn_id: the Airflow connection id, named in messages that ask the user to fix it.
    :param action: what we were doing, e.g. ``"get job job-2025..."``.
    :param secret: the API token, removed from the server's words: the message reaches trigger events
        (stored in the database) and logs of processes whose masker may not know the token.
    """
    status = response.status_code
    message = server_message(response, secret)
    said = f": {message}" if message else ""
    prefix = f"TIS could not {action} (HTTP {status}{said})."
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


class TisDownloadLinkExpiredError(TisApiError):
    """403 from the storage behind a download link: the presigned link expired (it lasts an hour)."""


class TisConnectionError(TisError):
    """The server could not be reached (connection refused, DNS, TLS, timeouts), retries included."""
