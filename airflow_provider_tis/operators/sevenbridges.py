"""Operators of Seven Bridges / BioData Catalyst: run a task (create the DRAFT, check it, run it) and abort one.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors are imported
where a running task needs them, not at the top.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import SEVENBRIDGES_CONN_ID
from airflow_provider_tis.version_compat import BaseOperator, BaseOperatorLink, XCom

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
    from airflow_provider_tis.hooks.sevenbridges_models import SbgApp, SbgTask
    from airflow_provider_tis.version_compat import Context

#: The CWL types whose values are files: a plain string there is a file id.
_FILE_KINDS = ("File", "Directory")


class SevenBridgesTaskLink(BaseOperatorLink):
    """The "Seven Bridges task" button: the task's page on the platform."""

    name = "Seven Bridges task"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key="task_url", ti_key=ti_key) or ""


class SevenBridgesRunTaskOperator(BaseOperator):
    """Create a Seven Bridges task of an app, check it, run it; return its id (XCom).

    Everything that can be checked is checked before the task is created: the inputs are a dict, the
    app exists and declares every input given. A task with invalid inputs is no HTTP error on the
    platform: it stays a DRAFT with ``errors``, and this operator then fails listing them, without running
    anything. The task id is the return value; the task's page is pushed as ``task_url``, and a batch
    task's children as ``children``.

    A retry reuses the task of an earlier try, found by its name among all the project's tasks (every
    page), never creating a second one: a DRAFT gets the current inputs and is run, a queued, running or
    completed task is kept. A task of an earlier try that ended FAILED or ABORTED is not reused, nor does it
    fail the retry: it is left on the platform as it is (its logs stay) and a new task is created and
    run, since running the operator again means running the app again.

    :param app: ``owner/project/app`` (latest revision) or ``owner/project/app/<revision>`` (templated).
    :param inputs: the app's inputs by id (templated): plain values, file ids (for ``File`` and
        ``Directory`` inputs, alone or in lists), or ``{"class": "File", "path": <file id>}`` objects.
    :param project: ``owner/project`` (templated); default: the connection's extra ``project``.
    :param task_name: the task's name; the platform shows it followed by ``-`` and 10 hex digits of the
        dag, run, task and map index, so only retries of this task instance reuse its task. Default:
        ``<dag>__<run>__<task>[__<map index>]`` (templated).
    :param description: the task's description.
    :param batch_input: for a batch task, the input to batch on (with ``batch_by``).
    :param batch_by: for a batch task, e.g. ``{"type": "item"}`` or ``{"type": "criteria", "criteria":
        ["metadata.sample_id"]}``.
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    """

    template_fields: Sequence[str] = ("app", "inputs", "project", "task_name")
    operator_extra_links = (SevenBridgesTaskLink(),)
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        app: str,
        inputs: Mapping[str, Any] | None = None,
        project: str | None = None,
        task_name: str | None = None,
        description: str | None = None,
        batch_input: str | None = None,
        batch_by: Mapping[str, Any] | None = None,
        sevenbridges_conn_id: str = SEVENBRIDGES_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.inputs = inputs if inputs is not None else {}
        self.project = project
        self.task_name = task_name
        self.description = description
        self.batch_input = batch_input
        self.batch_by = batch_by
        self.sevenbridges_conn_id = sevenbridges_conn_id

    @cached_property
    def hook(self) -> SevenBridgesHook:
        from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

        return SevenBridgesHook(self.sevenbridges_conn_id)

    def execute(self, context: Context) -> str:
        from airflow_provider_tis.core.inputs import task_job_name
        from airflow_provider_tis.hooks.sevenbridges_errors import check_app_id
        from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus

        if not isinstance(self.inputs, Mapping):
            from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

            raise SbgConfigError(
                f"inputs must be a dict of the app's input ids to values, not {type(self.inputs).__name__} "
                f"({str(self.inputs)[:80]!r}). With a template, render it as a dict (render_template_as_"
                "native_obj=True on the DAG)."
            )
        _check_plain(self.inputs, self.task_name)
        app_id = check_app_id(self.app)
        project = self.hook._project(self.project)  # the connection's default, or a config error
        inputs = self._normalized(self._app(app_id), self.inputs)
        name = task_job_name(context, (self.task_name or "").strip() or None)

        task = self._earlier_task(name, project)
        if task is None:
            task = self.hook.create_task(
                app_id,
                inputs,
                name=name,
                project=project,
                description=self.description,
                batch_input=self.batch_input,
                batch_by=self.batch_by,
            )
            self.log.info("Created Seven Bridges task %s (%s) as a DRAFT.", task.id, name)
        elif task.status is SevenBridgesTaskStatus.DRAFT:
            task = self._with_inputs(task.id, inputs)
        context["ti"].xcom_push(key="task_url", value=self.hook.task_url(task.id, project))
        if task.status is SevenBridgesTaskStatus.DRAFT:
            task.raise_for_errors()  # a DRAFT the platform will not run: nothing is run
            task = self.hook.run_task(task.id)
            self.log.info("Running Seven Bridges task %s: %s.", task.id, task.status.value)
        if task.batch:
            self._report_children(task, context)
        return task.id

    def _app(self, app_id: str) -> SbgApp:
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError, SbgNotFoundError

        try:
            return self.hook.get_app(app_id)
        except SbgNotFoundError:
            raise SbgConfigError(
                f"App {app_id!r} does not exist, or the token's user may not use it: check the app id (as "
                "in the app's URL, 'owner/project/app') and that the app is in a project the user is in. "
                "No task was created."
            ) from None

    def _normalized(self, app: SbgApp, inputs: Mapping[str, Any]) -> dict[str, Any]:
        """The inputs as the platform takes them: a file id of a ``File`` input becomes ``{"class":
        "File", "path": <id>}``. An input the app does not declare is refused (the platform would drop
        it silently [I], and a misspelt optional input would run with its default)."""
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

        declared = {item.id: item.type for item in app.inputs}
        unknown = sorted(str(key) for key in inputs if key not in declared)
        if unknown:
            raise SbgConfigError(
                f"App {app.id} has no input {', '.join(map(repr, unknown))}; its inputs are "
                f"{', '.join(sorted(declared)) or 'none'}. No task was created."
            )
        normalized: dict[str, Any] = {}
        for key, value in inputs.items():
            kind = declared[key].removesuffix("[]")
            if kind in _FILE_KINDS:
                value = [_file(kind, v) for v in value] if isinstance(value, list) else _file(kind, value)
            normalized[str(key)] = value
        return normalized

    def _earlier_task(self, name: str, project: str) -> SbgTask | None:
        """The task an earlier try of this task instance created (not one that ended FAILED or ABORTED)."""
        from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus

        # [I] A FAILED or ABORTED task is not reused, and does not stop the retry either: a retry exists to
        # run the app again, and a finished task cannot be run again (only a DRAFT can, §1.2). It is left
        # as it is, logs and all; while any other task of the name exists, no new one is ever made.
        failed = (SevenBridgesTaskStatus.FAILED, SevenBridgesTaskStatus.ABORTED)
        tasks = self.hook.find_tasks(name, project)
        found = [t for t in tasks if t.status not in failed]
        if not found:
            for old in tasks:
                self.log.info(
                    "Seven Bridges task %s (%s) of an earlier try ended %s; creating a new task (a finished "
                    "task is not run again).",
                    old.id,
                    name,
                    old.status.value,
                )
            return None
        task = found[-1]  # the newest
        self.log.info(
            "Reusing Seven Bridges task %s (%s, %s) created by an earlier try.",
            task.id,
            name,
            task.status.value,
        )
        return task

    def _with_inputs(self, task_id: str, inputs: dict[str, Any]) -> SbgTask:
        """An earlier try's DRAFT with this try's inputs (the DAG's inputs may have been fixed since)."""
        old = self.hook.get_task(task_id)
        cleared = {key: None for key in old.inputs if key not in inputs}  # [I] null unsets an input
        return self.hook.edit_task_inputs(task_id, {**cleared, **inputs})

    def _report_children(self, task: SbgTask, context: Context) -> None:
        children = self.hook.list_batch_children(task.id)
        self.log.info("Batch task %s has %d children.", task.id, len(children))
        for child in children:
            self.log.info("Batch child %s (%s): %s.", child.id, child.name, child.status.value)
        context["ti"].xcom_push(key="children", value=[child.id for child in children])


def _check_plain(inputs: Mapping[str, Any], task_name: Any) -> None:
    """Refuse, before any request, what the platform could never take: a task name that is not text, and
    inputs that are not JSON (a set, a date, an object, NaN). Sent as they are, they would fail inside the
    HTTP library after the app and the earlier tries had been looked up, with no word of which input."""
    import json
    import math

    from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

    if task_name is not None and not isinstance(task_name, str):
        raise SbgConfigError(
            f"task_name must be text, not {type(task_name).__name__} ({task_name!r}); give a string, or "
            "leave it out for the default name. No task was created."
        )
    for key, value in inputs.items():
        try:
            json.dumps({str(key): value}, allow_nan=False)
        except (TypeError, ValueError) as exc:
            nan = isinstance(value, float) and math.isnan(value)
            raise SbgConfigError(
                f"Input {key!r} cannot be sent to Seven Bridges: {'NaN is no JSON value' if nan else exc}. "
                "Inputs must be JSON values (text, numbers, booleans, lists, dicts, file ids); convert it, "
                "e.g. a date to an ISO string or a set to a list. No task was created."
            ) from None


def _file(kind: str, value: Any) -> Any:
    """A file id as a CWL file object; an object (or anything else) as it is: the platform checks it."""
    if isinstance(value, str):
        return {"class": kind, "path": value}
    return value


class SevenBridgesAbortTaskOperator(BaseOperator):
    """Abort a queued or running Seven Bridges task. A task that is aborting or finished already, or that
    does not exist (any more), needs nothing; a DRAFT runs nothing and is left as it is.

    :param sbg_task_id: the task id (templated), e.g. ``"{{ ti.xcom_pull('run') }}"``.
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    """

    template_fields: Sequence[str] = ("sbg_task_id",)

    def __init__(
        self, *, sbg_task_id: str, sevenbridges_conn_id: str = SEVENBRIDGES_CONN_ID, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.sbg_task_id = sbg_task_id
        self.sevenbridges_conn_id = sevenbridges_conn_id

    @cached_property
    def hook(self) -> SevenBridgesHook:
        from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

        return SevenBridgesHook(self.sevenbridges_conn_id)

    def execute(self, context: Context) -> str | None:
        from airflow_provider_tis.hooks.sevenbridges_async import NOT_ABORTABLE
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgApiError, SbgNotFoundError

        try:
            task = self.hook.abort_task(self.sbg_task_id)
        except SbgNotFoundError:
            self.log.info(
                "Seven Bridges task %s does not exist (any more); nothing to abort.", self.sbg_task_id
            )
            return None
        except SbgApiError as exc:
            # not abortable: only a DRAFT is left (a finished or aborting task is returned by the hook).
            # [I] The platform refuses to abort a DRAFT (7011: abort acts on CREATING, QUEUED, RUNNING);
            # this operator's caller wants nothing running, and a DRAFT runs nothing: that is success.
            if exc.code != NOT_ABORTABLE:
                raise
            self.log.info(
                "Seven Bridges task %s is a DRAFT: it runs nothing, nothing to abort.", self.sbg_task_id
            )
            return "DRAFT"
        self.log.info("Aborted Seven Bridges task %s (now %s).", self.sbg_task_id, task.status.value)
        return task.status.value
