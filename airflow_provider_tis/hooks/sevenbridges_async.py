"""The triggers' Seven Bridges client (:class:`AsyncSevenBridgesClient`), what a waiting trigger notices
of a task (its fingerprint), and the parsing of listings and bulk answers both clients share.

The sync hook (:mod:`.sevenbridges`) and this client send the same requests over one request loop
(``core.http``); only the transport differs, so neither repeats the other's retry or rate-limit logic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from airflow_provider_tis.core.answers import parse_json
from airflow_provider_tis.core.http import AsyncHttpClient
from airflow_provider_tis.hooks.sevenbridges_errors import (
    ItemAnswer,
    SbgApiError,
    check_id,
    unexpected_answer,
)
from airflow_provider_tis.hooks.sevenbridges_models import (
    SbgExecutionDetails,
    SbgTask,
    SevenBridgesTaskStatus,
)

if TYPE_CHECKING:
    from collections.abc import Iterable

    from airflow_provider_tis.core.errors import ErrorKinds

BULK_MAX = 100  # ids per POST /bulk/tasks/get
NOT_ABORTABLE = 7011  # "Action can be performed on tasks in the states: CREATING, RUNNING or QUEUED."
#: What a waiting trigger reads of each task in the bulk poll: enough for its fingerprint (§1.4 ``fields``).
FINGERPRINT_FIELDS = "id,status,execution_status"


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


def _not_abortable(task: SbgTask, exc: SbgApiError) -> SbgTask:
    """After a refused abort: a task that is aborting or finished needs none; any other raises.

    [I] A DRAFT cannot be aborted: the platform answers code 7011 (abort acts on CREATING, QUEUED and
    RUNNING tasks only, §1.2), and the simulator does the same. The refusal is kept (not turned into a
    success) because the DRAFT still exists and could be run later; the abort operator, whose caller
    only wants nothing running, treats it as "nothing to abort".
    """
    if task.status is SevenBridgesTaskStatus.ABORTING or task.status.is_terminal:
        return task
    raise exc


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
            if exc.code != NOT_ABORTABLE:
                raise
            return _not_abortable(await self.get_task(task_id), exc)
