"""The task table: apps, tasks, the actions on them (create, run, abort, clone, edit, delete), batch
children, and moving every task along the simulator's clock."""

from __future__ import annotations

import time
import uuid
from dataclasses import replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.apps import check_inputs
from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError
from airflow_provider_tis.testing.sevenbridges.outputs import write_logs, write_outputs
from airflow_provider_tis.testing.sevenbridges.tasks import (
    ABORTED,
    ABORTING,
    COMPLETED,
    DRAFT,
    FAILED,
    QUEUED,
    RUNNING,
    TERMINAL,
    Task,
)

if TYPE_CHECKING:
    import threading

    from airflow_provider_tis.testing.sevenbridges.apps import App
    from airflow_provider_tis.testing.sevenbridges.config import SbgConfig
    from airflow_provider_tis.testing.sevenbridges.files import FileStore


class TaskTable:
    """All apps and tasks; every method expects the caller to hold :attr:`lock` (an RLock) or takes it.

    :param config: timings and limits (read at each run, so a test may change them).
    :param files: the projects and files (outputs and logs are written there).
    :param lock: the simulator's lock, shared with ``files``.
    """

    def __init__(self, config: SbgConfig, files: FileStore, lock: threading.RLock) -> None:
        self.config = config
        self.files = files
        self.lock = lock
        self.clock_offset = 0.0
        self.jobs: dict[str, Task] = {}
        self.apps: dict[str, dict[int, App]] = {}

    def now(self) -> float:
        return time.time() + self.clock_offset

    # -- apps -----------------------------------------------------------------------------------

    def add_app(self, app: App) -> App:
        """Store ``app`` as a new revision (0 for a new app, else the latest + 1)."""
        with self.lock:
            revisions = self.apps.setdefault(app.id, {})
            app = replace(app, revision=max(revisions, default=-1) + 1)
            revisions[app.revision] = app
            return app

    def app_for(self, app_id: Any) -> App:
        """``owner/project/app`` (latest revision) or ``owner/project/app/<revision>``."""
        if not isinstance(app_id, str) or not app_id:
            raise SbgApiError(400, 7015)
        parts = app_id.strip("/").split("/")
        revision: int | None = None
        if len(parts) == 4 and parts[3].isdigit():
            revision = int(parts.pop())
        if len(parts) != 3:
            raise SbgApiError(400, 6011)
        revisions = self.apps.get("/".join(parts), {})
        if not revisions or (revision is not None and revision not in revisions):
            raise SbgApiError(404, 6002, more_info=f"App {app_id} does not exist.")
        return revisions[max(revisions) if revision is None else revision]

    # -- lookup ---------------------------------------------------------------------------------

    def task_for(self, user: str, task_id: str) -> Task:
        """A task ``user`` may see: 400 code 7005 for an id that is no UUID, 404 code 7002, 403 7001."""
        try:
            uuid.UUID(task_id)
        except ValueError:
            raise SbgApiError(400, 7005) from None
        task = self.jobs.get(task_id)
        if task is None:
            raise SbgApiError(404, 7002, more_info=f"Task {task_id} does not exist.")
        project = self.files.projects[task.project]
        if user != project.owner and user not in project.members:
            raise SbgApiError(403, 7001)
        return task

    def children(self, task: Task) -> list[Task]:
        return [self.jobs[c] for c in task.children if c in self.jobs]

    def view(self, task: Task, base: str) -> dict[str, Any]:
        return task.resource(base, self.now(), self.children(task))

    # -- actions --------------------------------------------------------------------------------

    def create(self, user: str, body: Any, *, run: bool) -> Task:
        """``POST /tasks`` (``?action=run`` runs it at once unless it has errors, §1.2)."""
        if not isinstance(body, dict):
            raise SbgApiError(400, 90000, more_info="Send the task as a JSON object.")
        project = self.files.project_for(user, str(body.get("project") or ""))
        app = self.app_for(body.get("app"))
        batch_input, batch_by = body.get("batch_input"), body.get("batch_by")
        if (batch_input is None) != (batch_by is None):
            raise SbgApiError(400, 7023)
        if batch_by is not None:
            self._check_batch(app, batch_input, batch_by)
        inputs, errors = check_inputs(app, body.get("inputs"), self.files, project.id, batch_input)
        now = self.now()
        stamp = datetime.fromtimestamp(now, tz=timezone.utc).strftime("%m-%d-%y %H:%M:%S")
        task = Task(
            str(uuid.uuid4()),
            str(body.get("name") or f"{app.name} run - {stamp}"),  # [I] the default name
            project.id,
            app,
            user,
            now,
            inputs,
            errors,
            description=body.get("description"),
            batch=batch_by is not None,
            batch_input=batch_input,
            batch_by=batch_by,
        )
        self.jobs[task.id] = task
        if run:
            self.run(task, user, refuse=False)
        return task

    def _check_batch(self, app: App, batch_input: Any, batch_by: Any) -> None:
        declared = next((i for i in app.inputs if i.id == batch_input), None)
        if declared is None or declared.type not in ("File", "File[]"):
            raise SbgApiError(400, 90000, more_info=f"batch_input {batch_input!r} is no file input.")
        if not isinstance(batch_by, dict) or batch_by.get("type") not in ("item", "criteria"):
            raise SbgApiError(400, 7020)

    def run(self, task: Task, user: str, *, batch: bool = True, refuse: bool | None = None) -> Task:
        """``POST /tasks/{id}/actions/run``: only a DRAFT runs (400 code 7007); a task with errors stays
        DRAFT and is answered as it is, or refused with 7024 (``refuse_invalid_run``)."""
        if task.status != DRAFT:
            raise SbgApiError(400, 7007, more_info=f"Task {task.id} is {task.status}.")
        if task.errors:
            if self.config.refuse_invalid_run if refuse is None else refuse:
                raise SbgApiError(400, 7024, more_info="; ".join(e["more_info"] for e in task.errors))
            return task
        now = self.now()
        task.executed_by = user
        groups = self._groups(task) if task.batch and batch else []
        if groups:
            task.run_at, task.status = now, QUEUED
            task.children = [self._child(task, value, fields, files, now) for value, fields, files in groups]
            for child in self.children(task):
                self._schedule(child, now)
        else:  # ``?batch=false``, or nothing to batch on [I]: the task runs as one
            task.batch = False
            self._schedule(task, now)
        return task

    def _schedule(self, task: Task, now: float) -> None:
        """Plan the run: QUEUED for ``queue_seconds``, then one slice of ``run_seconds`` per step."""
        config = self.config
        task.status, task.run_at = QUEUED, now
        task.start_at = now + max(config.queue_seconds, 0.0)
        task.step_seconds = max(config.run_seconds, 0.0) / len(task.app.steps)
        task.failure = task.app.failure(task.inputs)
        if task.failure is None:
            task.ends_at = task.start_at + task.step_seconds * len(task.app.steps)
        else:  # halfway through the failing step
            task.ends_at = task.start_at + task.step_seconds * (task.failure[0] + 0.5)

    def _groups(self, task: Task) -> list[tuple[str, dict[str, Any], list[dict[str, Any]]]]:
        """(value, fields, files) of each child: one per file (``item``), or one per distinct value of
        the ``criteria`` (e.g. ``metadata.sample_id``) among the files."""
        files = task.inputs.get(task.batch_input or "") or []
        by = task.batch_by or {}
        if by.get("type") == "item":
            return [(f["name"], {}, [f]) for f in files]
        groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        criteria = [str(c) for c in by.get("criteria") or []]
        for item in files:
            metadata = self.files.files[item["path"]].metadata
            key = tuple(str(metadata.get(c.removeprefix("metadata."), "")) for c in criteria)
            groups.setdefault(key, []).append(item)
        return [
            (
                ",".join(key),
                {c.removeprefix("metadata."): v for c, v in zip(criteria, key, strict=True)},
                group,
            )
            for key, group in groups.items()
        ]

    def _child(
        self, parent: Task, value: str, fields: dict[str, Any], files: list[dict[str, Any]], now: float
    ) -> str:
        declared = next(i for i in parent.app.inputs if i.id == parent.batch_input)
        inputs = {**parent.inputs, declared.id: files if declared.type == "File[]" else files[0]}
        child = Task(
            str(uuid.uuid4()),
            f"{parent.name} - {value}",  # [I] children's names
            parent.project,
            parent.app,
            parent.created_by,
            now,
            inputs,
            [],
            parent=parent.id,
            batch_group={"value": value, "fields": fields},
            executed_by=parent.executed_by,
        )
        self.jobs[child.id] = child
        return child.id

    def abort(self, task: Task) -> Task:
        """``POST /tasks/{id}/actions/abort``: QUEUED or RUNNING only (400 code 7011); ABORTING for
        ``abort_seconds``, then ABORTED. A batch parent aborts its unfinished children."""
        if task.status not in (QUEUED, RUNNING):
            raise SbgApiError(400, 7011, more_info=f"Task {task.id} is {task.status}.")
        now = self.now()
        for target in [task, *(c for c in self.children(task) if c.status in (QUEUED, RUNNING))]:
            target.status, target.abort_requested_at = ABORTING, now
            target.abort_done_at = now + max(self.config.abort_seconds, 0.0)
        return task

    def clone(self, task: Task, user: str, *, run: bool) -> Task:
        """``POST /tasks/{id}/actions/clone``: a new DRAFT with the same app and inputs (run at once
        with ``?action=run``)."""
        body = {
            "name": task.name,
            "project": task.project,
            "app": f"{task.app.id}/{task.app.revision}",
            "inputs": task.inputs,
            "description": task.description,
        }
        if task.batch_by is not None:
            body.update(batch_input=task.batch_input, batch_by=task.batch_by)
        return self.create(user, body, run=run)

    def edit(self, task: Task, body: Any) -> Task:
        """``PATCH /tasks/{id}``: a DRAFT's name, description and inputs (inputs are merged, as SBPY
        sends only the changed ones [I]); other tasks may only be renamed (400 code 7026)."""
        if not isinstance(body, dict):
            raise SbgApiError(400, 90000, more_info="Send the changes as a JSON object.")
        if task.status != DRAFT and set(body) - {"name", "description"}:
            raise SbgApiError(400, 7026)
        if "name" in body:
            task.name = str(body["name"])
        if "description" in body:
            task.description = body["description"]
        if "inputs" in body:
            changes = body["inputs"]
            merged = {**task.inputs, **changes} if isinstance(changes, dict) else changes
            task.inputs, task.errors = check_inputs(
                task.app, merged, self.files, task.project, task.batch_input
            )
        return task

    def delete(self, task: Task) -> None:
        """``DELETE /tasks/{id}``: not while it runs (400 code 7013 [I])."""
        if task.status in (QUEUED, RUNNING, ABORTING):
            raise SbgApiError(400, 7013, more_info=f"Task {task.id} is {task.status}; abort it first.")
        for child in task.children:
            self.jobs.pop(child, None)
        del self.jobs[task.id]

    # -- the clock ------------------------------------------------------------------------------

    def advance(self) -> None:
        """Move every task to where the clock says it is; a task seen COMPLETED for the first time gets
        its output files, and an ended one its jobs' log files."""
        with self.lock:
            now = self.now()
            for task in list(self.jobs.values()):
                if not task.is_parent:
                    self._advance_one(task, now)
            for task in list(self.jobs.values()):
                if task.is_parent and task.status not in TERMINAL:
                    self._advance_parent(task)

    def _advance_one(self, task: Task, now: float) -> None:
        if task.status in (QUEUED, RUNNING) and task.start_at is not None and task.ends_at is not None:
            if now >= task.start_at:
                task.status, task.start_time = RUNNING, task.start_at
            if now >= task.ends_at:
                task.end_time = task.ends_at
                task.status = FAILED if task.failure is not None else COMPLETED
                if task.status == COMPLETED:
                    task.outputs = write_outputs(task, self.files)
                self._write_logs(task, now)
        elif task.status == ABORTING and task.abort_done_at is not None and now >= task.abort_done_at:
            task.status, task.end_time = ABORTED, task.abort_done_at
            self._write_logs(task, now)

    def _write_logs(self, task: Task, now: float) -> None:
        ended = [job for job in task.jobs(now) if job["end"] is not None]
        task.logs = write_logs(task, self.files, ended)

    def _advance_parent(self, task: Task) -> None:
        """A batch parent follows its children [I: undocumented, §1.2]: RUNNING while any runs, then
        ABORTED if aborted, FAILED if every child failed, else COMPLETED, even with failed children
        (so a client must look at the children)."""
        children = self.children(task)
        started = [c.start_time for c in children if c.start_time is not None]
        if started:
            task.start_time = min(started)
        if any(c.status not in TERMINAL for c in children):
            if task.status != ABORTING and started:
                task.status = RUNNING
            return
        task.end_time = max(c.end_time or 0.0 for c in children)
        statuses = {c.status for c in children}
        if task.abort_requested_at is not None or statuses == {ABORTED}:
            task.status = ABORTED
        elif COMPLETED in statuses:
            task.status = COMPLETED
        else:
            task.status = FAILED
