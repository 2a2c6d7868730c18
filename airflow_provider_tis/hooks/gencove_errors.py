"""Exceptions of the Gencove hook, one class per thing a user can act on.

Gencove's API v2 is a Django REST framework service: errors are ``{"detail": ...}`` or field -> messages
(``{"sample_ids": ["..."]}``), and a 503 during maintenance carries ``{maintenance, maintenance_message,
maintenance_eta}`` (shared/gencove-api.md §3.1, §3.5). Every message names the action, the HTTP status,
the service's words (scrubbed of the API key and of URLs' query strings) and what to do.
"""

from __future__ import annotations

import re
import uuid
from datetime import datetime, timezone
from typing import Any

from airflow_provider_tis.core.download import LinkExpiredError, TransferError
from airflow_provider_tis.core.errors import (
    ApiError,
    ConfigError,
    NetworkError,
    ProviderError,
    ResponseError,
    scrub,
    server_message,
)
from airflow_provider_tis.core.fields import AnswerReader
from airflow_provider_tis.core.retry import RETRYABLE_STATUS, retry_after_seconds

SERVICE = "Gencove"
_FIELD_MESSAGES = 5  # messages shown per field: a 400 on 20 sample ids stays readable


class GencoveError(ProviderError):
    """Base class of every error about Gencove."""


class GencoveConfigError(GencoveError, ConfigError, ValueError):
    """The Airflow connection or a parameter is wrong (a malformed UUID...); nothing was sent.

    Also a ValueError: a malformed argument is one, and callers may catch it as such.
    """


class GencoveResponseError(GencoveError, ResponseError):
    """Gencove answered something this provider cannot understand."""


class GencoveConnectionError(GencoveError, NetworkError):
    """Gencove could not be reached (connection refused, DNS, TLS, timeouts), retries included."""


class GencoveApiError(GencoveError, ApiError):
    """Gencove answered with an HTTP error.

    :param fields: a DRF validation error's field -> messages (empty for other errors).
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        message: str = "",
        fields: dict[str, list[str]] | None = None,
        retry_after: float | None = None,
        link: str | None = None,
    ) -> None:
        super().__init__(text, status=status, message=message, retry_after=retry_after, link=link)
        self.fields = fields or {}


class GencoveAuthError(GencoveApiError):
    """401: the API key is wrong, expired or revoked."""


class GencoveIpNotAllowedError(GencoveApiError):
    """403: the API key's IP allow-list (``ip_range``) does not include this machine, or it may not do this."""


class GencoveNotFoundError(GencoveApiError):
    """404: no such project, sample, file or restore group visible to the key's user."""


class GencoveValidationError(GencoveApiError):
    """400: Gencove refused the request's fields (see :attr:`fields`)."""


class GencoveRateLimitError(GencoveApiError):
    """429: throttled, and waiting (``Retry-After``) within the retry policy did not help."""


class GencoveMaintenanceError(GencoveApiError):
    """503 with a ``maintenance`` body, for longer than the retry policy waits.

    :param eta: the ``maintenance_eta`` Gencove announced, if any.
    """

    def __init__(self, text: str, *, eta: datetime | None = None, **kwargs: Any) -> None:
        super().__init__(text, **kwargs)
        self.eta = eta


class GencoveLinkExpiredError(GencoveApiError, LinkExpiredError):
    """403 from the storage behind a ``download_url``: the pre-signed link expired (§3.4)."""


class GencoveTransferError(GencoveError, TransferError):
    """A download could not be completed or verified (size, SHA-256); nothing was kept under its name."""


class GencoveSampleStatusError(GencoveError):
    """Samples waited for ended ``failed``, ``failed qc`` or canceled, or are not in the project: the
    message names each with its client id, status and status note."""


class GencoveArchivedError(GencoveError):
    """The sample's files are archived (or still being restored): restore them first."""


def _body(response: Any) -> Any:
    try:
        return response.json()
    except (ValueError, RecursionError, AttributeError):
        return None


def parse_time(value: object) -> datetime | None:
    """An ISO 8601 time as DRF renders it (``...Z``), in UTC; None when missing or malformed."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


def maintenance_eta(response: Any) -> datetime | None:
    """The ``maintenance_eta`` of a maintenance answer, or None."""
    body = _body(response)
    return parse_time(body.get("maintenance_eta")) if isinstance(body, dict) else None


def is_maintenance(response: Any) -> bool:
    """A 503 whose body says ``maintenance`` (§3.5): waited out by the one request loop of core.http.

    The loop takes each wait from ``Retry-After``; Gencove puts its end in the body (``maintenance_eta``),
    so an answer without the header gets one here, the seconds until the ETA. The loop caps each wait at
    ``RetryPolicy.max_delay`` and the whole maintenance at ``max_maintenance``: an ETA far away (or one that
    keeps moving) is never waited for forever. A passed ETA adds nothing (the loop's own delay applies).
    """
    if response.status_code != 503:
        return False
    body = _body(response)
    if not isinstance(body, dict) or not body.get("maintenance"):
        return False
    eta = parse_time(body.get("maintenance_eta"))
    if eta is not None and not response.headers.get("Retry-After"):
        seconds = (eta - datetime.now(timezone.utc)).total_seconds()
        if seconds > 0:
            response.headers["Retry-After"] = f"{seconds:.3f}"
    return True


def describe_fields(body: dict[str, Any], secret: str | None = None) -> str:
    """A DRF validation body as one readable line: ``sample_ids: Ensure ...; uploads[0].fastq.r1.upload:
    Invalid pk ...`` (nested serializers and lists of them flattened into dotted names)."""
    found: list[str] = []

    def walk(value: Any, name: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                walk(inner, f"{name}.{key}" if name else str(key))
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            shown = [scrub(v, secret) for v in value[:_FIELD_MESSAGES]]
            more = f" (and {len(value) - _FIELD_MESSAGES} more)" if len(value) > _FIELD_MESSAGES else ""
            found.append(f"{name or 'error'}: {' '.join(shown)}{more}")
        elif isinstance(value, list):
            for index, inner in enumerate(value):
                if inner:  # DRF sends {} for the rows of a list that were fine
                    walk(inner, f"{name}[{index}]")
        elif value is not None:
            found.append(f"{name or 'error'}: {scrub(str(value), secret)}")

    walk({k: v for k, v in body.items() if k != "detail"}, "")
    return "; ".join(found)


def _field_map(body: dict[str, Any]) -> dict[str, list[str]]:
    return {
        str(k): [str(m) for m in v] if isinstance(v, list) else [str(v)]
        for k, v in body.items()
        if k != "detail"
    }


def error_from_response(response: Any, *, conn_id: str, action: str, secret: str | None) -> GencoveApiError:
    """Map an HTTP error answer to the exception a user can act on.

    :param response: the error answer (requests or httpx).
    :param conn_id: the Airflow connection, named in hints that ask to fix it.
    :param action: what was being done, e.g. ``"get sample 1c9f..."``.
    :param secret: the API key, removed from the service's words.
    """
    status, body = response.status_code, _body(response)
    body = body if isinstance(body, dict) else None
    if body is not None and isinstance(body.get("detail"), str):
        message = said = scrub(body["detail"], secret)
    elif body is not None and body.get("maintenance"):
        message = said = scrub(str(body.get("maintenance_message") or "under maintenance"), secret)
    elif body is not None and body:
        message = said = describe_fields(body, secret)
    else:  # not the service's body: a proxy's page, Django's HTML 404
        message = said = server_message(response, secret)
    prefix = f"{SERVICE} could not {action} (HTTP {status}{': ' + said if said else ''})."
    kwargs: dict[str, Any] = {"status": status, "message": message}
    key_place = f"the password field of Airflow connection '{conn_id}'"
    if status == 401:
        return GencoveAuthError(
            f"{prefix} The API key was refused: it has expired, was revoked, or is wrong. Create a new key "
            f"on Gencove (web.gencove.com, Account > API keys) and put it in {key_place}.",
            **kwargs,
        )
    if status == 403:
        return GencoveIpNotAllowedError(
            f"{prefix} The key is valid but refused from here: its IP allow-list ('ip_range') does not "
            "include this machine's address (every Airflow worker and the triggerer need to be in it), or "
            "its user may not do this. Add the workers' addresses to the key's allow-list, or create a key "
            f"without one, and put it in {key_place}.",
            **kwargs,
        )
    if status == 404:
        return GencoveNotFoundError(
            f"{prefix} It does not exist, or the key's user cannot see it. Check the id (a UUID, as in the "
            "project's or sample's page on web.gencove.com) and that the connection's host is the right "
            "region (https://api.gencove.com or https://api.eu1.gencove.com).",
            **kwargs,
        )
    if status == 400 and body is not None and "detail" not in body:
        return GencoveValidationError(f"{prefix} Fix the fields named.", fields=_field_map(body), **kwargs)
    retry_after = retry_after_seconds(response)
    if status == 429:
        return GencoveRateLimitError(
            f"{prefix} Gencove throttled the requests of this key, and waiting did not help. Poll less "
            "often (a poll interval of at least 30 s), or spread busy DAGs over time.",
            retry_after=retry_after,
            **kwargs,
        )
    if status == 503 and body is not None and body.get("maintenance"):
        eta = parse_time(body.get("maintenance_eta"))
        until = f" until about {eta:%Y-%m-%d %H:%M} UTC" if eta else ""
        return GencoveMaintenanceError(
            f"{prefix} Gencove is under maintenance{until}, for longer than this task waits "
            "(RetryPolicy.max_maintenance). Run the task again later.",
            eta=eta,
            retry_after=retry_after,
            **kwargs,
        )
    if status in RETRYABLE_STATUS:
        return GencoveApiError(
            f"{prefix} Gencove failed or is overloaded; try again later.", retry_after=retry_after, **kwargs
        )
    return GencoveApiError(prefix, **kwargs)


#: How Gencove's answers are read (fail closed; see core.fields).
ANSWERS = AnswerReader(
    SERVICE, GencoveResponseError, "Gencove's API, e.g. https://api.gencove.com (the API is under /api/v2)"
)
unexpected_answer = ANSWERS.unexpected


def check_uuid(value: object, argument: str) -> str:
    """A Gencove id (a UUID), lower-cased, or a :class:`GencoveConfigError` (a ValueError) naming the
    argument; checked before any request, so a bad XCom or template never reaches the service."""
    text = value.strip() if isinstance(value, str) else None
    try:
        if text is None or not re.fullmatch(r"[0-9a-fA-F-]{32,36}", text):
            raise ValueError
        return str(uuid.UUID(text))
    except ValueError:
        raise GencoveConfigError(
            f"{argument} must be a Gencove id (a UUID such as 3fa85f64-5717-4562-b3fc-2c963f66afa6), got "
            f"{value!r} (check the XCom or template that provides it)."
        ) from None
