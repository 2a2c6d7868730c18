"""Whether TIS can take a job now: one rule for the submit task, in a worker and in the triggerer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_tis.hooks.models import JobState

if TYPE_CHECKING:
    from collections.abc import Iterable

    from airflow_provider_tis.hooks.models import Job

#: Reusing a job from an earlier try is right unless that job can no longer give results.
NOT_REUSABLE = (JobState.FAILED, JobState.CANCELED, JobState.DEAD, JobState.RETIRED, JobState.FAIL_NOTIFIED)


@dataclass(frozen=True)
class Capacity:
    """What the job list says about submitting the job named ``job_name``.

    :param reusable: a job of an earlier try with that name that can still give results (reuse it).
    :param active: the user's queued and running jobs.
    :param limit: how many the server allows at once (the connection's ``max_active_jobs``).
    """

    reusable: Job | None
    active: int
    limit: int

    @property
    def ready(self) -> bool:
        """A job to reuse, or a free slot for a new one."""
        return self.reusable is not None or self.active < self.limit

    def describe(self) -> str:
        return f"{self.active} of your jobs are queued or running (limit {self.limit})"


#: The key under which the job list's capacity fingerprint is read by the submits waiting together.
CAPACITY_KEY = "capacity"


def capacity_fingerprint(maintenance: bool, jobs: Iterable[Job] = ()) -> tuple[bool, tuple[str, ...]]:
    """What a waiting submit would notice: maintenance, or which of the user's jobs are active (a job that
    ends frees a slot; a new one takes it). The job list is blocked in maintenance, so it is not read then."""
    return maintenance, tuple(sorted(job.id for job in jobs if job.state.is_active))


def capacity_of(jobs: Iterable[Job], job_name: str, limit: int) -> Capacity:
    """Read the job list (newest first): the newest reusable job named ``job_name``, and the active count."""
    reusable: Job | None = None
    active = 0
    for job in jobs:
        if reusable is None and job.name == job_name and job.state not in NOT_REUSABLE:
            reusable = job
        active += job.state.is_active
    return Capacity(reusable, active, limit)
