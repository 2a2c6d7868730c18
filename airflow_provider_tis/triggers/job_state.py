"""JobStateTrigger: waits in the triggerer until a TIS job ends, without holding a worker slot."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import TisError, TisNotFoundError, is_temporary, scrub
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

    from airflow_provider_tis.hooks.async_client import AsyncTisClient
    from airflow_provider_tis.hooks.models import Job

#: Event statuses a waiting task must handle; anything else is refused.
EVENT_STATUSES = ("success", "failed", "timeout", "error")
_MAX_MESSAGE_CHARS = 500


def _scrubbed(value: Any, token: str | None) -> Any:
    """``value`` (an event payload) with the token and URLs' query strings removed from every string."""
    if isinstance(value, str):
        return scrub(value, token)
    if isinstance(value, dict):
        return {key: _scrubbed(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, token) for item in value]
    return value


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
        hook = TisHook(self.tis_conn_id)
        try:
            async with await hook.async_client() as client:
                event = await self._wait(client)
        except TisNotFoundError:
            event = self._event("failed", message=deleted_message(self.job_id))
        except TisError as exc:
            event = self._event("error", message=str(exc))
        except Exception as exc:  # never end without an event: the task would wait for one forever
            self.log.exception("JobStateTrigger for TIS job %s failed unexpectedly.", self.job_id)
            said = str(exc)[:_MAX_MESSAGE_CHARS]
            event = self._event(
                "error", message=f"Waiting for TIS job {self.job_id} failed: {type(exc).__name__}: {said}"
            )
        # The event is stored in the database and logged by a worker that may not know the token yet.
        settings = hook.__dict__.get("settings")  # loaded by async_client(), unless that failed
        yield TriggerEvent(_scrubbed(event.payload, settings.token if settings else None))

    async def _wait(self, client: AsyncTisClient) -> TriggerEvent:
        logged = 0
        trouble: str | None = None  # why the server could not be read, since it last could
        while True:
            job, why = await self._poll(client)
            if job is not None:
                logged = self._log_progress(job, logged)
                if job_outcome(job) is Outcome.FAILED and job.state is JobState.FAILED:
                    await asyncio.sleep(self.failed_settle_seconds)  # it may be a cancel settling
                    job, why = await self._poll(client)
            trouble = None if job is not None else why or trouble
            if job is not None:
                outcome = job_outcome(job)
                if outcome is Outcome.SUCCESS:
                    return self._event("success", job=job_summary(job))
                if outcome is Outcome.FAILED:
                    return self._event("failed", message=failure_message(job), state=job.state.name)
            remaining = self.end_time - time.time()
            if remaining <= 0:
                why = (
                    f"still {job.state.name}"
                    if job is not None
                    else f"the server could not be read: {trouble or 'no answer in time'}"
                )
                return self._event("timeout", message=f"Gave up waiting for TIS job {self.job_id} ({why}).")
            await asyncio.sleep(min(self.poll_interval, remaining))

    async def _poll(self, client: AsyncTisClient) -> tuple[Job | None, str | None]:
        """Read the job within the time left (at least one poll interval, so a trigger that starts late
        still looks once). A temporary trouble gives None and why; a read cut short by the deadline gives
        None, None (the trouble before it says more); anything else raises."""
        seconds = max(self.end_time - time.time(), self.poll_interval)
        try:
            return await asyncio.wait_for(client.get_job(self.job_id), seconds), None
        except asyncio.TimeoutError:
            trouble, why = f"no answer within {seconds:.1f} s", None
        except TisError as exc:
            if not is_temporary(exc):
                raise
            trouble = why = str(exc)
        self.log.warning("Could not read TIS job %s (%s); will look again.", self.job_id, trouble)
        return None, why

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
