"""JobStateTrigger: waits in the triggerer until a TIS job ends, without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import (
    TisConnectionError,
    TisError,
    TisMaintenanceError,
    TisNotFoundError,
)
from airflow_provider_tis.hooks.models import JobState
from airflow_provider_tis.hooks.outcome import (
    FAILED_SETTLE_SECONDS,
    Outcome,
    deleted_message,
    failure_message,
    job_outcome,
    job_summary,
)
from airflow_provider_tis.hooks.tis import TisHook
from airflow_provider_tis.version_compat import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from airflow_provider_tis.hooks.models import Job

#: Event statuses a waiting task must handle; anything else is refused.
EVENT_STATUSES = ("success", "failed", "timeout", "error")


class JobStateTrigger(BaseTrigger):
    """Poll a job until it ends or the deadline passes; yields exactly one event.

    Events are ``{"status": "success", "job_id", "job": <summary>}``, ``{"status": "failed", "job_id",
    "message", "state": <JobState name, absent for a deleted job>}`` and ``{"status": "timeout" | "error",
    "job_id", "message"}``.

    :param job_id: the TIS job id.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param poll_interval: seconds between polls.
    :param end_time: absolute deadline (epoch seconds); at that point a ``timeout`` event is sent.
    :param failed_settle_seconds: how long to wait before re-reading a FAILED job once.
    :param cancel_on_kill: cancel the remote job when a user kills the task (Airflow >= 3.3).
    """

    def __init__(
        self,
        job_id: str,
        tis_conn_id: str,
        poll_interval: float,
        end_time: float,
        failed_settle_seconds: float = FAILED_SETTLE_SECONDS,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.tis_conn_id = tis_conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time)
        self.failed_settle_seconds = float(failed_settle_seconds)
        self.cancel_on_kill = bool(cancel_on_kill)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        return (
            f"{type(self).__module__}.{type(self).__qualname__}",
            {
                "job_id": self.job_id,
                "tis_conn_id": self.tis_conn_id,
                "poll_interval": self.poll_interval,
                "end_time": self.end_time,
                "failed_settle_seconds": self.failed_settle_seconds,
                "cancel_on_kill": self.cancel_on_kill,
            },
        )

    def _event(self, status: str, **payload: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "job_id": self.job_id, **payload})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        logged = 0
        try:
            async with await TisHook(self.tis_conn_id).async_client() as client:
                while True:
                    try:
                        job = await client.get_job(self.job_id)
                    except (TisMaintenanceError, TisConnectionError) as exc:  # passing troubles
                        if time.time() >= self.end_time:
                            raise
                        self.log.warning("Could not read TIS job %s (%s); will look again.", self.job_id, exc)
                        await asyncio.sleep(self.poll_interval)
                        continue
                    logged = self._log_progress(job, logged)
                    outcome = job_outcome(job)
                    if outcome is Outcome.FAILED and job.state is JobState.FAILED:
                        await asyncio.sleep(self.failed_settle_seconds)  # it may be a cancel settling
                        job = await client.get_job(self.job_id)
                        outcome = job_outcome(job)
                    if outcome is Outcome.SUCCESS:
                        yield self._event("success", job=job_summary(job))
                        return
                    if outcome is Outcome.FAILED:
                        yield self._event("failed", message=failure_message(job), state=job.state.name)
                        return
                    remaining = self.end_time - time.time()
                    if remaining <= 0:
                        yield self._event(
                            "timeout",
                            message=f"Gave up waiting for TIS job {self.job_id} (still {job.state.name}).",
                        )
                        return
                    await asyncio.sleep(min(self.poll_interval, remaining))
        except TisNotFoundError:
            yield self._event("failed", message=deleted_message(self.job_id))
        except TisError as exc:
            yield self._event("error", message=str(exc))

    def _log_progress(self, job: Job, logged: int) -> int:
        """Log step messages not logged yet in this run; returns how many are logged now."""
        messages = [(step.name, m.message) for step in job.steps for m in step.messages]
        for step, message in messages[logged:]:
            self.log.info("TIS job %s, %s: %s", self.job_id, step, message)
        if job.state is JobState.WAITING:
            self.log.info(
                "TIS job %s is waiting in the queue (position %d).", self.job_id, job.position_in_queue
            )
        return max(logged, len(messages))

    async def on_kill(self) -> None:
        """Called by Airflow >= 3.3 when a user kills the deferred task: cancel the job if asked to."""
        if not self.cancel_on_kill:
            return
        try:
            async with await TisHook(self.tis_conn_id).async_client() as client:
                job: Job = await asyncio.wait_for(client.cancel_job(self.job_id), timeout=60)
            self.log.info("Canceled TIS job %s (now %s).", self.job_id, job.state.name)
        except Exception as exc:  # best effort: the task is being killed anyway
            self.log.warning("Could not cancel TIS job %s: %s", self.job_id, exc)
