"""SevenBridgesTaskTrigger: waits in the triggerer until a Seven Bridges task ends, without a worker slot.

The triggers of one connection in one triggerer poll together (:mod:`~airflow_provider_tis.core.coalesce`):
one ``POST /bulk/tasks/get`` per poll interval reads the status and progress of up to 100 of their tasks,
and a trigger reads its own task in full only when that changed. One token has 1,000 requests per 5
minutes for every DAG using it (§1.3): 150 waiting tasks cost 2 requests per interval, not 150.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.state import Outcome, outcome_of
from airflow_provider_tis.hooks.sevenbridges import (
    AsyncSevenBridgesClient,
    SevenBridgesHook,
    task_fingerprint,
)
from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus
from airflow_provider_tis.triggers.base import JobPollingTrigger

if TYPE_CHECKING:
    from airflow_provider_tis.core.coalesce import Lister
    from airflow_provider_tis.hooks.sevenbridges_models import SbgExecutionDetails, SbgTask
    from airflow_provider_tis.version_compat import TriggerEvent

#: How many failed jobs a failure message names.
MAX_FAILED_JOBS = 10


def progress_of(task: SbgTask) -> str:
    """``RUNNING, 2 of 3 steps`` (the steps only when the platform reports them)."""
    done, total = task.execution_status.steps_completed, task.execution_status.steps_total
    steps = f", {done} of {total} steps" if done is not None and total else ""
    return f"{task.status.value}{steps}"


def failure_message(task: SbgTask, details: SbgExecutionDetails | None) -> str:
    """Why a task ended FAILED or ABORTED: the platform's message and its failed jobs with their logs."""
    said = task.execution_status.message or (details.message if details else "") or "no message"
    name = f" ({task.name})" if task.name else ""
    text = f"Seven Bridges task {task.id}{name} ended {task.status.value}: {said}"
    if details is not None and details.failed_jobs:
        jobs = [
            f"{job.name}" + (f" (logs: {', '.join(sorted(job.logs))})" if job.logs else "")
            for job in details.failed_jobs[:MAX_FAILED_JOBS]
        ]
        more = len(details.failed_jobs) - MAX_FAILED_JOBS
        text += f". Failed jobs: {'; '.join(jobs)}" + (f" and {more} more" if more > 0 else "")
    return text + "."


def task_result(task: SbgTask) -> dict[str, Any]:
    """What a COMPLETED task gives downstream tasks: its summary with its ``outputs`` (JSON-safe)."""
    return {**task.summary(), "outputs": task.outputs, "batch": task.batch}


class SevenBridgesTaskTrigger(JobPollingTrigger):
    """Poll a Seven Bridges task until it is COMPLETED, FAILED or ABORTED, or the deadline passes; yields
    exactly one event.

    Events are ``{"status": "success", "job_id", "task": <summary with outputs>}``, ``{"status":
    "failed", "job_id", "message", "state"}`` (the message names the failed jobs) and ``{"status":
    "timeout" | "error", "job_id", "message"}``. Progress (``steps_completed`` of ``steps_total``) is
    logged when it changes.

    :param task_id: the Seven Bridges task id.
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    :param poll_interval: seconds between polls.
    :param end_time: absolute deadline (epoch seconds); then a ``timeout`` event is sent.
    :param cancel_on_kill: abort the task when a user kills the Airflow task (Airflow >= 3.3).
    """

    service = "Seven Bridges"
    conn_param = "sevenbridges_conn_id"

    def __init__(
        self,
        task_id: str,
        sevenbridges_conn_id: str,
        poll_interval: float,
        end_time: float,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__(task_id, sevenbridges_conn_id, poll_interval, end_time, cancel_on_kill)
        self._said = ""  # the progress last logged

    def arguments(self) -> dict[str, Any]:
        arguments = super().arguments()
        return {"task_id": arguments.pop("job_id"), **arguments}

    def hook(self) -> SevenBridgesHook:
        return SevenBridgesHook(self.conn_id)

    def lister(self) -> Lister:
        return AsyncSevenBridgesClient.task_fingerprints

    def gone_message(self) -> str:
        return (
            f"Seven Bridges task {self.job_id} does not exist any more (deleted, or the token's user may "
            "not see it)."
        )

    async def look(self, client: AsyncSevenBridgesClient) -> tuple[TriggerEvent | None, str]:
        task = await client.get_task(self.job_id)
        self.seen = task_fingerprint(task)
        said = progress_of(task)
        if said != self._said:
            self.log.info("Seven Bridges task %s is %s.", self.job_id, said)
            self._said = said
        outcome = outcome_of(task.status)
        if outcome is Outcome.SUCCESS:
            return self.event("success", task=task_result(task)), task.status.value
        if outcome is Outcome.FAILED:
            details = None
            if task.status is SevenBridgesTaskStatus.FAILED:
                details = await client.execution_details(self.job_id)
            message = failure_message(task, details)
            return self.event("failed", message=message, state=task.status.value), task.status.value
        return None, said

    async def cancel(self, client: AsyncSevenBridgesClient) -> str:
        return (await client.abort_task(self.job_id)).status.value
