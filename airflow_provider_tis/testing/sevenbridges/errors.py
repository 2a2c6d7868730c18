"""The platform's error body ``{status, code, message, more_info}`` and the codes it uses.

The codes and their wording are the platform's "API status codes" table (copied into
``sbg/biocompute`` ``R/api-status-code.R`` from ``docs.sevenbridges.com/reference#api-status-codes``);
the facts sheet (``shared/sevenbridges-api.md`` §1.3) adds that maintenance is a 503 whose ``code`` is 0.
Which code a given refusal carries is [I] unless a comment says otherwise.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_tis.testing.core.http_base import HttpError

#: The codes the simulator answers with, and the platform's wording of each.
MESSAGES: dict[int, str] = {
    0: "The Platform is currently under maintenance.",
    1000: "Rate limit exceeded! Check response headers.",
    3001: "Not enough privileges to access the requested project/member.",
    3002: "Requested project or member does not exist.",
    3012: "Malformed project id. Expecting `owner/project`.",
    5001: "Insufficient privileges to access the requested file.",
    5002: "Requested file does not exist.",
    5005: "Malformed project query parameter. Expecting `?project=owner/project`",
    5012: "Invalid `type` supplied. Allowed values: [folder].",
    5017: "Downloading folders is not supported.",
    5021: "Deleting non-empty folders is not supported.",
    5022: "The parent specified is not a folder.",
    5030: "Requested folder already exists.",
    5031: "Providing both `parent` and `project` is not allowed.",
    6002: "Requested app/revision does not exist.",
    6011: "Malformed app id. Expecting `owner/project/app_name/revision`.",
    7001: "Insufficient privileges to access the requested task.",
    7002: "Requested task does not exist.",
    7005: "Task ID must be a valid UUID.",
    7006: "Invalid task status. Allowed values: [QUEUED, DRAFT, RUNNING, COMPLETED, ABORTED, ABORTING, FAILED]",
    7007: "This action is only available for DRAFT tasks.",
    7011: (
        "Invalid task action. Action can be performed on tasks in the states: CREATING, RUNNING or QUEUED."
    ),
    7012: "Missing inputs.",
    7013: "Invalid task action.",
    7015: "App Id must not be null or an empty string.",
    7020: "Invalid batch type supplied. Allowed values: [criteria, item].",
    7023: "Missing batch_by or batch_input fields. These fields must be included together.",
    7024: "Task cannot be started due to validation errors.",
    7026: (
        "Editing is available only for tasks which are in DRAFT status. Tasks which are in RUNNING and "
        "COMPLETED states can only be renamed."
    ),
    8001: "Insufficient privileges to access the requested upload.",
    8003: "Requested upload does not exist.",
    8004: "Requested file already exists.",
    8007: "Failed to complete upload.",
    8010: "Malformed project id. Expecting `owner/project`.",
    8012: "Part number is missing or invalid.",
    8013: "Invalid `init` request.",
    8014: "Invalid `part` report.",
    8015: "Invalid list of parts. Expecting an object with `parts`: [ array of part reports ].",
    90000: "Bad request.",
    90001: "Unauthorized.",
    90002: "Forbidden.",
    90003: "Not found.",
    90004: "Unexpected error happened.",
    90005: "Service unavailable.",
    90006: "Method not allowed.",
    90007: "Conflict.",
    90008: "Unsupported Media Type.",
    90009: "An error occurred during the decoding of the request content.",
}

#: The general code of each HTTP status (the table's 9xxxx block), for answers with no specific code,
#: such as an armed fault.
GENERAL: dict[int, int] = {
    400: 90000,
    401: 90001,
    403: 90002,
    404: 90003,
    405: 90006,
    409: 90007,
    415: 90008,
    429: 1000,
    500: 90004,
    503: 90005,
}

#: ``more_info`` of every error: the status codes page [I] (the real one links the docs).
MORE_INFO = "https://docs.sevenbridges.com/reference/api-status-codes"


class SbgApiError(HttpError):
    """A refusal with the platform's error code.

    :param status: the HTTP status.
    :param code: the platform's code (:data:`MESSAGES`); its wording is the message unless ``message``.
    :param message: the message, if not the code's wording.
    :param more_info: detail (the platform puts a docs link here; the simulator adds what went wrong).
    :param headers: extra answer headers.
    """

    def __init__(
        self,
        status: int,
        code: int,
        message: str | None = None,
        *,
        more_info: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(status, message or MESSAGES.get(code, "Error."), headers)
        self.code = code
        self.more_info = more_info or MORE_INFO


def error_body(err: HttpError) -> dict[str, Any]:
    """The platform's error body for ``err`` (an armed fault has the status's general code)."""
    code = getattr(err, "code", None)
    if code is None:
        code = GENERAL.get(err.status, 90004 if err.status >= 500 else 90000)
    return {
        "status": err.status,
        "code": code,
        "message": err.message or MESSAGES.get(code, "Error."),
        "more_info": getattr(err, "more_info", MORE_INFO),
    }


def error_item(status: int, code: int, more_info: str | None = None) -> dict[str, Any]:
    """An error as it appears inside a body (a bulk item, a task's ``errors`` list)."""
    return error_body(SbgApiError(status, code, more_info=more_info))
