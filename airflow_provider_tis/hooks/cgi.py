"""CgiHook: every call the provider makes to the Cancer Genome Interpreter's REST API (``/api/v1``)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.download import Download
from airflow_provider_tis.core.errors import ErrorKinds, ProviderError
from airflow_provider_tis.core.http import AsyncHttpClient
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.core.upload import MultipartBody, SizedReader, UploadSource
from airflow_provider_tis.hooks.base import (
    ServiceHook,
    form_behaviour,
    http_warning,
    normalize_base_url,
    parse_number,
    parse_verify,
)
from airflow_provider_tis.hooks.cgi_models import (
    JOB_ID,
    CgiConfigError,
    CgiConnectionError,
    CgiJob,
    CgiResponseError,
    CgiTransferError,
    check_job_id,
    error_from_response,
    unexpected_answer,
)
from airflow_provider_tis.hooks.defaults import CGI_CONN_ID

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


DEFAULT_HOST = "https://www.cancergenomeinterpreter.org"
API = "/api/v1"
REFERENCES = ("hg19", "hg38")
INPUT_KINDS = ("mutations", "cnas", "translocations")
DEFAULT_TIMEOUT = 60.0
#: The largest results zip accepted (CGI does not list sizes).
MAX_RESULTS_BYTES = 2 << 30


@dataclass(frozen=True)
class CgiSettings:
    """A validated ``cgi`` connection.

    :param base_url: the server root, without ``/api/v1``.
    :param email: the account's email (the connection's login).
    :param token: the API token (the connection's password; masked, never in repr).
    :param verify: TLS verification: True, False or a CA bundle path (never off by default, whatever the
        service's docs suggest).
    :param timeout: read timeout of API calls, in seconds.
    """

    conn_id: str
    base_url: str
    email: str
    token: str = field(repr=False)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT


class AsyncCgiClient(AsyncHttpClient):
    """The trigger's view of the API. Use as ``async with await hook.async_client() as client:``."""

    async def get_job(self, job_id: str) -> CgiJob:
        job_id = check_job_id(job_id)
        return CgiJob.from_json(job_id, await self.get_json(f"{API}/{job_id}", f"get job {job_id}"))

    async def get_logs(self, job_id: str) -> list[str]:
        job_id = check_job_id(job_id)
        data = await self.get_json(f"{API}/{job_id}?action=logs", f"read the logs of job {job_id}")
        logs = data.get("logs") if isinstance(data, dict) else None
        return [str(line).rstrip("\n") for line in logs] if isinstance(logs, list) else []

    async def delete_job(self, job_id: str) -> None:
        job_id = check_job_id(job_id)
        await self.request("DELETE", f"{API}/{job_id}", action=f"delete job {job_id}")


class CgiHook(ServiceHook):
    """Talks to the Cancer Genome Interpreter (``Authorization: <email> <token>``).

    :param cgi_conn_id: Airflow connection id of type ``cgi``: login = account email, password = API token.
    :param retry_policy: backoff for idempotent calls; a submission is never retried here.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for the answer to a submission once the files are sent.
    """

    conn_name_attr = "cgi_conn_id"
    default_conn_name = CGI_CONN_ID
    conn_type = "cgi"
    hook_name = "Cancer Genome Interpreter"

    config_error = CgiConfigError
    async_client_class = AsyncCgiClient

    def __init__(
        self,
        cgi_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 600.0,
    ) -> None:
        super().__init__(
            cgi_conn_id,
            retry_policy=retry_policy or RetryPolicy(),
            connect_timeout=connect_timeout,
            submit_timeout=submit_timeout,
        )
        self.cgi_conn_id = cgi_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read get_provider_info)."""
        from airflow_provider_tis.get_provider_info import CGI_FIELD_BEHAVIOUR

        return form_behaviour(CGI_FIELD_BEHAVIOUR)

    # -- connection ---------------------------------------------------------------------------

    settings: CgiSettings  # read once, by ServiceHook

    def read_settings(self, conn: Any) -> CgiSettings:
        conn_id, extra = self.cgi_conn_id, conn.extra_dejson
        email, token = (conn.login or "").strip(), (conn.password or "").strip()
        if not email or not token:
            missing = "email (login field)" if not email else "API token (password field)"
            raise CgiConfigError(
                f"Airflow connection '{conn_id}' has no CGI {missing}. Put your CGI account's email in the "
                "login field and the API token from your CGI account page in the password field."
            )
        if any(c.isspace() for c in email):
            raise CgiConfigError(f"The login of connection '{conn_id}' must be your CGI account's email.")
        base_url = normalize_base_url(
            conn.host,
            default=DEFAULT_HOST,
            schema=conn.schema,
            port=conn.port,
            api_path=API,
            error=CgiConfigError,
        )
        settings = CgiSettings(
            conn_id=conn_id,
            base_url=base_url,
            email=email,
            token=token,
            verify=parse_verify(extra.get("verify")),
            timeout=parse_number(
                extra.get("timeout"), "timeout", conn_id, float, CgiConfigError, default=DEFAULT_TIMEOUT
            ),
        )
        if settings.verify is False:
            self.log.warning("TLS verification is off for connection '%s' (extra verify=false).", conn_id)
        if (plain := http_warning(base_url, conn_id)) is not None:
            self.log.warning(plain[1], *plain[2:])
        return settings

    def auth_headers(self, settings: CgiSettings) -> dict[str, str]:
        return {"Authorization": f"{settings.email} {settings.token}"}

    def error_kinds(self) -> ErrorKinds:
        def from_response(response: Any, action: str) -> Any:
            return error_from_response(
                response, conn_id=self.cgi_conn_id, action=action, secret=self.settings.token
            )

        return ErrorKinds(
            "CGI", "the Cancer Genome Interpreter", CgiResponseError, CgiConnectionError, from_response
        )

    def job_url(self, job_id: str) -> str:
        """The job's results page on the server ([I]: the page's address is not documented)."""
        return f"{self.settings.base_url}/analysis?id={check_job_id(job_id)}"

    # -- jobs -----------------------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Check the email and token by listing the account's jobs."""
        try:
            jobs = self.list_jobs()
        except ProviderError as exc:
            return False, str(exc)
        return (
            True,
            f"Connected to {self.settings.base_url} as {self.settings.email}; {len(jobs)} jobs on the account.",
        )

    def list_jobs(self) -> list[str]:
        """The ids of the account's jobs (in no particular order)."""
        data = self.http.get_json(API, "list jobs")
        if not isinstance(data, list) or not all(isinstance(item, str) for item in data):
            raise unexpected_answer("the job list", data)
        return data

    def get_job(self, job_id: str) -> CgiJob:
        job_id = check_job_id(job_id)
        return CgiJob.from_json(job_id, self.http.get_json(f"{API}/{job_id}", f"get job {job_id}"))

    def get_logs(self, job_id: str) -> list[str]:
        """The job's log lines so far (the last one of a finished job says how it ended)."""
        job_id = check_job_id(job_id)
        data = self.http.get_json(
            f"{API}/{job_id}", f"read the logs of job {job_id}", params={"action": "logs"}
        )
        logs = data.get("logs") if isinstance(data, dict) else None
        if not isinstance(logs, list):
            raise unexpected_answer(f"the logs of job {job_id}", data)
        return [str(line).rstrip("\n") for line in logs]

    def delete_job(self, job_id: str) -> None:
        """Remove a job and its results from the account (accounts have a job quota)."""
        job_id = check_job_id(job_id)
        self.http.request("DELETE", f"{API}/{job_id}", action=f"delete job {job_id}")

    def submit_job(
        self,
        inputs: Mapping[str, str | Path | UploadSource],
        *,
        cancer_type: str,
        title: str = "",
        reference: str = "hg19",
        progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Upload the input files as one streamed multipart request; return the new job's id.

        Never retried: CGI has no idempotency key, so a retried POST could create a second job.

        :param inputs: ``mutations``, ``cnas`` and/or ``translocations`` -> a local path or ObjectStoragePath.
        :param cancer_type: a CGI cancer type acronym, e.g. ``CANCER`` or ``LUAD``.
        :param title: the job's title (operators make it unique per task instance, to find it again).
        :param reference: ``hg19`` or ``hg38``.
        """
        fields: list[tuple[str, Any]] = [
            ("cancer_type", cancer_type),
            ("title", title),
            ("reference", reference),
        ]
        action = "submit a job"
        with contextlib.ExitStack() as stack:
            for kind, source in inputs.items():
                source = Path(source) if isinstance(source, str) else source
                opened = stack.enter_context(source.open("rb"))
                reader = SizedReader(opened, source.stat().st_size, str(source), CgiConfigError)
                fields.append((kind, (source.name, reader, "text/plain")))
            body = MultipartBody.of(fields, progress)
            response = self.http.request(
                "POST",
                API,
                action=action,
                retry=False,
                read_timeout=self.submit_timeout,
                data=body,
                headers={"Content-Type": body.content_type},
            )
        job_id = self.http.json(response, action)
        if not isinstance(job_id, str) or not JOB_ID.fullmatch(
            job_id
        ):  # the job may exist: not a config error
            raise unexpected_answer("the new job's id", job_id)
        return job_id

    # -- results --------------------------------------------------------------------------------

    def open_download(self, job_id: str, *, start: int = 0) -> Download:
        """Stream the results zip from byte ``start`` (a server that ignores Range sends it whole)."""
        job_id = check_job_id(job_id)
        action = f"download the results of job {job_id}"
        url = f"{self.settings.base_url}{API}/{job_id}?action=download"
        response = self.http.stream(url, start=start, action=action, authenticated=True)
        if response.status_code in (200, 206):
            return Download(response, CgiConnectionError)
        raise self.endpoint.errors.from_response(response, action)

    def download_source(self, job_id: str) -> CgiResultsSource:
        """The results zip as the transfer engine downloads it."""
        return CgiResultsSource(self, job_id)


class CgiResultsSource:
    """A job's results zip for the transfer engine: downloads are not counted; no size is listed, so a
    bound stands in for it (results are kilobytes to megabytes [I]): a body without end stops there."""

    transfer_error = CgiTransferError
    listed = (0, MAX_RESULTS_BYTES)
    size_text = f"at most {MAX_RESULTS_BYTES >> 30} GiB (this provider's bound)"
    downloads_left = None

    def __init__(self, hook: CgiHook, job_id: str) -> None:
        self._hook, self._job_id = hook, job_id
        self.name = f"results of CGI job {job_id}"
        self.retry_policy = hook.retry_policy

    def open(self, start: int) -> Download:
        return self._hook.open_download(self._job_id, start=start)

    def resume(self, link: str, start: int) -> Download:  # no storage link: never called
        return self.open(start)
