"""Exceptions of the Seven Bridges / BioData Catalyst hook, one class per thing a user can act on.

The platform answers errors with ``{status, code, message, more_info}``; every message here names the
action, the HTTP status, the platform's code and words, and what to do. Server text is scrubbed of the
token and of URLs' query strings first (:func:`~airflow_provider_tis.core.errors.scrub`).
"""

from __future__ import annotations

import re
from typing import Any

from airflow_provider_tis.core.download import LinkExpiredError, TransferError
from airflow_provider_tis.core.errors import (
    ApiError,
    ConfigError,
    NetworkError,
    ProviderError,
    ResponseError,
    redact_url,
    scrub,
    server_message,
)
from airflow_provider_tis.core.fields import AnswerReader
from airflow_provider_tis.core.retry import RETRYABLE_STATUS, retry_after_seconds

SERVICE = "Seven Bridges"
#: The platform's code of a 503 during maintenance (SBPY's ``maintenance_sleeper`` checks it, §1.3).
MAINTENANCE_CODE = 0
_SEGMENT = r"[A-Za-z0-9_][\w.-]*"  # a name in an id: never "." or ".." (it would move the URL's path)
_PROJECT_ID = re.compile(rf"{_SEGMENT}/{_SEGMENT}")
_APP_ID = re.compile(rf"{_SEGMENT}/{_SEGMENT}/{_SEGMENT}(/\d+)?")
_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
#: Codes of a malformed project id (``Malformed project id. Expecting `owner/project```, ...).
_PROJECT_ID_CODES = (3012, 5005, 8010)


class SbgError(ProviderError):
    """Base class of every error about Seven Bridges / BioData Catalyst."""


class SbgConfigError(SbgError, ConfigError):
    """The Airflow connection or a parameter is wrong; nothing was sent to the platform."""


class SbgResponseError(SbgError, ResponseError):
    """The platform answered something this provider cannot understand."""


class SbgConnectionError(SbgError, NetworkError):
    """The platform could not be reached (connection refused, DNS, TLS, timeouts), retries included."""


class SbgApiError(SbgError, ApiError):
    """The platform answered with an HTTP error.

    :param code: the platform's error code (``7002``: no such task, ``0``: maintenance ...), if it sent one.
    :param more_info: the platform's ``more_info`` (a docs link or a detail), scrubbed.
    """

    def __init__(
        self,
        text: str,
        *,
        status: int,
        message: str = "",
        code: int | None = None,
        more_info: str = "",
        retry_after: float | None = None,
        link: str | None = None,
    ) -> None:
        super().__init__(text, status=status, message=message, retry_after=retry_after, link=link)
        self.code = code
        self.more_info = more_info


class SbgAuthError(SbgApiError):
    """401: the auth token is wrong, or was regenerated (which invalidates the old one)."""


class SbgForbiddenError(SbgApiError):
    """403: the token's user may not use this project, file, task or upload."""


class SbgNotFoundError(SbgApiError):
    """404: no such project, file, app, task or upload (or it was deleted)."""


class SbgRateLimitError(SbgApiError):
    """429: the token's request budget is used up, and waiting for its reset did not help."""


class SbgMaintenanceError(SbgApiError):
    """503 with code 0: the platform is under maintenance for longer than the retry policy waits."""


class SbgTaskFailedError(SbgError):
    """A task ended FAILED or ABORTED (or a batch task's children failed); the message says why."""


class SbgLinkExpiredError(SbgApiError, LinkExpiredError):
    """403 from the storage behind a ``download_info`` link: it expired; a new one is asked for."""


class SbgTransferError(SbgError, TransferError):
    """A download could not be completed or verified; nothing was left under the final name."""


class SbgUploadError(SbgError):
    """A multipart upload failed; it was aborted on the platform, so no partial file is left."""


class SbgTaskValidationError(SbgError):
    """The platform refused to run a task because of its inputs (it stays DRAFT).

    :param task_id: the DRAFT task, to fix (``PATCH``) or delete.
    :param errors: the task's ``errors``, each ``{status, code, message, more_info}``.
    """

    def __init__(self, text: str, *, task_id: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(text)
        self.task_id = task_id
        self.errors = errors


def _body(response: Any) -> dict[str, Any]:
    try:
        body = response.json()
    except (ValueError, RecursionError, AttributeError):
        return {}
    return body if isinstance(body, dict) else {}


def is_maintenance(response: Any) -> bool:
    """A 503 whose body has ``code: 0``: the platform's maintenance answer (waited out, §1.3)."""
    if response.status_code != 503:
        return False
    code = _body(response).get("code")
    return isinstance(code, int) and not isinstance(code, bool) and code == MAINTENANCE_CODE


def describe_error(item: dict[str, Any], secret: str | None = None) -> str:
    """One platform error (a body, or an entry of a task's ``errors``) as text: ``code 7012: Missing
    inputs. Required inputs are not set: reference.`` (``more_info`` shown unless it is only a docs link)."""
    code = item.get("code")
    message = scrub(str(item.get("message") or ""), secret).strip()
    more = scrub(str(item.get("more_info") or ""), secret).strip()
    words = " ".join(part for part in (message, "" if more.startswith("http") else more) if part)
    said = f"code {code}: {words}" if isinstance(code, int) else words
    return said or "no message"


def error_from_response(response: Any, *, conn_id: str, action: str, secret: str | None) -> SbgApiError:
    """Map an HTTP error answer to the exception a user can act on.

    :param conn_id: the Airflow connection, named in hints that ask to fix it.
    :param action: what was being done, e.g. ``"get task 1c9f..."``.
    :param secret: the auth token, removed from the server's words.
    """
    status, body = response.status_code, _body(response)
    code = body.get("code") if isinstance(body.get("code"), int) else None
    if body.get("message") is not None or code is not None:
        said = describe_error(body, secret)
        message = scrub(str(body.get("message") or ""), secret)
    else:  # not the platform's body: a proxy's page
        said = message = server_message(response, secret)
    more_info = scrub(str(body.get("more_info") or ""), secret)
    prefix = f"{SERVICE} could not {action} (HTTP {status}{', ' + said if said else ''})."
    docs = f" See {redact_url(more_info)}." if more_info.startswith("http") else ""
    kwargs: dict[str, Any] = {"status": status, "message": message, "code": code, "more_info": more_info}
    if status == 401:
        return SbgAuthError(
            f"{prefix} The auth token was refused: it is wrong, or it was regenerated (a new token "
            "invalidates the old one). Copy the current token from the platform (Developer > Auth token) "
            f"into the password field of Airflow connection '{conn_id}'.",
            **kwargs,
        )
    if status == 403:
        return SbgForbiddenError(
            f"{prefix} The token's user may not do this: ask an admin of the project to add the user with "
            f"the needed permissions, or use one of your own projects (extra 'project' of connection "
            f"'{conn_id}', or the `project` argument).{docs}",
            **kwargs,
        )
    if status == 404:
        return SbgNotFoundError(
            f"{prefix} It does not exist, or it was deleted. Check the id: projects are 'owner/project', "
            "apps 'owner/project/app', tasks a UUID, files the id shown in the file's page.",
            **kwargs,
        )
    retry_after = retry_after_seconds(response)
    if status == 429:
        return SbgRateLimitError(
            f"{prefix} The token's rate limit is used up (1000 requests per 5 minutes, shared by every DAG "
            "and worker using this token), and waiting for its reset did not help. Poll less often, use "
            "bulk calls, or spread busy DAGs over time.",
            retry_after=retry_after,
            **kwargs,
        )
    if status == 503 and code == MAINTENANCE_CODE:
        return SbgMaintenanceError(
            f"{prefix} The platform is under maintenance, for longer than this task waits "
            "(RetryPolicy.max_maintenance). Run the task again later.",
            retry_after=retry_after,
            **kwargs,
        )
    if status == 400 and code in _PROJECT_ID_CODES:
        return SbgApiError(
            f"{prefix} Project ids are 'owner/project', as in the project's URL (e.g. 'alice/demo').",
            **kwargs,
        )
    if status == 409:
        return SbgApiError(
            f"{prefix} Something of that name is there already: upload with overwrite=True to replace a "
            "file, or choose another name.",
            **kwargs,
        )
    if status in RETRYABLE_STATUS:
        return SbgApiError(
            f"{prefix} The platform failed or is overloaded; try again later.{docs}",
            retry_after=retry_after,
            **kwargs,
        )
    return SbgApiError(f"{prefix}{docs}", **kwargs)


#: How the platform's answers are read (fail closed; see core.fields).
ANSWERS = AnswerReader(
    SERVICE,
    SbgResponseError,
    "the platform's API base URL, e.g. https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2",
)
unexpected_answer = ANSWERS.unexpected


class ItemAnswer:
    """An ``error`` of a bulk answer's item (``{status, code, message, more_info}``) seen as an error
    answer, so that :func:`error_from_response` maps it like any other."""

    headers: dict[str, str] = {}

    def __init__(self, body: dict[str, Any]) -> None:
        status = body.get("status")
        self.status_code = status if isinstance(status, int) and 400 <= status < 600 else 400
        self._body = body

    def json(self) -> dict[str, Any]:
        return self._body

    @property
    def text(self) -> str:
        return str(self._body.get("message") or "")


def check_project_id(value: object, what: str = "project") -> str:
    """``owner/project`` (as in the project's URL), or a config error saying so; nothing is sent."""
    if not isinstance(value, str) or not _PROJECT_ID.fullmatch(value.strip()):
        raise SbgConfigError(
            f"{value!r} is not a Seven Bridges {what} id. Project ids are 'owner/project', as in the "
            "project's URL (e.g. 'alice/demo')."
        )
    return value.strip()


def check_id(value: object, what: str) -> str:
    """A task, file, folder or upload id (``"None"``: what a template renders when its XCom gave nothing).

    A task id must be a UUID: checked here, before any request, so that a file id or a task name given
    where a task id belongs is refused with what to do. [I] Task ids are UUIDs in the docs' examples,
    SBPY's tests and users' code, and the platform answers 400 code 7005 "Task ID must be a valid UUID"
    to anything else (the simulator does the same).
    """
    if not isinstance(value, str) or not _ID.fullmatch(value) or value in ("None", "null"):
        raise SbgConfigError(
            f"{value!r} is not a Seven Bridges {what} id (check the XCom or template that provides it)."
        )
    if what == "task" and not _UUID.fullmatch(value):
        raise SbgConfigError(
            f"{value!r} is not a Seven Bridges task id: task ids are UUIDs such as "
            "'1c9f2f8a-6a3c-4b7e-9d1e-2f3a4b5c6d7e', as SevenBridgesRunTaskOperator returns them (a file id "
            "or a task name does not work here). Check the XCom or template that provides it."
        )
    return value


def check_app_id(value: object) -> str:
    """``owner/project/app`` (its latest revision) or ``owner/project/app/<revision>``."""
    if not isinstance(value, str) or not _APP_ID.fullmatch(value.strip().strip("/")):
        raise SbgConfigError(
            f"{value!r} is not a Seven Bridges app id. App ids are 'owner/project/app', or with a revision "
            "'owner/project/app/3', as in the app's URL."
        )
    return value.strip().strip("/")
