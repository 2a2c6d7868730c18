"""TisHook: every HTTP call the provider makes to a TOPMed or Michigan Imputation Server."""

from __future__ import annotations

import contextlib
import re
import time
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote, urlsplit

import httpx
import requests
from requests_toolbelt import MultipartEncoder

from airflow_provider_tis.get_provider_info import CONNECTION_FIELDS, UI_FIELD_BEHAVIOUR
from airflow_provider_tis.hooks.answers import ACCEPT_ENCODING, parse_json, read_answer
from airflow_provider_tis.hooks.async_client import AsyncTisClient
from airflow_provider_tis.hooks.connection import (
    USER_AGENT,
    TisSettings,
    check_verify,
    connection_warnings,
    settings_from_connection,
)
from airflow_provider_tis.hooks.errors import (
    TisApiError,
    TisConfigError,
    TisConnectionError,
    TisDownloadLinkExpiredError,
    TisError,
    TisNotFoundError,
    TisResponseError,
    error_from_response,
    scrub,
    unexpected_answer,
)
from airflow_provider_tis.hooks.models import AppInfo, Job, OutputFile, ServerInfo, TokenInfo
from airflow_provider_tis.hooks.retry import RETRYABLE_STATUS, RetryPolicy, retry_after_seconds
from airflow_provider_tis.hooks.streams import MultipartBody, SizedReader, TisDownload, UploadSource
from airflow_provider_tis.version_compat import BaseHook, aget_connection, mask_secret

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping, Sequence

_JOB_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # used with fullmatch: "$" lets "\n" in
ResponseT = TypeVar("ResponseT", requests.Response, httpx.Response)
_warned: set[tuple[str, str]] = set()  # (conn id, warning) pairs already logged in this process


class TisHook(BaseHook):
    """Talks to the Cloudgene 3 API of a TOPMed (TIS) or Michigan Imputation Server.

    The connection's ``host`` is the server URL, its ``password`` the API token.

    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param retry_policy: backoff for idempotent calls; submissions and downloads are never retried here.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for the answer to a submission once the upload is sent
        (the server copies every upload to S3 before it answers).
    """

    conn_name_attr = "tis_conn_id"
    default_conn_name = "tis_default"
    conn_type = "tis"
    hook_name = "TOPMed / Michigan Imputation Server"

    def __init__(
        self,
        tis_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 3600.0,
    ) -> None:
        super().__init__()
        self.tis_conn_id = tis_conn_id
        self.retry_policy = retry_policy or RetryPolicy()
        self.connect_timeout = connect_timeout
        self.submit_timeout = submit_timeout

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
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField

        return {
            name: StringField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget())
            for name, field in CONNECTION_FIELDS.items()
        }

    @cached_property
    def settings(self) -> TisSettings:
        """The validated connection. Fails before any request if the token is missing or expired."""
        return self._settings_of(self.get_connection(self.tis_conn_id))

    async def async_client(self) -> AsyncTisClient:
        """A client for use inside an event loop; the connection is read without blocking it."""
        if "settings" not in self.__dict__:
            self.__dict__["settings"] = self._settings_of(await aget_connection(self.tis_conn_id))
        return AsyncTisClient(self)

    def _settings_of(self, conn: Any) -> TisSettings:
        if conn.password:
            mask_secret(conn.password)
        settings = settings_from_connection(
            self.tis_conn_id,
            host=conn.host,
            schema=conn.schema,
            port=conn.port,
            password=conn.password,
            extra=conn.extra_dejson,
        )
        self._check_settings(settings)
        return settings

    def _check_settings(self, settings: TisSettings) -> None:
        for key, message, *args in connection_warnings(settings):
            self._warn_once(key, message, *args)

    def _warn_once(self, key: str, message: str, *args: object) -> None:
        if (self.tis_conn_id, key) not in _warned:
            _warned.add((self.tis_conn_id, key))
            self.log.warning(message, *args)

    @cached_property
    def session(self) -> requests.Session:
        """A pooled session. It carries no token: only :meth:`_request` adds it, per request."""
        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)  # parallel downloads share the session
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.verify = check_verify(self.settings)
        return session

    def job_url(self, job_id: str) -> str:
        """The job's page in the server's web UI."""
        return f"{self.settings.base_url}/index.html#!jobs/{job_id}"

    # -- plumbing -------------------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        retry: bool = True,
        read_timeout: float | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one API call with the token; retry it when ``retry`` and the failure is transient.

        Redirects are not followed, so the token can never be forwarded to another host. The answer is
        read whole (capped, see :mod:`.answers`) and must arrive within the read timeout of its headers.
        """
        settings = self.settings
        url = settings.base_url + path
        headers = {
            "X-Auth-Token": settings.token,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,  # what answers.py unpacks itself
            **kwargs.pop("headers", {}),
        }
        timeout = (self.connect_timeout, read_timeout or settings.timeout)
        policy = self.retry_policy
        started = time.monotonic()
        slept = 0.0
        attempt = 0
        while True:
            attempt += 1
            response: requests.Response | None = None
            error: requests.RequestException | None = None
            try:
                answer = self.session.request(
                    method,
                    url,
                    headers=headers,
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    **kwargs,
                )
                read_answer(answer, action, timeout[1])
                response = answer
            except requests.RequestException as exc:
                error = exc
            if response is not None and response.status_code < 400:
                return self._accept(response, action)
            elapsed = max(time.monotonic() - started, slept)
            delay = policy.next_delay(attempt, elapsed, error, response) if retry else None
            if delay is None:
                break
            self._log_retry(action, attempt, delay, error, response)
            policy.sleep(delay)
            slept += delay
        if response is not None:
            raise self._error(response, action)
        raise self._unreachable(action, attempt, error) from error

    def _error(self, response: requests.Response | httpx.Response, action: str) -> TisApiError:
        return error_from_response(
            response,  # type: ignore[arg-type]
            conn_id=self.tis_conn_id,
            action=action,
            secret=self.settings.token,
        )

    def _accept(self, response: ResponseT, action: str) -> ResponseT:
        """A 2xx answer passes; a redirect of an API call is refused (it would carry the token away)."""
        if response.status_code >= 300:
            raise TisResponseError(
                f"TIS could not {action}: the server answered with a redirect (HTTP "
                f"{response.status_code}). Check the host of connection '{self.tis_conn_id}'."
            )
        return response

    def _log_retry(
        self, action: str, attempt: int, delay: float, error: BaseException | None, response: Any
    ) -> None:
        reason = f"HTTP {response.status_code}" if response is not None else type(error).__name__
        self.log.warning(
            "Could not %s (%s); retrying in %.1f s (attempt %d of %d).",
            action,
            reason,
            delay,
            attempt + 1,
            self.retry_policy.max_attempts,
        )

    def _unreachable(self, action: str, attempt: int, error: BaseException | None) -> TisConnectionError:
        tries = f" after {attempt} attempts" if attempt > 1 else ""
        said = scrub(str(error), self.settings.token)
        return TisConnectionError(
            f"Could not reach TIS at {self.settings.base_url} to {action}{tries}: {type(error).__name__}: {said}"
        )

    def _json(self, response: requests.Response | httpx.Response, action: str) -> Any:
        return parse_json(response, action, self.settings.token)

    def _get_json(self, path: str, action: str, **kwargs: Any) -> Any:
        return self._json(self._request("GET", path, action=action, **kwargs), action)

    @staticmethod
    def _job_path(job_id: str) -> str:
        if not isinstance(job_id, str) or not _JOB_ID_RE.fullmatch(job_id):
            raise TisConfigError(
                f"{job_id!r} is not a TIS job id. Job ids look like 'job-20251016-224029-866' "
                "(check the XCom or template that provides it)."
            )
        return f"/api/v2/jobs/{job_id}"

    # -- server ---------------------------------------------------------------------------------

    def get_server(self) -> ServerInfo:
        """Server name, the token's user, the maintenance flag and the installed apps."""
        return ServerInfo.from_json(self._get_json("/api/v2/server", "read the server description"))

    def get_app(self, app: str | None = None) -> AppInfo:
        """Declared inputs of an app: reference panels, populations, list values, checkboxes."""
        app = app or self.settings.app
        return AppInfo.from_json(self._get_json(f"/api/v2/server/apps/{quote(app)}", f"read app {app}"))

    def verify_token(self) -> TokenInfo:
        """Ask the server whether the token is valid and until when."""
        action = "verify the API token"
        response = self._request(
            "POST", "/api/v2/tokens/verify", action=action, data={"token": self.settings.token}
        )
        return TokenInfo.from_json(self._json(response, action))

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
            data = self._get_json("/api/v2/jobs", f"list jobs (page {page})", params={"page": page})
            if not isinstance(data, dict) or not isinstance(data.get("data"), list):
                raise unexpected_answer("an unexpected job list", data)
            for item in data["data"]:
                job = Job.from_json(item)
                if job.id not in seen:  # a job submitted meanwhile shifts the pages by one
                    seen.add(job.id)
                    yield job
            count, size = data.get("count"), data.get("pageSize")
            if not data["data"] or not isinstance(count, int) or not isinstance(size, int) or size <= 0:
                return
            if page * size >= count:
                return
            page += 1

    def get_job(self, job_id: str) -> Job:
        return Job.from_json(self._get_json(self._job_path(job_id), f"get job {job_id}"))

    def cancel_job(self, job_id: str) -> Job:
        """Cancel a job; a finished job is left as it is. Returns the job after the request."""
        return Job.from_json(self._get_json(self._job_path(job_id) + "/cancel", f"cancel job {job_id}"))

    def restart_job(self, job_id: str) -> None:
        """Put a DEAD job (lost in a server restart) back in the queue."""
        self._request("GET", self._job_path(job_id) + "/restart", action=f"restart job {job_id}")

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
                handle = SizedReader(opened, source.stat().st_size, str(source))  # str: names it in errors
                fields.append(("files", (source.name, handle, "application/octet-stream")))
            body = MultipartBody(MultipartEncoder(fields=fields), progress)
            response = self._request(
                "POST",
                f"/api/v2/jobs/submit/{quote(app)}",
                action=action,
                retry=False,
                read_timeout=self.submit_timeout,
                data=body,
                headers={"Content-Type": body.content_type},
            )
        data = self._json(response, action)
        job_id = data.get("id") if isinstance(data, dict) else None
        if not isinstance(data, dict) or data.get("success") is not True or not isinstance(job_id, str):
            raise unexpected_answer("no job id for the submission", data)
        return job_id

    # -- downloads ------------------------------------------------------------------------------

    def open_download(self, file: OutputFile, *, start: int = 0) -> TisDownload:
        """Start streaming one output file from byte ``start``; each call spends one of its downloads.

        ``/share/results`` needs no token, and none is sent there nor to the storage it redirects to.
        Never retried here: a retry would spend another download. To continue a broken transfer
        without spending one, use :meth:`resume_download` with this download's ``url``.
        """
        url = f"{self.settings.base_url}/share/results/{quote(file.hash)}/{quote(file.name)}"
        return self._open_stream(url, start, f"download {file.name}")

    def resume_download(self, url: str, start: int, name: str) -> TisDownload:
        """Continue a download from byte ``start`` on the storage link of an earlier :meth:`open_download`.

        Spends no download. Raises :class:`TisDownloadLinkExpiredError` once the link has expired.
        """
        return self._open_stream(url, start, f"resume the download of {name}")

    def _open_stream(self, url: str, start: int, action: str) -> TisDownload:
        headers = {"Range": f"bytes={start}-"} if start else {}
        try:
            response = self.session.get(
                url,
                headers=headers,
                stream=True,
                timeout=(self.connect_timeout, self.settings.timeout),
                allow_redirects=True,
            )
        except requests.RequestException as exc:
            # from None: the library error's text holds the presigned link with its signature
            raise TisConnectionError(f"Could not {action}: {type(exc).__name__}") from None
        if response.status_code in (200, 206):
            return TisDownload(response)
        with response:
            try:  # the error body, capped: a small gzip page can unpack to hundreds of MB
                read_answer(response, action, self.settings.timeout)
            except requests.RequestException:
                response._content = b""  # the status says enough
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
        raise self._error(response, action)
