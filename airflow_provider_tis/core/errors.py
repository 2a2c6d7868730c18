"""The errors base every service's exceptions build on, and the one rule of what is temporary.

Every message says what went wrong and what to do. None ever contains a secret (an API token) or a URL's
query string (a presigned link's signature): server text passes through :func:`scrub` first.
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_tis.core.retry import RETRYABLE_STATUS, TEMPORARY_STATUS, transient_errors
from airflow_provider_tis.version_compat import AirflowException

if TYPE_CHECKING:
    from collections.abc import Callable

    import requests

_SNIPPET_CHARS = 200
# An absolute or relative URL with a query string (urllib3 errors show "url: /path?query"). The query
# ends at a closing bracket: signed links encode theirs, and a message often puts a URL in brackets.
_URL_WITH_QUERY = re.compile(r"(?:\b[a-z][a-z0-9+.-]*://[^\s\"'<>/?#]*)?/[^\s\"'<>?#]*\?[^\s\"'<>)\]]+", re.I)
REDACTED = "***"


class ProviderError(AirflowException):
    """Base class of every error raised by this provider, whatever the service."""


class ConfigError(ProviderError):
    """The Airflow connection or a parameter is wrong; nothing was sent to the server."""


class ResponseError(ProviderError):
    """The server answered something this provider cannot understand."""


class NetworkError(ProviderError):
    """The server could not be reached (connection refused, DNS, TLS, timeouts), retries included."""


class ApiError(ProviderError):
    """The server answered with an HTTP error.

    :param status: HTTP status code.
    :param message: the server's ``message`` (or a short snippet of a non-JSON body), scrubbed.
    :param retry_after: the server's ``Retry-After`` in seconds, if it sent one.
    :param link: for a download answered by a storage, the storage link (retrying it spends nothing).
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


class ErrorKinds:
    """How one service names its errors: the core raises these, so users catch the service's classes.

    :param service: the service's short name in messages, e.g. ``"TIS"``.
    :param server: what the connection's host should be, e.g. ``"the imputation server"``.
    :param response: raised for answers that cannot be understood.
    :param network: raised when the server cannot be reached.
    :param from_response: maps an HTTP error answer (and what was being done) to the service's ApiError.
    """

    def __init__(
        self,
        service: str,
        server: str,
        response: type[ResponseError],
        network: type[NetworkError],
        from_response: Callable[[Any, str], ApiError],
    ) -> None:
        self.service = service
        self.server = server
        self.response = response
        self.network = network
        self.from_response = from_response


def is_temporary(exc: BaseException, *, bounded: bool = False) -> bool:
    """The one rule, for every route and for the sync and async client alike: will this trouble pass?

    Temporary: HTTP 429, 502, 503 and 504 (``TEMPORARY_STATUS``), refused or lost connections, read
    timeouts and calls that did not finish in time (:class:`NetworkError`, or the library errors
    behind it). A wait (sensor, trigger) outlasts these until its own timeout.

    :param bounded: for loops that give up after a few tries (request retries, upload retries, download
        resumes). There a 500 counts too: often a one-off crash of one request, while a 500 that
        persists is a server bug, which a wait of hours must not hide.
    """
    if isinstance(exc, ApiError):
        return exc.status in (RETRYABLE_STATUS if bounded else TEMPORARY_STATUS)
    # asyncio.TimeoutError is not the builtin TimeoutError before Python 3.11
    return isinstance(exc, (NetworkError, TimeoutError, asyncio.TimeoutError, *transient_errors()))


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


def describe_failure(
    response: requests.Response, service: str, action: str, secret: str | None
) -> tuple[str, str]:
    """The server's scrubbed message, and the first sentence every API error starts with:
    ``"<service> could not <action> (HTTP <status>: <message>)."``."""
    message = server_message(response, secret)
    said = f": {message}" if message else ""
    return message, f"{service} could not {action} (HTTP {response.status_code}{said})."


def shape_of(data: object) -> str:
    """What an unexpected JSON answer looks like, without its values (they may hold a password)."""
    return (
        f"an object with fields {sorted(map(str, data))[:20]}"
        if isinstance(data, dict)
        else type(data).__name__
    )
