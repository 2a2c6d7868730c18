"""The Cancer Genome Interpreter's jobs, states and errors, as its REST API (``/api/v1``) shows them."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.download import TransferError
from airflow_provider_tis.core.errors import (
    ApiError,
    ConfigError,
    NetworkError,
    ProviderError,
    ResponseError,
    describe_failure,
)
from airflow_provider_tis.core.fields import AnswerReader
from airflow_provider_tis.core.retry import retry_after_seconds

if TYPE_CHECKING:
    from airflow_provider_tis.core.http import Response

#: Job ids are 20 hex characters (``c22ecf2af788d65ec257``); accepted a little wider, matched whole.
JOB_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


class CgiError(ProviderError):
    """Base class of every error about the Cancer Genome Interpreter."""


class CgiConfigError(CgiError, ConfigError):
    """The Airflow connection or a parameter is wrong; nothing was sent to CGI."""


class CgiResponseError(CgiError, ResponseError):
    """CGI answered something this provider cannot understand."""


class CgiConnectionError(CgiError, NetworkError):
    """CGI could not be reached (connection refused, DNS, TLS, timeouts), retries included."""


class CgiApiError(CgiError, ApiError):
    """CGI answered with an HTTP error."""


class CgiAuthError(CgiApiError):
    """401: the email and token of the connection were refused."""


class CgiNotFoundError(CgiApiError):
    """404: no such job for this account (deleted, or another account's)."""


class CgiQuotaError(CgiApiError):
    """The account holds as many jobs as it may: delete finished ones first."""


class CgiTransferError(CgiError, TransferError):
    """The results could not be downloaded completely; nothing was left under the final name."""


class CgiJobFailedError(CgiError):
    """The CGI job ended in Error, or no longer exists."""


class CgiStatus(str, Enum):
    """A CGI job's ``status``: Running, then Done or Error."""

    RUNNING = "Running"
    DONE = "Done"
    ERROR = "Error"

    @property
    def is_terminal(self) -> bool:
        return self is not CgiStatus.RUNNING

    @property
    def is_success(self) -> bool:
        return self is CgiStatus.DONE


@dataclass(frozen=True)
class CgiJob:
    """``GET /api/v1/<id>``: the status and the metadata the job was submitted with."""

    id: str
    status: CgiStatus
    title: str = ""
    cancer_type: str = ""
    reference: str = ""
    date: str = ""

    @classmethod
    def from_json(cls, job_id: str, data: object) -> CgiJob:
        if not isinstance(data, dict):
            raise unexpected_answer(f"job {job_id}", data)
        try:
            status = CgiStatus(data.get("status"))
        except ValueError:
            raise CgiResponseError(
                f"CGI reported status {data.get('status')!r} for job {job_id}, which this version of "
                "airflow-provider-tis does not know (Running, Done, Error). Upgrade airflow-provider-tis."
            ) from None
        meta = data.get("metadata")
        text = {k: v for k, v in meta.items() if isinstance(v, str)} if isinstance(meta, dict) else {}
        return cls(
            id=job_id,
            status=status,
            title=text.get("title", ""),
            cancer_type=text.get("cancertype", ""),
            reference=text.get("reference", ""),
            date=text.get("date", ""),
        )

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary for XCom."""
        return {
            "id": self.id,
            "status": self.status.value,
            "title": self.title,
            "cancer_type": self.cancer_type,
            "reference": self.reference,
            "date": self.date,
        }


def check_job_id(job_id: object) -> str:
    # "None"/"null": what a template renders when its XCom gave nothing
    if not isinstance(job_id, str) or not JOB_ID.fullmatch(job_id) or job_id in ("None", "null"):
        raise CgiConfigError(
            f"{job_id!r} is not a CGI job id. Job ids look like 'c22ecf2af788d65ec257' (check the XCom or "
            "template that provides it)."
        )
    return job_id


#: How CGI's answers are read (fail closed; see core.fields).
ANSWERS = AnswerReader(
    "CGI", CgiResponseError, "the Cancer Genome Interpreter (https://www.cancergenomeinterpreter.org)"
)
unexpected_answer = ANSWERS.unexpected


def error_from_response(response: Response, *, conn_id: str, action: str, secret: str | None) -> CgiApiError:
    """Map an HTTP error answer to the exception a user can act on."""
    status = response.status_code
    message, prefix = describe_failure(response, "CGI", action, secret)
    if status == 401:
        return CgiAuthError(
            f"{prefix} The email and token were refused. Put your CGI account's email in the login field and "
            f"the API token from your CGI account page in the password field of connection '{conn_id}'.",
            status=status,
            message=message,
        )
    if status == 404:
        return CgiNotFoundError(
            f"{prefix} No such job for this account (deleted, or never existed).",
            status=status,
            message=message,
        )
    # [I] the wording of the quota refusal is not documented: recognised by the words it is likely to use
    if status in (400, 403) and re.search(r"limit|quota|delete", message, re.IGNORECASE):
        return CgiQuotaError(
            f"{prefix} Your account holds as many jobs as it may: delete finished jobs "
            "(CgiDeleteJobOperator, or delete_job=True on the download) before submitting new ones.",
            status=status,
            message=message,
        )
    return CgiApiError(prefix, status=status, message=message, retry_after=retry_after_seconds(response))
