"""SevenBridgesHook: the calls the provider makes to the Seven Bridges / BioData Catalyst public API (v2).

Every answer's ``X-RateLimit-*`` headers feed one request budget per connection and process (threads of an
upload and triggers of the connection share it): once it is used up, requests wait for its reset; a 429
is waited out until the reset, and a 503 with ``code: 0`` (maintenance) is waited out too, all within the
caps of the :class:`RetryPolicy` (see :mod:`airflow_provider_tis.core.ratelimit` and ``core.http``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import quote

from airflow_provider_tis.core.answers import parse_json
from airflow_provider_tis.core.download import LinkErrors, LinkSource, fetch
from airflow_provider_tis.core.errors import ErrorKinds, ProviderError
from airflow_provider_tis.core.http import AsyncHttpClient
from airflow_provider_tis.core.ratelimit import RateLimitState, budget_for
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.core.upload import PartLink, SizedReader, put_part, send_in_parts
from airflow_provider_tis.hooks.base import (
    ServiceHook,
    is_local,
    normalize_base_url,
    parse_number,
    parse_verify,
)
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SERVICE,
    ItemAnswer,
    SbgApiError,
    SbgConfigError,
    SbgConnectionError,
    SbgLinkExpiredError,
    SbgResponseError,
    SbgTransferError,
    SbgUploadError,
    check_app_id,
    check_id,
    check_project_id,
    error_from_response,
    is_maintenance,
    unexpected_answer,
)
from airflow_provider_tis.hooks.sevenbridges_models import (
    SbgApp,
    SbgExecutionDetails,
    SbgFile,
    SbgProject,
    SbgTask,
    SbgUser,
    SevenBridgesSettings,
    SevenBridgesTaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable, Iterator, Mapping

    from airflow_provider_tis.core.http import Endpoint
    from airflow_provider_tis.core.upload import UploadSource

CONN_ID = "sevenbridges_default"
DEFAULT_HOST = "https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2"
API = "/v2"
DEFAULT_TIMEOUT = 60.0
PAGE_LIMIT = 100  # the largest page (§1.4)
MAX_PAGES = 10_000  # a server whose "next" never ends stops here
BULK_MAX = 100  # ids per POST /bulk/tasks/get
#: Waits are capped, never forever: a rate-limit window lasts 5 minutes, so a 429 waits for its reset up to
#: 300 s; maintenance is tried every minute for at most 30 (RetryPolicy's defaults; SBPY waits forever).
DEFAULT_RETRY = RetryPolicy(max_attempts=6, max_delay=300.0, max_elapsed=900.0)
DEFAULT_PART_SIZE = 32 << 20  # SBPY's recommended part size
DEFAULT_PARALLEL = 4
DEFAULT_UPLOAD_MEMORY = 256 << 20
LINK_ERRORS = LinkErrors(SERVICE, SbgApiError, SbgLinkExpiredError, SbgConnectionError, SbgTransferError)
_NOT_ABORTABLE = 7011  # "Action can be performed on tasks in the states: CREATING, RUNNING or QUEUED."
#: What a waiting trigger reads of each task in the bulk poll: enough for its fingerprint (§1.4 ``fields``).
FINGERPRINT_FIELDS = "id,status,execution_status"
#: The web UI of each known API host [I: hosts from §1.1, the UI hosts from the platforms' own pages];
#: another host (a local simulator) gets its pages on the API's own root.
_UI_HOSTS = {
    "api.sb.biodatacatalyst.nhlbi.nih.gov": "platform.sb.biodatacatalyst.nhlbi.nih.gov",
    "api.sbgenomics.com": "igor.sbgenomics.com",
    "eu-api.sbgenomics.com": "eu.sbgenomics.com",
    "cgc-api.sbgenomics.com": "cgc.sbgenomics.com",
    "cavatica-api.sbgenomics.com": "cavatica.sbgenomics.com",
    "api.sevenbridges.cn": "platform.sevenbridges.cn",
}


def task_fingerprint(task: SbgTask) -> tuple[str, int | None]:
    """What a waiting trigger notices of a task: its status and its steps completed."""
    return task.status.value, task.execution_status.steps_completed


def _items(data: Any, what: str) -> list[Any]:
    items = data.get("items") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise unexpected_answer(what, data)
    return items


def _bulk_tasks(data: Any, ids: list[str], errors: ErrorKinds) -> dict[str, SbgTask | SbgApiError]:
    """A bulk answer's items, in the order of ``ids``: each task, or the error the platform gave for it."""
    items = _items(data, "a bulk read of tasks")
    if len(items) != len(ids):
        raise unexpected_answer(f"a bulk read of {len(ids)} tasks ({len(items)} items)", data)
    found: dict[str, SbgTask | SbgApiError] = {}
    for task_id, item in zip(ids, items, strict=True):
        if isinstance(item, dict) and isinstance(item.get("error"), dict):
            mapped = errors.from_response(ItemAnswer(item["error"]), f"get task {task_id}")
            found[task_id] = cast("SbgApiError", mapped)  # the service's mapping: always one of its own
        else:
            found[task_id] = SbgTask.from_json(item.get("resource") if isinstance(item, dict) else item)
    return found


class AsyncSevenBridgesClient(AsyncHttpClient):
    """The triggers' view of the API: ``async with await hook.async_client() as client:``."""

    async def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, action=action, **kwargs)
        return parse_json(response, action, self.endpoint.secret, self.endpoint.errors)

    async def get_task(self, task_id: str, fields: str | None = None) -> SbgTask:
        task_id = check_id(task_id, "task")
        params = {"fields": fields} if fields else None
        return SbgTask.from_json(
            await self._json("GET", f"/tasks/{task_id}", f"get task {task_id}", params=params)
        )

    async def bulk_get_tasks(
        self, task_ids: Iterable[str], fields: str | None = None
    ) -> dict[str, SbgTask | SbgApiError]:
        """Each task by id (or the platform's error for it), ``BULK_MAX`` ids per request."""
        ids = [check_id(t, "task") for t in task_ids]
        found: dict[str, SbgTask | SbgApiError] = {}
        for start in range(0, len(ids), BULK_MAX):
            batch = ids[start : start + BULK_MAX]
            data = await self._json(
                "POST",
                "/bulk/tasks/get",
                f"read {len(batch)} tasks",
                params={"fields": fields} if fields else None,
                json={"task_ids": batch},
            )
            found.update(_bulk_tasks(data, batch, self.endpoint.errors))
        return found

    async def task_fingerprints(self, task_ids: Iterable[str]) -> dict[str, tuple[str, int | None]]:
        """Each task's :func:`task_fingerprint` with the bulk read (one request per ``BULK_MAX`` tasks):
        what the triggers of one connection wait on together. A task the platform answers an error for
        (deleted, not shared any more) is left out, so its trigger looks at it alone."""
        found = await self.bulk_get_tasks(task_ids, fields=FINGERPRINT_FIELDS)
        return {
            task_id: task_fingerprint(task) for task_id, task in found.items() if isinstance(task, SbgTask)
        }

    async def execution_details(self, task_id: str) -> SbgExecutionDetails:
        """The task's jobs and their logs (why a FAILED task failed)."""
        task_id = check_id(task_id, "task")
        action = f"read the execution details of task {task_id}"
        return SbgExecutionDetails.from_json(
            await self._json("GET", f"/tasks/{task_id}/execution_details", action)
        )

    async def abort_task(self, task_id: str) -> SbgTask:
        task_id = check_id(task_id, "task")
        try:
            return SbgTask.from_json(
                await self._json("POST", f"/tasks/{task_id}/actions/abort", f"abort task {task_id}")
            )
        except SbgApiError as exc:
            if exc.code != _NOT_ABORTABLE:
                raise
            return _not_abortable(await self.get_task(task_id), exc)


def _not_abortable(task: SbgTask, exc: SbgApiError) -> SbgTask:
    """After a refused abort: a task that is aborting or finished needs none; any other (a DRAFT) raises."""
    if task.status is SevenBridgesTaskStatus.ABORTING or task.status.is_terminal:
        return task
    raise exc


class SevenBridgesHook(ServiceHook):
    """Talks to Seven Bridges / BioData Catalyst (``X-SBG-Auth-Token``).

    :param sevenbridges_conn_id: Airflow connection of type ``sevenbridges``: host = the API base URL,
        password = the auth token, extra ``project`` = the default ``owner/project``.
    :param retry_policy: backoff of idempotent calls, and the caps of rate-limit and maintenance waits.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for a storage to answer one upload part once sent.
    """

    conn_name_attr = "sevenbridges_conn_id"
    default_conn_name = CONN_ID
    conn_type = "sevenbridges"
    hook_name = "Seven Bridges / BioData Catalyst"

    config_error = SbgConfigError
    async_client_class = AsyncSevenBridgesClient

    def __init__(
        self,
        sevenbridges_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 600.0,
    ) -> None:
        super().__init__(
            sevenbridges_conn_id,
            retry_policy=retry_policy or DEFAULT_RETRY,
            connect_timeout=connect_timeout,
            submit_timeout=submit_timeout,
        )
        self.sevenbridges_conn_id = sevenbridges_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read get_provider_info)."""
        from airflow_provider_tis.get_provider_info import SEVENBRIDGES_FIELD_BEHAVIOUR as behaviour

        keys = ("hidden-fields", "relabeling", "placeholders")
        return {key.replace("-", "_"): behaviour[key] for key in keys}

    @staticmethod
    def get_connection_form_widgets() -> dict[str, Any]:
        """Extra connection form fields for Airflow < 3.2 (Flask AppBuilder UI)."""
        from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
        from flask_babel import lazy_gettext
        from wtforms import StringField

        from airflow_provider_tis.get_provider_info import SEVENBRIDGES_CONNECTION_FIELDS as fields

        return {
            name: StringField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget())
            for name, field in fields.items()
        }

    # -- connection ---------------------------------------------------------------------------

    settings: SevenBridgesSettings  # read once, by ServiceHook

    def read_settings(self, conn: Any) -> SevenBridgesSettings:
        conn_id, extra = self.sevenbridges_conn_id, conn.extra_dejson
        token = (conn.password or "").strip()
        if not token or any(c.isspace() for c in token):
            raise SbgConfigError(
                f"Airflow connection '{conn_id}' has {'no' if not token else 'a malformed'} Seven Bridges auth "
                "token. Generate one on the platform (Developer > Auth token) and put it in the password field."
            )
        root = normalize_base_url(
            conn.host,
            default=DEFAULT_HOST.removesuffix(API),
            schema=conn.schema,
            port=conn.port,
            api_path=API,
            secret_field="auth token",
            error=SbgConfigError,
        )
        if not root.startswith("https://") and not is_local(root):
            raise SbgConfigError(
                f"The host of connection '{conn_id}' ({root}) must use https: the auth token would travel "
                f"unencrypted. Use e.g. {DEFAULT_HOST} (plain http is accepted for localhost only)."
            )
        project = extra.get("project") or ""
        settings = SevenBridgesSettings(
            conn_id=conn_id,
            base_url=root + API,
            token=token,
            project=check_project_id(project, "default project (extra 'project')") if project else "",
            verify=parse_verify(extra.get("verify")),
            timeout=parse_number(
                extra.get("timeout"), "timeout", conn_id, float, SbgConfigError, default=DEFAULT_TIMEOUT
            ),
        )
        if settings.verify is False:
            self.log.warning("TLS verification is off for connection '%s' (extra verify=false).", conn_id)
        return settings

    def auth_headers(self, settings: SevenBridgesSettings) -> dict[str, str]:
        return {"X-SBG-Auth-Token": settings.token}

    def error_kinds(self) -> ErrorKinds:
        def from_response(response: Any, action: str) -> SbgApiError:
            return error_from_response(
                response, conn_id=self.sevenbridges_conn_id, action=action, secret=self.settings.token
            )

        return ErrorKinds(
            SERVICE, "the Seven Bridges API", SbgResponseError, SbgConnectionError, from_response
        )

    @cached_property
    def endpoint(self) -> Endpoint:
        """The common endpoint, plus the connection's rate budget and the platform's maintenance answer."""
        base = super().endpoint  # built (and cached) by ServiceHook, then replaced here
        budget = budget_for(base.base_url, self.settings.token)
        return replace(base, rate_budget=budget, maintenance=is_maintenance, resend_refused=True)

    @property
    def rate_limit(self) -> RateLimitState:
        """The connection's request budget as the last answers in this process reported it."""
        budget = self.endpoint.rate_budget
        return budget.state if budget is not None else RateLimitState()

    def _project(self, project: str | None) -> str:
        if project is not None:  # "" or "None" from a template that gave nothing: refused, not the default
            return check_project_id(project)
        if not self.settings.project:
            raise SbgConfigError(
                f"No project given, and connection '{self.sevenbridges_conn_id}' has no default (extra "
                "'project', e.g. 'alice/demo'). Pass `project='owner/project'` or set the extra."
            )
        return self.settings.project

    def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        return self.http.json(self.http.request(method, path, action=action, **kwargs), action)

    def _paged(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[Any]:
        """Every item of a listing, page after page (``offset``/``limit``) while a ``next`` link says more."""
        offset = 0
        for _ in range(MAX_PAGES):
            page = {**params, "offset": offset, "limit": PAGE_LIMIT}
            data = self._json("GET", path, f"list {what}", params=page)
            items = _items(data, f"the list of {what}")
            yield from items
            links = data.get("links") or []
            if not items or not any(isinstance(link, dict) and link.get("rel") == "next" for link in links):
                return
            offset += len(items)
        raise SbgResponseError(f"{SERVICE} listed {what} over more than {MAX_PAGES} pages; stopped there.")

    # -- users and projects ---------------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Read ``/user``: name the token's user and the rate-limit budget left."""
        try:
            user = self.get_user()
        except ProviderError as exc:
            return False, str(exc)
        email = f" <{user.email}>" if user.email else ""
        return (
            True,
            f"Connected to {self.settings.base_url} as {user.username}{email}; {self.rate_limit.describe()}.",
        )

    def get_user(self) -> SbgUser:
        return SbgUser.from_json(self._json("GET", "/user", "read the token's user"))

    def get_project(self, project: str | None = None) -> SbgProject:
        project = self._project(project)
        return SbgProject.from_json(self._json("GET", f"/projects/{project}", f"get project {project}"))

    def list_projects(self) -> list[SbgProject]:
        return [SbgProject.from_json(p) for p in self._paged("/projects", {"fields": "_all"}, "projects")]

    # -- files ----------------------------------------------------------------------------------

    def list_files(
        self,
        project: str | None = None,
        *,
        parent: str | None = None,
        names: Iterable[str] = (),
        fields: str = "_all",
    ) -> list[SbgFile]:
        """Every file and folder of a project's root (or of folder ``parent``), across all pages.

        :param names: only files of these names (the platform's ``name`` filter).
        :param fields: the fields to read (``fields=``), ``id`` and ``name`` at least; ``_all`` by default.
        """
        where = (
            {"parent": check_id(parent, "folder")}
            if parent is not None
            else {"project": self._project(project)}
        )
        params = {**where, "fields": fields, "name": list(names)}
        return [SbgFile.from_json(item) for item in self._paged("/files", params, "files")]

    def find_file(
        self, name: str, project: str | None = None, *, parent: str | None = None
    ) -> SbgFile | None:
        """The file or folder called ``name`` in a project's root (or folder ``parent``), or None."""
        found = [f for f in self.list_files(project, parent=parent, names=[name]) if f.name == name]
        return found[0] if found else None

    def get_file(self, file_id: str) -> SbgFile:
        file_id = check_id(file_id, "file")
        return SbgFile.from_json(self._json("GET", f"/files/{file_id}", f"get file {file_id}"))

    def download_info(self, file_id: str) -> str:
        """A presigned link to the file's bytes (a secret while it lasts: never log it)."""
        file_id = check_id(file_id, "file")
        data = self._json("GET", f"/files/{file_id}/download_info", f"get a download link of file {file_id}")
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise unexpected_answer(f"the download link of file {file_id}", data)
        return url

    def download_source(self, file: str | SbgFile) -> LinkSource:
        """A file as the transfer engine (:func:`~airflow_provider_tis.core.download.fetch`) downloads it:
        each open asks a new link, a broken transfer resumes on its link, an expired one is replaced."""
        file = file if isinstance(file, SbgFile) else self.get_file(file)
        if file.is_folder:
            raise SbgConfigError(
                f"{file.name} ({file.id}) is a folder; download the files it lists one by one."
            )
        return LinkSource(file.name, file.size, lambda: self.download_info(file.id), self.http, LINK_ERRORS)

    def download_file(self, file: str | SbgFile, target: Any) -> int:
        """Download a file to ``target`` (a local path or an ObjectStoragePath), resuming broken transfers
        and asking a new link when one expires; its size in bytes. Nothing is left on failure."""
        import os

        from airflow_provider_tis.version_compat import ObjectStoragePath

        if not hasattr(target, "protocol"):
            target = ObjectStoragePath("file://" + os.path.abspath(os.path.expanduser(str(target))))
        fetched = fetch(self.download_source(file), target, self.log)
        fetched.partial.commit()
        return fetched.size

    # -- uploads --------------------------------------------------------------------------------

    def upload_file(
        self,
        source: str | Path | UploadSource,
        *,
        name: str | None = None,
        project: str | None = None,
        parent: str | None = None,
        overwrite: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        parallel: int = DEFAULT_PARALLEL,
        max_memory: int = DEFAULT_UPLOAD_MEMORY,
        progress: Callable[[int, int], None] | None = None,
    ) -> SbgFile:
        """Upload a file with the multipart API: init, a presigned URL per part, the parts sent in parallel,
        each reported, then complete; on any failure the upload is aborted. The new file.

        :param name: the file's name on the platform (default: the source's).
        :param parent: a folder id, instead of a project's root.
        :param part_size: bytes per part (the platform may raise it; its answer wins).
        :param parallel: parts in flight at once, at most ``max_memory // part_size`` (and at least 1).
        :param max_memory: the memory the parts in flight may take.
        :param progress: called with (bytes sent, total bytes) after each part.
        """
        source = Path(source) if isinstance(source, str) else source
        name = name or source.name
        if not name or "/" in name or min(part_size, parallel, max_memory) < 1:
            raise SbgConfigError(f"Cannot upload {source}: give a file name without '/' and positive sizes.")
        size = int(source.stat().st_size)
        where = (
            {"parent": check_id(parent, "folder")}
            if parent is not None
            else {"project": self._project(project)}
        )
        init = self._json(
            "POST",
            "/upload/multipart",
            f"start the upload of {name}",
            params={"overwrite": "true"} if overwrite else None,
            json={**where, "name": name, "size": size, "part_size": part_size},
        )
        init = init if isinstance(init, dict) else {"answer": init}
        upload_id, granted = init.get("upload_id"), init.get("part_size")
        if not isinstance(upload_id, str) or not isinstance(granted, int) or granted < 1:
            raise unexpected_answer(f"the start of the upload of {name}", init)
        part_size = granted  # the platform may raise it (a part too small, or over 10,000 parts)
        in_flight = max(1, min(parallel, max_memory // part_size))
        try:
            with source.open("rb") as handle:
                reader = SizedReader(handle, size, str(source), SbgConfigError)
                send_in_parts(
                    reader,
                    part_size,
                    lambda n, data: self._send_part(upload_id, n, data, name),
                    parallel=in_flight,
                    progress=progress,
                )
            done = self._json(
                "POST",
                f"/upload/multipart/{quote(upload_id)}/complete",
                f"complete the upload of {name}",
                retry=False,
            )
        except BaseException as exc:
            self._abort_upload(upload_id, name)
            if isinstance(exc, SbgUploadError):
                raise SbgUploadError(f"{exc} The upload was aborted; run the task again.") from None
            raise
        return SbgFile.from_json(done)

    def _part_link(self, upload_id: str, number: int, name: str) -> PartLink:
        action = f"get the upload link of part {number} of {name}"
        info = self._json("GET", f"/upload/multipart/{quote(upload_id)}/part/{number}", action)
        info = info if isinstance(info, dict) else {"answer": info}
        url, method, headers = info.get("url"), info.get("method") or "PUT", info.get("headers") or {}
        if not isinstance(url, str) or method not in ("PUT", "POST") or not isinstance(headers, dict):
            raise unexpected_answer(f"the upload link of part {number} of {name}", info)
        return PartLink(url, method, {str(k): str(v) for k, v in headers.items()})

    def _send_part(self, upload_id: str, number: int, data: bytes, name: str) -> None:
        """PUT one part to its presigned link (no token; see :func:`put_part`), then report its ETag."""
        etag = put_part(
            self.http.session,
            data,
            lambda: self._part_link(upload_id, number, name),
            policy=self.retry_policy,
            timeout=(self.connect_timeout, self.submit_timeout),
            verify=self.endpoint.verify,
            error=SbgUploadError,
            what=f"part {number} of {name}",
        )
        report = {"part_number": number, "response": {"headers": {"ETag": etag}}}
        path = f"/upload/multipart/{quote(upload_id)}/part"
        self.http.request("POST", path, action=f"report part {number} of {name}", json=report)

    def _abort_upload(self, upload_id: str, name: str) -> None:
        try:
            self.http.request(
                "DELETE", f"/upload/multipart/{quote(upload_id)}", action=f"abort the upload of {name}"
            )
        except ProviderError as exc:
            self.log.warning("Could not abort the upload of %s (%s); the platform drops it later.", name, exc)

    # -- apps and tasks -------------------------------------------------------------------------

    def list_apps(self, project: str | None = None) -> list[SbgApp]:
        params = {"project": self._project(project), "fields": "_all"}
        return [SbgApp.from_json(item) for item in self._paged("/apps", params, "apps")]

    def get_app(self, app_id: str) -> SbgApp:
        """An app with its declared inputs: ``owner/project/app`` (latest revision) or ``.../<revision>``."""
        app_id = check_app_id(app_id)
        return SbgApp.from_json(self._json("GET", f"/apps/{app_id}", f"get app {app_id}"))

    def create_task(
        self,
        app: str,
        inputs: Mapping[str, Any],
        *,
        name: str | None = None,
        project: str | None = None,
        description: str | None = None,
        batch_input: str | None = None,
        batch_by: Mapping[str, Any] | None = None,
        run: bool = False,
    ) -> SbgTask:
        """Create a task (a DRAFT); with ``run`` it is run at once. Sent once (a retry could create two).

        A DRAFT with invalid inputs is no HTTP error: it comes back with ``errors`` (check them). With
        ``run``, such a task cannot start and :class:`SbgTaskValidationError` is raised (it stays DRAFT).
        """
        app = check_app_id(app)
        body: dict[str, Any] = {"project": self._project(project), "app": app, "inputs": dict(inputs)}
        optional = {
            "name": name,
            "description": description,
            "batch_input": batch_input,
            "batch_by": batch_by,
        }
        body.update({key: value for key, value in optional.items() if value is not None})
        # [I] the docs name ``?run=true``, SBPY sends ``?action=run`` (§1.2): SBPY's form is the one known to work
        params = {"action": "run"} if run else None
        task = SbgTask.from_json(
            self._json("POST", "/tasks", f"create a task of {app}", retry=False, params=params, json=body)
        )
        return task.raise_for_errors() if run else task

    def edit_task_inputs(self, task_id: str, inputs: Mapping[str, Any]) -> SbgTask:
        """Replace a DRAFT's inputs (``PATCH /tasks/{id}``); the answer has the new ``errors``."""
        task_id = check_id(task_id, "task")
        return SbgTask.from_json(
            self._json("PATCH", f"/tasks/{task_id}", f"edit task {task_id}", json={"inputs": dict(inputs)})
        )

    def run_task(self, task_id: str) -> SbgTask:
        """Run a DRAFT. Sent once; inputs the platform refuses raise :class:`SbgTaskValidationError`."""
        task_id = check_id(task_id, "task")
        answer = self._json("POST", f"/tasks/{task_id}/actions/run", f"run task {task_id}", retry=False)
        return SbgTask.from_json(answer).raise_for_errors()

    def get_task(self, task_id: str, fields: str | None = None) -> SbgTask:
        """A task; ``fields`` (e.g. ``"id,status,execution_status,errors"``) slims the answer."""
        task_id = check_id(task_id, "task")
        params = {"fields": fields} if fields else None
        return SbgTask.from_json(self._json("GET", f"/tasks/{task_id}", f"get task {task_id}", params=params))

    def bulk_get_tasks(
        self, task_ids: Iterable[str], fields: str | None = None
    ) -> dict[str, SbgTask | SbgApiError]:
        """Each task by id (or the platform's error for it), ``BULK_MAX`` ids per request."""
        ids = [check_id(t, "task") for t in task_ids]
        found: dict[str, SbgTask | SbgApiError] = {}
        for start in range(0, len(ids), BULK_MAX):
            batch = ids[start : start + BULK_MAX]
            params = {"fields": fields} if fields else None
            data = self._json(
                "POST", "/bulk/tasks/get", f"read {len(batch)} tasks", params=params, json={"task_ids": batch}
            )
            found.update(_bulk_tasks(data, batch, self.endpoint.errors))
        return found

    def abort_task(self, task_id: str) -> SbgTask:
        """Abort a QUEUED or RUNNING task; one already aborting or finished is returned as it is."""
        task_id = check_id(task_id, "task")
        try:
            return SbgTask.from_json(
                self._json("POST", f"/tasks/{task_id}/actions/abort", f"abort task {task_id}")
            )
        except SbgApiError as exc:
            if exc.code != _NOT_ABORTABLE:
                raise
            return _not_abortable(self.get_task(task_id), exc)

    def execution_details(self, task_id: str) -> SbgExecutionDetails:
        """The task's jobs and their logs (why a FAILED task failed)."""
        task_id = check_id(task_id, "task")
        data = self._json(
            "GET", f"/tasks/{task_id}/execution_details", f"read the execution details of task {task_id}"
        )
        return SbgExecutionDetails.from_json(data)

    def find_tasks(self, name: str, project: str | None = None) -> list[SbgTask]:
        """The tasks called ``name`` in a project, oldest first, read across **all** pages of the task
        list (py-orca's lookup reads only the first, §1.6). The list has no name filter [I]: the names
        are compared here."""
        params = {"project": self._project(project), "fields": "id,name,status,project,app"}
        return [
            SbgTask.from_json(item)
            for item in self._paged("/tasks", params, f"the tasks of project {params['project']}")
            if isinstance(item, dict) and item.get("name") == name
        ]

    def task_url(self, task_id: str, project: str | None = None) -> str:
        """The task's page in the platform's web UI (``/u/<owner>/<project>/tasks/<id>/``)."""
        from urllib.parse import urlsplit

        parts = urlsplit(self.settings.base_url)
        host = _UI_HOSTS.get(parts.hostname or "")
        root = f"https://{host}" if host else f"{parts.scheme}://{parts.netloc}"
        return f"{root}/u/{self._project(project)}/tasks/{check_id(task_id, 'task')}/"

    def list_batch_children(self, task_id: str) -> list[SbgTask]:
        """The children of a batch task (its own status does not say whether some failed [I])."""
        params = {"parent": check_id(task_id, "task"), "fields": "_all"}
        return [
            SbgTask.from_json(item)
            for item in self._paged("/tasks", params, f"the children of task {task_id}")
        ]
