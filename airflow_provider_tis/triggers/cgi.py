"""CgiJobTrigger: waits in the triggerer until a CGI job is Done or Error, without holding a worker slot."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.state import Outcome, outcome_of
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.triggers.base import JobPollingTrigger

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.cgi import AsyncCgiClient
    from airflow_provider_tis.version_compat import TriggerEvent

#: How many of a failed job's last log lines its failure message shows.
LOG_TAIL_LINES = 15


def error_message(job_id: str, logs: list[str]) -> str:
    """Why a CGI job failed: its status and the tail of its logs, so nobody has to open CGI to find out."""
    tail = " | ".join(line.strip() for line in logs[-LOG_TAIL_LINES:] if line.strip())
    return f"CGI job {job_id} ended in Error." + (
        f" Last log lines: {tail}" if tail else " It wrote no logs."
    )


class CgiJobTrigger(JobPollingTrigger):
    """Poll a CGI job until it is Done or Error, or the deadline passes; yields exactly one event.

    Events are ``{"status": "success", "job_id", "job": <summary>}``, ``{"status": "failed", "job_id",
    "message"}`` (with the tail of the logs) and ``{"status": "timeout" | "error", "job_id", "message"}``.

    :param job_id: the CGI job id.
    :param cgi_conn_id: Airflow connection id of type ``cgi``.
    :param poll_interval: seconds between polls.
    :param end_time: absolute deadline (epoch seconds); then a ``timeout`` event is sent.
    :param cancel_on_kill: delete the job when a user kills the task (Airflow >= 3.3; CGI has no cancel).
    """

    service = "CGI"
    conn_param = "cgi_conn_id"

    def __init__(
        self,
        job_id: str,
        cgi_conn_id: str,
        poll_interval: float,
        end_time: float,
        cancel_on_kill: bool = False,
    ) -> None:
        super().__init__(job_id, cgi_conn_id, poll_interval, end_time, cancel_on_kill)
        self._logged = 0

    def hook(self) -> CgiHook:
        return CgiHook(self.conn_id)

    async def look(self, client: AsyncCgiClient) -> tuple[TriggerEvent | None, str]:
        job = await client.get_job(self.job_id)
        logs = await client.get_logs(self.job_id)
        for line in logs[self._logged :]:
            self.log.info("CGI job %s: %s", self.job_id, line)
        self._logged = max(self._logged, len(logs))
        outcome = outcome_of(job.status)
        if outcome is Outcome.SUCCESS:
            return self.event("success", job=job.summary()), job.status.value
        if outcome is Outcome.FAILED:
            return self.event("failed", message=error_message(self.job_id, logs)), job.status.value
        return None, job.status.value

    async def cancel(self, client: AsyncCgiClient) -> str:
        await client.delete_job(self.job_id)  # [I] whether this stops a running job is not documented
        return "deleted"
