"""JobStateTrigger: waits in the triggerer until a TIS job ends, without holding a worker slot."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.events import EVENT_STATUSES
from airflow_provider_tis.core.state import Outcome
from airflow_provider_tis.hooks.defaults import FAILED_SETTLE_SECONDS
from airflow_provider_tis.hooks.models import JobState
from airflow_provider_tis.hooks.outcome import (
    failure_message,
    job_outcome,
    job_summary,
)
from airflow_provider_tis.hooks.tis import AsyncTisClient, TisHook
from airflow_provider_tis.hooks.tis_capacity import CAPACITY_KEY, capacity_fingerprint, capacity_of
from airflow_provider_tis.triggers.base import JobPollingTrigger

__all__ = ["EVENT_STATUSES", "JobStateTrigger", "TisCapacityTrigger"]  # EVENT_STATUSES lived here

if TYPE_CHECKING:
    from airflow_provider_tis.core.coalesce import Lister
    from airflow_provider_tis.hooks.models import Job
    from airflow_provider_tis.version_compat import TriggerEvent


class JobStateTrigger(JobPollingTrigger):
    """Poll a TIS job until it ends or the deadline passes; yields exactly one event.

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

    service = "TIS"
    conn_param = "tis_conn_id"
    # the path earlier versions stored with deferred tasks: it stays valid (a re-export module)
    classpath = "airflow_provider_tis.triggers.job_state.JobStateTrigger"

    def __init__(
        self,
        job_id: str,
        tis_conn_id: str,
        poll_interval: float,
        end_time: float,
        failed_settle_seconds: float = FAILED_SETTLE_SECONDS,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__(job_id, tis_conn_id, poll_interval, end_time, cancel_on_kill)
        self.failed_settle_seconds = float(failed_settle_seconds)
        self._logged = 0  # step messages logged so far in this run
        self._said = ""  # the queue position or state last logged (logged again only when it changes)

    @property
    def tis_conn_id(self) -> str:
        return self.conn_id

    def arguments(self) -> dict[str, Any]:
        return {**super().arguments(), "failed_settle_seconds": self.failed_settle_seconds}

    def hook(self) -> TisHook:
        return TisHook(self.conn_id)

    def lister(self) -> Lister:
        return AsyncTisClient.job_fingerprints

    async def look(self, client: AsyncTisClient) -> tuple[TriggerEvent | None, str]:
        job = await client.get_job(self.job_id)
        self._log_progress(job)
        if job_outcome(job) is Outcome.FAILED and job.state is JobState.FAILED:
            await asyncio.sleep(self.failed_settle_seconds)  # it may be a cancel settling
            job = await client.get_job(self.job_id)
        self.seen = job.fingerprint
        outcome = job_outcome(job)
        if outcome is Outcome.SUCCESS:
            return self.event("success", job=job_summary(job)), job.state.name
        if outcome is Outcome.FAILED:
            return self.event("failed", message=failure_message(job), state=job.state.name), job.state.name
        return None, job.state.name

    async def cancel(self, client: AsyncTisClient) -> str:
        return (await client.cancel_job(self.job_id)).state.name

    def _log_progress(self, job: Job) -> None:
        """Log step messages not logged yet in this run."""
        messages = [(step.name, m.message) for step in job.steps for m in step.messages]
        for step, message in messages[self._logged :]:
            self.log.info("TIS job %s, %s: %s", self.job_id, step, message)
        said = f"position {job.position_in_queue}" if job.state is JobState.WAITING else job.state.name
        if said != self._said and job.state is JobState.WAITING:
            self.log.info("TIS job %s is waiting in the queue (%s).", self.job_id, said)
        self._said = said
        self._logged = max(self._logged, len(messages))


class TisCapacityTrigger(JobPollingTrigger):
    """Wait in the triggerer until TIS can take the job named ``job_name``: the server is out of
    maintenance and a job slot is free, or a job of an earlier try with that name can be reused.

    Fires ``{"status": "success", "job_id": <job name>, "reuse": <job id or None>}`` once, or ``timeout`` /
    ``error``. The submit task then checks again in its worker before it uploads: another client may
    take the slot meanwhile.

    :param job_name: the name the job is (or will be) submitted under.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param max_active_jobs: the user's limit of queued and running jobs.
    :param poll_interval: seconds between looks.
    :param end_time: absolute deadline (epoch seconds).
    """

    service = "TIS"
    conn_param = "tis_conn_id"

    def __init__(
        self, job_name: str, tis_conn_id: str, max_active_jobs: int, poll_interval: float, end_time: float
    ) -> None:
        super().__init__(job_name, tis_conn_id, poll_interval, end_time)
        self.max_active_jobs = int(max_active_jobs)
        self._said = ""

    def arguments(self) -> dict[str, Any]:
        return {
            "job_name": self.job_id,
            "tis_conn_id": self.conn_id,
            "max_active_jobs": self.max_active_jobs,
            "poll_interval": self.poll_interval,
            "end_time": self.end_time,
        }

    def hook(self) -> TisHook:
        return TisHook(self.conn_id)

    def lister(self) -> Lister:
        return AsyncTisClient.capacity_fingerprints

    def watch_key(self) -> str:
        return CAPACITY_KEY

    async def look(self, client: AsyncTisClient) -> tuple[TriggerEvent | None, str]:
        server = await client.get_server()
        if server.maintenance:
            self.seen = capacity_fingerprint(True)
            said = f"the server is in maintenance ({server.maintenance_message or 'no message'})"
        else:
            jobs = await client.list_jobs()
            self.seen = capacity_fingerprint(False, jobs)
            capacity = capacity_of(jobs, self.job_id, self.max_active_jobs)
            if capacity.ready:
                reuse = capacity.reusable.id if capacity.reusable else None
                return self.event("success", reuse=reuse), "ready"
            said = capacity.describe()
        if said != self._said:
            self.log.info("Waiting to submit TIS job %s: %s.", self.job_id, said)
            self._said = said
        return None, said

    async def cancel(self, client: AsyncTisClient) -> str:
        return "not submitted"  # nothing was submitted while this waited
