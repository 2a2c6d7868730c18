"""SevenBridgesHook: the calls the provider makes to the Seven Bridges / BioData Catalyst public API (v2).

The hook is assembled from one module a concept, and every name of them stays importable from here:

- :mod:`.sevenbridges_base`: the connection, the token header, the rate budget, JSON calls and paging;
- :mod:`.sevenbridges_files`: files listed, downloaded (links renewed, transfers resumed) and uploaded
  (multipart);
- :mod:`.sevenbridges_async`: the triggers' client, task fingerprints and the bulk reads;
- this module: users, projects, apps and tasks.

Rate limits (429 until the reset, the used-up budget) and maintenance (503 ``code: 0``) are waited out
within the caps of the :class:`RetryPolicy` (see :mod:`.sevenbridges_base`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.errors import ErrorKinds, ProviderError
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.base import form_behaviour, form_widgets
from airflow_provider_tis.hooks.sevenbridges_async import (
    BULK_MAX,
    FINGERPRINT_FIELDS,
    NOT_ABORTABLE,
    AsyncSevenBridgesClient,
    _bulk_tasks,
    _items,
    _not_abortable,
    task_fingerprint,
)
from airflow_provider_tis.hooks.sevenbridges_base import (
    API,
    CONN_ID,
    DEFAULT_HOST,
    DEFAULT_RETRY,
    DEFAULT_TIMEOUT,
    MAX_PAGES,
    PAGE_LIMIT,
    SevenBridgesBaseHook,
)
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SERVICE,
    ItemAnswer,
    SbgApiError,
    SbgConfigError,
    SbgConnectionError,
    SbgError,
    SbgLinkExpiredError,
    SbgResponseError,
    SbgTaskFailedError,
    SbgTransferError,
    SbgUploadError,
    check_app_id,
    check_id,
    check_project_id,
    error_from_response,
    is_maintenance,
    unexpected_answer,
)
from airflow_provider_tis.hooks.sevenbridges_files import (
    DEFAULT_PARALLEL,
    DEFAULT_PART_SIZE,
    DEFAULT_UPLOAD_MEMORY,
    LINK_ERRORS,
    SevenBridgesFiles,
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
    from collections.abc import Iterable, Mapping

_NOT_ABORTABLE = NOT_ABORTABLE  # the name this module had for it
#: The web UI of each known API host. [I] The API hosts are the facts' (§1.1); the UI hosts come from the
#: platforms' own pages, not from any API answer, so a host not listed here (a local simulator, a new
#: platform) gets its pages on the API's own root: a link that may not open, never one to another platform.
_UI_HOSTS = {
    "api.sb.biodatacatalyst.nhlbi.nih.gov": "platform.sb.biodatacatalyst.nhlbi.nih.gov",
    "api.sbgenomics.com": "igor.sbgenomics.com",
    "eu-api.sbgenomics.com": "eu.sbgenomics.com",
    "cgc-api.sbgenomics.com": "cgc.sbgenomics.com",
    "cavatica-api.sbgenomics.com": "cavatica.sbgenomics.com",
    "api.sevenbridges.cn": "platform.sevenbridges.cn",
}

__all__ = [
    "API",
    "BULK_MAX",
    "CONN_ID",
    "DEFAULT_HOST",
    "DEFAULT_PARALLEL",
    "DEFAULT_PART_SIZE",
    "DEFAULT_RETRY",
    "DEFAULT_TIMEOUT",
    "DEFAULT_UPLOAD_MEMORY",
    "FINGERPRINT_FIELDS",
    "LINK_ERRORS",
    "MAX_PAGES",
    "PAGE_LIMIT",
    "SERVICE",
    "AsyncSevenBridgesClient",
    "ErrorKinds",
    "ItemAnswer",
    "ProviderError",
    "RetryPolicy",
    "SbgApiError",
    "SbgApp",
    "SbgConfigError",
    "SbgConnectionError",
    "SbgError",
    "SbgExecutionDetails",
    "SbgFile",
    "SbgLinkExpiredError",
    "SbgProject",
    "SbgResponseError",
    "SbgTask",
    "SbgTaskFailedError",
    "SbgTransferError",
    "SbgUploadError",
    "SbgUser",
    "SevenBridgesBaseHook",
    "SevenBridgesFiles",
    "SevenBridgesHook",
    "SevenBridgesSettings",
    "SevenBridgesTaskStatus",
    "_bulk_tasks",
    "_items",
    "_not_abortable",
    "check_app_id",
    "check_id",
    "check_project_id",
    "error_from_response",
    "is_maintenance",
    "task_fingerprint",
    "unexpected_answer",
]


class SevenBridgesHook(SevenBridgesFiles):
    """Talks to Seven Bridges / BioData Catalyst (``X-SBG-Auth-Token``).

    :param sevenbridges_conn_id: Airflow connection of type ``sevenbridges``: host = the API base URL,
        password = the auth token, extra ``project`` = the default ``owner/project``.
    :param retry_policy: backoff of idempotent calls, and the caps of rate-limit and maintenance waits.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for a storage to answer one upload part once sent.
    """

    conn_type = "sevenbridges"
    hook_name = "Seven Bridges / BioData Catalyst"

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read get_provider_info)."""
        from airflow_provider_tis.get_provider_info import SEVENBRIDGES_FIELD_BEHAVIOUR

        return form_behaviour(SEVENBRIDGES_FIELD_BEHAVIOUR)

    @staticmethod
    def get_connection_form_widgets() -> dict[str, Any]:
        """Extra connection form fields for Airflow < 3.2 (Flask AppBuilder UI)."""
        from airflow_provider_tis.get_provider_info import SEVENBRIDGES_CONNECTION_FIELDS

        return form_widgets(SEVENBRIDGES_CONNECTION_FIELDS)

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
            if exc.code != NOT_ABORTABLE:
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
