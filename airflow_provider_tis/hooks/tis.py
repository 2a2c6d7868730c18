"""TisHook: every HTTP call the provider makes to a TOPMed or Michigan Imputation Server."""

from __future__ import annotations

import contextlib
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from airflow_provider_tis.core.download import Download as TisDownload
from airflow_provider_tis.core.errors import ErrorKinds
from airflow_provider_tis.core.http import AsyncHttpClient
from airflow_provider_tis.core.retry import RETRYABLE_STATUS, RetryPolicy, retry_after_seconds
from airflow_provider_tis.core.upload import MultipartBody, SizedReader, UploadSource
from airflow_provider_tis.get_provider_info import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_tis.hooks.base import ServiceHook, form_widgets
from airflow_provider_tis.hooks.connection import TisSettings, connection_warnings, settings_from_connection
from airflow_provider_tis.hooks.defaults import TIS_CONN_ID
from airflow_provider_tis.hooks.models import AppInfo, Job, OutputFile, ServerInfo, TokenInfo, size_bounds
from airflow_provider_tis.hooks.tis_errors import (
    TisApiError,
    TisConfigError,
    TisConnectionError,
    TisDownloadLinkExpiredError,
    TisError,
    TisNotFoundError,
    TisResponseError,
    TisTransferError,
    error_from_response,
    unexpected_answer,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence


_JOB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch: "$" lets "\n" in
_warned: set[tuple[str, str]] = set()  # (conn id, warning) pairs already logged in this process


def job_path(job_id: str) -> str:
    """The API path of a job, after checking its id (whole: ``$`` would let a newline through)."""
    if not isinstance(job_id, str) or not _JOB_ID_RE.fullmatch(job_id):
        raise TisConfigError(
            f"{job_id!r} is not a TIS job id. Job ids look like 'job-20251016-224029-866' "
            "(check the XCom or template that provides it)."
        )
    return f"/api/v2/jobs/{job_id}"


class AsyncTisClient(AsyncHttpClient):
    """The trigger's view of the API. Use as ``async with await hook.async_client() as client:``."""

    async def get_job(self, job_id: str) -> Job:
        return Job.from_json(await self.get_json(job_path(job_id), f"get job {job_id}"))

    async def cancel_job(self, job_id: str) -> Job:
        path = job_path(job_id) + "/cancel"
        return Job.from_json(await self.get_json(path, f"cancel job {job_id}"))

    async def get_server(self) -> ServerInfo:
        return ServerInfo.from_json(await self.get_json("/api/v2/server", "read the server description"))

    async def job_fingerprints(self, job_ids: Sequence[str] = ()) -> dict[str, tuple[str, int, int]]:
        """Every job of the token's user with its :attr:`~Job.fingerprint`, in one request (without a page
        the list holds every job, so ``job_ids``, those waited on, need not be named): what the triggers of
        one connection wait on together."""
        jobs, _ = read_job_page(await self.get_json("/api/v2/jobs", "list jobs"), 1, set())
        return {job.id: job.fingerprint for job in jobs}

    async def capacity_fingerprints(
        self, keys: Sequence[str] = ()
    ) -> dict[str, tuple[bool, tuple[str, ...]]]:
        """The server's :func:`~airflow_provider_tis.hooks.tis_capacity.capacity_fingerprint` under
        ``CAPACITY_KEY``: what the submits of one connection waiting for a free job slot wait on together."""
        from airflow_provider_tis.hooks.tis_capacity import CAPACITY_KEY, capacity_fingerprint

        if (await self.get_server()).maintenance:
            return {CAPACITY_KEY: capacity_fingerprint(True)}
        jobs, _ = read_job_page(await self.get_json("/api/v2/jobs", "list jobs"), 1, set())
        return {CAPACITY_KEY: capacity_fingerprint(False, jobs)}

    async def list_jobs(self) -> list[Job]:
        """Every job of the token's user, newest first (all pages)."""
        seen: set[str] = set()
        found: list[Job] = []
        page = 1
        while True:
            data = await self.get_json(f"/api/v2/jobs?page={page}", f"list jobs (page {page})")
            jobs, more = read_job_page(data, page, seen)
            found += jobs
            if not more:
                return found
            page += 1


def read_job_page(data: Any, page: int, seen: set[str]) -> tuple[list[Job], bool]:
    """The jobs of page ``page`` of ``GET /api/v2/jobs`` not in ``seen`` (a job submitted meanwhile shifts
    the pages by one), and whether another page follows."""
    if not isinstance(data, dict) or not isinstance(data.get("data"), list):
        raise unexpected_answer("an unexpected job list", data)
    jobs = []
    for item in data["data"]:
        job = Job.from_json(item)
        if job.id not in seen:
            seen.add(job.id)
            jobs.append(job)
    count, size = data.get("count"), data.get("pageSize")
    if not data["data"] or not isinstance(count, int) or not isinstance(size, int) or size <= 0:
        return jobs, False
    return jobs, page * size < count


class TisHook(ServiceHook):
    """Talks to the Cloudgene 3 API of a TOPMed (TIS) or Michigan Imputation Server.

    The connection's ``host`` is the server URL, its ``password`` the API token.

    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param retry_policy: backoff for idempotent calls; submissions and downloads are never retried here.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for the answer to a submission once the upload is sent
        (the server copies every upload to S3 before it answers).
    """

    conn_name_attr = "tis_conn_id"
    default_conn_name = TIS_CONN_ID
    conn_type = "tis"
    hook_name = "TOPMed / Michigan Imputation Server"

    config_error = TisConfigError
    async_client_class = AsyncTisClient

    def __init__(
        self,
        tis_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 3600.0,
    ) -> None:
        super().__init__(
            tis_conn_id,
            retry_policy=retry_policy or RetryPolicy(),
            connect_timeout=connect_timeout,
            submit_timeout=submit_timeout,
        )
        self.tis_conn_id = tis_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read get_provider_info)."""
        return {
            "hidden_fields": UI_FIELD_BEHAVIOUR["hidden-fields"],
            "relabeling": UI_FIELD_BEHAVIOUR["relabeling"],
            "placeholders": {
                **UI_FIELD_BEHAVIOUR["placeholders"],
                **{name: field["description"] for name, field in CONNECTION_FIELDS.items()},
            },
        }

    @staticmethod
    def get_connection_form_widgets() -> dict[str, Any]:
        """Extra connection form fields for Airflow < 3.2 (Flask AppBuilder UI)."""
        return form_widgets(CONNECTION_FIELDS)

    settings: TisSettings  # read once, by ServiceHook

    def read_settings(self, conn: Any) -> TisSettings:
        settings = settings_from_connection(
            self.tis_conn_id,
            host=conn.host,
            schema=conn.schema,
            port=conn.port,
            password=conn.password,
            extra=conn.extra_dejson,
        )
        for key, message, *args in connection_warnings(settings):
            self._warn_once(key, message, *args)
        return settings

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if (self.tis_conn_id, key) not in _warned:
            _warned.add((self.tis_conn_id, key))
            self.log.warning(message, *args)

    def auth_headers(self, settings: TisSettings) -> dict[str, str]:
        return {"X-Auth-Token": settings.token}

    def error_kinds(self) -> ErrorKinds:
        def from_response(response: Any, action: str) -> TisApiError:
            return error_from_response(
                response, conn_id=self.tis_conn_id, action=action, secret=self.settings.token
            )

        return ErrorKinds("TIS", "the imputation server", TisResponseError, TisConnectionError, from_response)

    def job_url(self, job_id: str) -> str:
        """The job's page in the server's web UI."""
        return f"{self.settings.base_url}/index.html#!jobs/{job_id}"

    # -- server ---------------------------------------------------------------------------------

    def get_server(self) -> ServerInfo:
        """Server name, the token's user, the maintenance flag and the installed apps."""
        return ServerInfo.from_json(self.http.get_json("/api/v2/server", "read the server description"))

    def get_app(self, app: str | None = None) -> AppInfo:
        """Declared inputs of an app: reference panels, populations, list values, checkboxes."""
        app = app or self.settings.app
        return AppInfo.from_json(self.http.get_json(f"/api/v2/server/apps/{quote(app)}", f"read app {app}"))

    def verify_token(self) -> TokenInfo:
        """Ask the server whether the token is valid and until when."""
        action = "verify the API token"
        response = self.http.request(
            "POST", "/api/v2/tokens/verify", action=action, data={"token": self.settings.token}
        )
        return TokenInfo.from_json(self.http.json(response, action))

    def test_connection(self) -> tuple[bool, str]:
        """Check the token and the server; on success name the user and the token's expiry date."""
        try:
            token = self.verify_token()
            if not token.valid:
                return False, (
                    f"The server rejected the API token ({token.message or 'no reason given'}). Put a new "
                    f"token in the password field of connection '{self.tis_conn_id}'."
                )
            server = self.get_server()
        except TisError as exc:
            return False, str(exc)
        expiry = token.expire or self.settings.token_expiry
        until = f"valid until {expiry:%Y-%m-%d}" if expiry else "with no expiry date"
        user = token.username or server.username or "unknown user"
        return True, f"Connected to {server.name or self.settings.base_url} as {user}; token {until}."

    # -- jobs -----------------------------------------------------------------------------------

    def list_jobs(self) -> Iterator[Job]:
        """Every job of the token's user, newest first, fetched page by page."""
        seen: set[str] = set()
        page = 1
        while True:
            data = self.http.get_json("/api/v2/jobs", f"list jobs (page {page})", params={"page": page})
            jobs, more = read_job_page(data, page, seen)
            yield from jobs
            if not more:
                return
            page += 1

    def get_job(self, job_id: str) -> Job:
        return Job.from_json(self.http.get_json(job_path(job_id), f"get job {job_id}"))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job; a finished job is left as it is. Returns the job after the request."""
        return Job.from_json(self.http.get_json(job_path(job_id) + "/cancel", f"cancel job {job_id}"))

    def restart_job(self, job_id: str) -> None:
        """Put a DEAD job (lost in a server restart) back in the queue."""
        self.http.request("GET", job_path(job_id) + "/restart", action=f"restart job {job_id}")

    def submit_job(
        self,
        files: Sequence[str | Path | UploadSource],
        params: Mapping[str, str | int | float | bool | None],
        app: str | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
    ) -> str:
        """Upload files and parameters as one streamed multipart request; return the new job id.

        Never retried: a retried POST could create a second job.

        :param files: local paths or ObjectStoragePaths (anything with ``name``, ``stat()`` and
            ``open("rb")``); one ``files`` part each, streamed from where it is without a copy.
        :param params: form fields. None and False are left out (the server turns a checkbox on for
            any value it receives); True is sent as ``true``.
        :param app: app id; defaults to the connection's ``app`` extra.
        :param progress: called with (bytes sent, total bytes) as the body streams.
        """
        app = app or self.settings.app
        action = f"submit a job to {app}"
        fields: list[tuple[str, Any]] = [
            (name, "true" if value is True else str(value))
            for name, value in params.items()
            if value is not None and value is not False
        ]
        with contextlib.ExitStack() as stack:
            for source in files:
                source = Path(source) if isinstance(source, str) else source
                opened = stack.enter_context(source.open("rb"))
                handle = SizedReader(opened, source.stat().st_size, str(source), TisConfigError)
                fields.append(("files", (source.name, handle, "application/octet-stream")))
            body = MultipartBody.of(fields, progress)
            response = self.http.request(
                "POST",
                f"/api/v2/jobs/submit/{quote(app)}",
                action=action,
                retry=False,
                read_timeout=self.submit_timeout,
                data=body,
                headers={"Content-Type": body.content_type},
            )
        data = self.http.json(response, action)
        job_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("success") is not True or not isinstance(job_id, str):
            raise unexpected_answer("no job id for the submission", data)
        return job_id

    # -- downloads ------------------------------------------------------------------------------

    def open_download(self, file: OutputFile, *, start: int = 0) -> TisDownload:
        """Start streaming one output file from byte ``start``; each call spends one of its downloads.

        ``/share/results`` needs no token, and none is sent there nor to the storage it redirects to.
        Never retried here: a retry would spend another download. To continue a broken transfer
        without spending one, use :meth:`resume_download` with this download's ``storage_link``.
        """
        url = f"{self.settings.base_url}/share/results/{quote(file.hash)}/{quote(file.name)}"
        return self._open_stream(url, start, f"download {file.name}")

    def resume_download(self, url: str, start: int, name: str) -> TisDownload:
        """Continue a download from byte ``start`` on the storage link of an earlier :meth:`open_download`.

        Spends no download. Raises :class:`TisDownloadLinkExpiredError` once the link has expired.
        """
        return self._open_stream(url, start, f"resume the download of {name}")

    def download_source(self, file: OutputFile) -> TisDownloadSource:
        """``file`` as the transfer engine downloads it (:func:`airflow_provider_tis.core.download.fetch`)."""
        return TisDownloadSource(self, file)

    def _open_stream(self, url: str, start: int, action: str) -> TisDownload:
        response = self.http.stream(url, start=start, action=action)
        if response.status_code in (200, 206):
            return TisDownload(response, TisConnectionError)
        at_storage = urlsplit(response.url).netloc != urlsplit(self.settings.base_url).netloc
        if at_storage and response.status_code == 403:
            raise TisDownloadLinkExpiredError(
                f"TIS could not {action}: the storage refused the download link (HTTP 403); it has expired.",
                status=403,
            )
        if at_storage and response.status_code == 404:
            raise TisNotFoundError(
                f"TIS could not {action}: the storage has no such file (HTTP 404). The job's results were "
                "retired or removed.",
                status=404,
            )
        if at_storage and response.status_code in RETRYABLE_STATUS:
            raise TisApiError(
                f"TIS could not {action}: the storage answered HTTP {response.status_code}.",
                status=response.status_code,
                retry_after=retry_after_seconds(response),
                link=response.url,
            )
        raise self.endpoint.errors.from_response(response, action)


class TisDownloadSource:
    """One TIS output file for the transfer engine: counted ``/share/results`` hits, free resumes."""

    transfer_error = TisTransferError

    def __init__(self, hook: TisHook, file: OutputFile) -> None:
        self._hook, self._file = hook, file
        self.name, self.size_text, self.downloads_left = file.name, file.size_text, file.count
        self.listed = size_bounds(file.size_text)
        self.retry_policy = hook.retry_policy

    def open(self, start: int) -> TisDownload:
        return self._hook.open_download(self._file, start=start)

    def resume(self, link: str, start: int) -> TisDownload:
        return self._hook.resume_download(link, start, self._file.name)
