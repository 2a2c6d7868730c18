"""The one place that decides what a job's state means for a task waiting on it."""

from __future__ import annotations

from typing import Any

from airflow_provider_tis.core.state import Outcome, outcome_of
from airflow_provider_tis.hooks.models import Job, JobState
from airflow_provider_tis.hooks.tis_errors import TisError


class TisJobFailedError(TisError):
    """The imputation job ended without results to download (failed, canceled, dead, retired, deleted)."""


def job_outcome(job: Job) -> Outcome:
    """WAIT while queued or running, SUCCESS for SUCCESS and SUCCESS_NOTIFIED, FAILED for everything else."""
    return outcome_of(job.state)


def failure_message(job: Job) -> str:
    """Why the job is not usable, with the server's ERROR messages, so nobody has to open TIS to find out."""
    state = job.state
    text = f"TIS job {job.id} ended in state {state.name} ({state.value})."
    if state is JobState.DEAD:
        text += (
            " The server restarted while the job was queued or running. Restart it with "
            f"TisHook().restart_job({job.id!r}) (or the Restart button on the server) and wait again."
        )
    elif state is JobState.RETIRED:
        when = f" on {job.deleted_on:%Y-%m-%d %H:%M} UTC" if job.deleted_on else ""
        text += f" Its results were retired{when} and deleted from the server; submit the job again."
    elif state is JobState.CANCELED:
        text += " It was canceled."
    errors = job.error_messages()
    if errors:
        text += " Server messages: " + " | ".join(errors)
    return text


def deleted_message(job_id: str) -> str:
    return f"TIS job {job_id} does not exist any more (deleted, or never existed for this user)."


def job_summary(job: Job) -> dict[str, Any]:
    """JSON-safe summary for XCom: state, times and output files."""

    def iso(value: Any) -> str | None:
        return value.isoformat() if value else None

    return {
        "id": job.id,
        "name": job.name,
        "state": job.state.name,
        "state_code": job.state.value,
        "submitted_on": iso(job.submitted_on),
        "start_time": iso(job.start_time),
        "end_time": iso(job.end_time),
        "deleted_on": iso(job.deleted_on),
        "files": [{"name": f.name, "size": f.size_text, "downloads_left": f.count} for f in job.files],
    }
