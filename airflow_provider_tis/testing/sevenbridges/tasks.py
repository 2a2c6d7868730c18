"""A task and how it looks through the API: its resource, ``execution_status`` and execution details.

States (§1.2): DRAFT -> (run) -> QUEUED -> RUNNING -> COMPLETED | FAILED, and QUEUED/RUNNING -> (abort)
-> ABORTING -> ABORTED. A run plans the whole timeline (queue, one slice of the run per app step, the
end); :meth:`TaskTable.advance <.task_table.TaskTable.advance>` moves the status along the clock.
CREATING (SBPY's enum) is not simulated: a create answers at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.files import iso

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.apps import App

DRAFT, QUEUED, RUNNING, COMPLETED, FAILED, ABORTING, ABORTED = (
    "DRAFT",
    "QUEUED",
    "RUNNING",
    "COMPLETED",
    "FAILED",
    "ABORTING",
    "ABORTED",
)
#: What ``?status=`` accepts (the platform's list, code 7006).
STATUSES = (QUEUED, DRAFT, RUNNING, COMPLETED, ABORTED, ABORTING, FAILED)
#: SBPY's ``TaskStatus.terminal_states`` (§1.2).
TERMINAL = (COMPLETED, FAILED, ABORTED)
#: A task listing's items without ``fields`` [I]; SBPY always asks ``fields=_all`` (§1.4).
TASK_LIST_FIELDS = ("href", "id", "name", "project", "status")


@dataclass
class Task:
    """One task.

    :param app: the app revision it runs.
    :param inputs: normalized inputs (files with their ``name``).
    :param errors: validation errors; a task with errors stays DRAFT (§1.2).
    :param start_at: planned start of RUNNING (set by a run); ``ends_at`` its planned end.
    :param failure: (step index, message) if the run is planned to fail.
    :param abort_done_at: when an abort requested finishes (ABORTING until then).
    :param logs: job name -> id of its (hidden) log file, written when the task ends.
    """

    id: str
    name: str
    project: str
    app: App
    created_by: str
    created_time: float
    inputs: dict[str, Any]
    errors: list[dict[str, Any]]
    description: str | None = None
    status: str = DRAFT
    batch: bool = False
    batch_input: str | None = None
    batch_by: dict[str, Any] | None = None
    batch_group: dict[str, Any] | None = None
    parent: str | None = None
    children: list[str] = field(default_factory=list)
    executed_by: str | None = None
    run_at: float | None = None
    start_at: float | None = None
    ends_at: float | None = None
    step_seconds: float = 0.0
    failure: tuple[int, str] | None = None
    abort_requested_at: float | None = None
    abort_done_at: float | None = None
    start_time: float | None = None
    end_time: float | None = None
    outputs: dict[str, Any] = field(default_factory=dict)
    logs: dict[str, str] = field(default_factory=dict)
    warnings: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_parent(self) -> bool:
        """A batch task that was run (its work is done by its children)."""
        return self.batch and bool(self.children)

    # -- the jobs -------------------------------------------------------------------------------

    def jobs(self, now: float) -> list[dict[str, Any]]:
        """The app's steps that have started by ``now`` (or by the task's end), each with its
        ``status``, ``start`` and ``end`` (None while running) and log ``lines``."""
        if self.start_at is None or self.is_parent:
            return []
        stop = min(now, self.end_time) if self.end_time is not None else now
        if self.abort_requested_at is not None:
            stop = min(stop, self.abort_requested_at)
        found = []
        for index, name in enumerate(self.app.steps):
            begin = self.start_at + index * self.step_seconds
            if begin > stop or (self.ends_at is not None and begin >= self.ends_at):
                break
            finish = min(begin + self.step_seconds, self.ends_at or begin + self.step_seconds)
            failure = self.failure if self.failure is not None and self.failure[0] == index else None
            lines = [f"{iso(begin)} [{name}] {self.app.name}:{name} running"]
            end: float | None = None
            if failure is not None and stop >= finish:
                status, end, lines = FAILED, finish, [*lines, f"{iso(finish)} [{name}] {failure[1]}"]
            elif stop >= finish:
                status, end = COMPLETED, finish
            elif self.status in (ABORTED, ABORTING):
                status, end = ABORTED, (self.abort_done_at if self.status == ABORTED else None)
            else:
                status = RUNNING
            found.append({"name": name, "status": status, "start": begin, "end": end, "lines": lines})
        return found

    # -- views ----------------------------------------------------------------------------------

    def execution_status(self, now: float, children: list[Task]) -> dict[str, Any]:
        """``execution_status`` (§1.2): progress of the steps, the message, the limit flags; a batch
        parent counts its children by status instead [I]."""
        body: dict[str, Any] = {
            "message": self.message(),
            "account_limit": False,
            "system_limit": False,
            "instance_init": self.status == QUEUED,
        }
        if self.is_parent:
            counts = {s: sum(1 for c in children if c.status == s) for s in (QUEUED, RUNNING, COMPLETED)}
            counts[FAILED] = sum(1 for c in children if c.status == FAILED)
            counts[ABORTED] = sum(1 for c in children if c.status in (ABORTED, ABORTING))
            body.update({k.lower(): v for k, v in counts.items()})
            body["steps_total"] = len(children)
            body["steps_completed"] = sum(1 for c in children if c.status in TERMINAL)
            return body
        jobs = self.jobs(now)
        body["steps_total"] = len(self.app.steps)
        body["steps_completed"] = sum(1 for j in jobs if j["status"] == COMPLETED)
        if self.run_at is not None:
            started = self.start_time if self.start_time is not None else None
            ended = self.end_time if self.end_time is not None else now
            body["queued_duration"] = int(((started or ended) - self.run_at) * 1000)
            body["running_duration"] = int((ended - started) * 1000) if started is not None else 0
            body["duration"] = int((ended - self.run_at) * 1000)
        return body

    def message(self) -> str | None:
        """``execution_status.message`` [I: the wording of each is a guess]."""
        if self.status == FAILED and self.failure is not None:
            return self.failure[1]
        return {
            QUEUED: "Task is queued.",
            RUNNING: "Task is running.",
            COMPLETED: "Task completed successfully.",
            ABORTING: "Task is being aborted.",
            ABORTED: "Task aborted by user.",
            FAILED: "One or more child tasks failed.",
        }.get(self.status)

    def resource(self, base: str, now: float, children: list[Task]) -> dict[str, Any]:
        """The task as ``GET /tasks/{id}`` shows it (``fields=_all``)."""
        body: dict[str, Any] = {
            "href": f"{base}/tasks/{self.id}",
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "status": self.status,
            "project": self.project,
            "app": f"{self.app.id}/{self.app.revision}",
            "type": "v2",
            "created_by": self.created_by,
            "executed_by": self.executed_by,
            "created_time": iso(self.created_time),
            "start_time": iso(self.start_time),
            "end_time": iso(self.end_time),
            "batch": self.batch,
            "batch_input": self.batch_input,
            "batch_by": self.batch_by,
            "batch_group": self.batch_group,
            "parent": self.parent,
            "execution_status": self.execution_status(now, children),
            "inputs": self.inputs,
            "outputs": self.outputs,
            "use_interruptible_instances": True,
            "execution_settings": {"instance_type": "c5.2xlarge;ebs-gp2;1024", "max_parallel_instances": 1},
        }
        if self.errors:  # only when there are some [I]; SBPY tests ``'errors' in task and task['errors']``
            body["errors"] = self.errors
        if self.warnings:
            body["warnings"] = self.warnings
        if self.status in TERMINAL and self.run_at is not None:
            seconds = (self.end_time or now) - (self.start_time or self.run_at)
            amount = f"{0.01 + seconds * 0.0005:.2f}"
            body["price"] = {"currency": "USD", "amount": amount, "breakdown": {"computation": amount}}
        return body

    def execution_details(self, base: str, now: float) -> dict[str, Any]:
        """``GET /tasks/{id}/execution_details``: the jobs, a FAILED one on a failed task; each ended
        job links its log as ``{base}/files/<id>/download_info`` (SBPY finds the file id in the URL)."""
        jobs = []
        for job in self.jobs(now):
            log = self.logs.get(job["name"])
            jobs.append(
                {
                    "name": job["name"],
                    "status": job["status"],
                    "start_time": iso(job["start"]),
                    "end_time": iso(job["end"]),
                    "command_line": f"/opt/{self.app.name}/{job['name']} --task {self.id}",
                    "retried": False,
                    "instance": {"id": f"i-0sim{self.id[:8]}", "type": "c5.2xlarge", "provider": "AWS"},
                    "docker": {"checksum": f"sha256:{self.id.replace('-', '')}"},
                    "logs": {"job.err.log": f"{base}/files/{log}/download_info"} if log else {},
                }
            )
        return {
            "href": f"{base}/tasks/{self.id}/execution_details",
            "start_time": iso(self.start_time),
            "end_time": iso(self.end_time),
            "status": self.status,
            "message": self.message(),
            "jobs": jobs,
        }
