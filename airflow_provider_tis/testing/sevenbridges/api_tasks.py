"""Routes: ``/apps``, ``/tasks`` (create, list, get, edit, delete, run, abort, clone, execution details)
and ``/bulk/tasks/get``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.api_files import bulk_ids
from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError, error_body
from airflow_provider_tis.testing.sevenbridges.paging import page, select
from airflow_provider_tis.testing.sevenbridges.tasks import STATUSES, TASK_LIST_FIELDS

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.call import Call, Reply
    from airflow_provider_tis.testing.sevenbridges.tasks import Task

#: An app listing's items without ``fields`` [I].
APP_LIST_FIELDS = ("href", "id", "name", "project", "revision")
ORDER_BY = ("created_time", "start_time", "end_time", "name")


def apps(call: Call) -> Reply:
    """``GET /apps[?project=owner/name]``: the latest revision of each app (of projects the user may use)."""
    store = call.sim.files
    project_id = call.arg("project")
    if project_id:
        store.project_for(call.user, project_id)
    found = [
        revisions[max(revisions)].resource(call.base)
        for revisions in call.sim.jobs.apps.values()
        if project_id in (None, revisions[max(revisions)].project)
    ]
    body, total = page(found, call.query, call.url, call.sim.config, APP_LIST_FIELDS)
    call.total(total)
    return 200, body


def app(call: Call) -> Reply:
    """``GET /apps/{owner}/{project}/{name}[/{revision}]``, with its ``raw`` CWL (inputs and outputs)."""
    return 200, select(call.sim.jobs.app_for(call.params["id"]).resource(call.base), call.query)


# -- tasks --------------------------------------------------------------------------------------


def _view(call: Call, task: Task) -> dict[str, Any]:
    call.log["job_state"] = task.status
    return select(call.sim.jobs.view(task, call.base), call.query)


def tasks(call: Call) -> Reply:
    """``GET /tasks`` with ``project``, ``status``, ``parent`` (a batch task's children) and ``batch``
    filters, ordered by ``order_by``/``order`` (default: creation, oldest first [I])."""
    table, store = call.sim.jobs, call.sim.files
    found = list(table.jobs.values())
    if project_id := call.arg("project"):
        store.project_for(call.user, project_id)
        found = [t for t in found if t.project == project_id]
    else:
        mine = {p.id for p in store.projects.values() if call.user == p.owner or call.user in p.members}
        found = [t for t in found if t.project in mine]
    if status := call.arg("status"):
        if status not in STATUSES:
            raise SbgApiError(400, 7006)
        found = [t for t in found if t.status == status]
    if parent := call.arg("parent"):
        found = [t for t in found if t.parent == table.task_for(call.user, parent).id]
    if (batch := call.arg("batch")) is not None:
        found = [t for t in found if t.batch == (batch.lower() == "true")]
    order_by = call.arg("order_by") or "created_time"
    if order_by not in ORDER_BY:
        raise SbgApiError(400, 90000, more_info=f"order_by must be one of {', '.join(ORDER_BY)}.")
    found.sort(key=lambda t: (getattr(t, order_by) is None, getattr(t, order_by) or 0))
    if call.arg("order") == "desc":
        found.reverse()
    views = [table.view(t, call.base) for t in found]
    body, total = page(views, call.query, call.url, call.sim.config, TASK_LIST_FIELDS)
    call.total(total)
    return 200, body


def task_create(call: Call) -> Reply:
    """``POST /tasks``; ``?action=run`` (SBPY) or ``?run=true`` (the docs) runs it at once (§1.2). Bad
    inputs are no HTTP error: the DRAFT comes back with ``errors``."""
    action = call.arg("action")
    if action not in (None, "run"):
        raise SbgApiError(400, 7013)
    task = call.sim.jobs.create(call.user, call.json(), run=action == "run" or call.flag("run"))
    return 201, _view(call, task)  # [I] 201 Created; SBPY accepts any 2xx


def task(call: Call) -> Reply:
    """``GET /tasks/{id}``."""
    return 200, _view(call, call.sim.jobs.task_for(call.user, call.params["id"]))


def task_edit(call: Call) -> Reply:
    """``PATCH /tasks/{id}``."""
    table = call.sim.jobs
    return 200, _view(call, table.edit(table.task_for(call.user, call.params["id"]), call.json()))


def task_delete(call: Call) -> Reply:
    """``DELETE /tasks/{id}``."""
    table = call.sim.jobs
    table.delete(table.task_for(call.user, call.params["id"]))
    return 204, None


def task_run(call: Call) -> Reply:
    """``POST /tasks/{id}/actions/run[?batch=false]``."""
    table = call.sim.jobs
    found = table.task_for(call.user, call.params["id"])
    batch = (call.arg("batch") or "true").lower() != "false"
    return 200, _view(call, table.run(found, call.user, batch=batch))


def task_abort(call: Call) -> Reply:
    """``POST /tasks/{id}/actions/abort``."""
    table = call.sim.jobs
    return 200, _view(call, table.abort(table.task_for(call.user, call.params["id"])))


def task_clone(call: Call) -> Reply:
    """``POST /tasks/{id}/actions/clone[?action=run]``."""
    table = call.sim.jobs
    found = table.task_for(call.user, call.params["id"])
    return 201, _view(call, table.clone(found, call.user, run=call.arg("action") == "run"))


def task_action(call: Call) -> Reply:
    """Any other ``/tasks/{id}/actions/<action>``: 400 code 7013."""
    call.sim.jobs.task_for(call.user, call.params["id"])
    raise SbgApiError(400, 7013, more_info=f"Unknown action {call.params['action']!r}.")


def execution_details(call: Call) -> Reply:
    """``GET /tasks/{id}/execution_details``: the jobs (a FAILED one on a failed task) and their logs."""
    found = call.sim.jobs.task_for(call.user, call.params["id"])
    call.log["job_state"] = found.status
    return 200, select(found.execution_details(call.base, call.sim.now()), call.query)


def bulk_tasks_get(call: Call) -> Reply:
    """``POST /bulk/tasks/get`` with ``{"task_ids": [...]}`` (at most 100, §1.2): in order, a
    ``resource`` or an ``error`` (the platform's error body) for each id."""
    items: list[dict[str, Any]] = []
    for task_id in bulk_ids(call, "task_ids"):
        try:
            found = call.sim.jobs.task_for(call.user, task_id)
            items.append({"resource": select(call.sim.jobs.view(found, call.base), call.query)})
        except SbgApiError as err:
            items.append({"error": error_body(err)})
    return 200, {"items": items}
