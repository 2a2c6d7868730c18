"""The simulated CGI job table: accounts' jobs going Running -> Done | Error on a shiftable clock."""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING

from airflow_provider_tis.testing.cgi import results
from airflow_provider_tis.testing.cgi.formats import CANCER_TYPES, KINDS, InputError, ParsedInput, parse_input

if TYPE_CHECKING:
    from pathlib import Path

RUNNING, DONE, ERROR = "Running", "Done", "Error"
STATUSES = (RUNNING, DONE, ERROR)


@dataclass
class CgiConfig:
    """Timing and limits of the simulated service (seconds unless noted).

    :param run_seconds: time from submission to Done; the log lines are spread over it, and a bad input
        fails the job a fifth of the way in (so a client sees Running first).
    :param max_jobs: jobs an account may hold (any status) before submissions are refused; the service
        has such a quota (its size is unknown [I]).
    :param download_ranges: honour ``Range`` on downloads (206). Off by default: whether the service does
        is unknown [I], so a client must cope with a full 200 answer to a Range request.
    :param reject_unknown_cancer_type: refuse an unknown ``cancer_type`` with 400 at submission. Off by
        default [I]: the job is then accepted and goes to Error with a log line, the harder case.
    :param cancer_types: acronyms accepted (default: :data:`~.formats.CANCER_TYPES`).
    :param default_reference: ``reference`` when the form leaves it out (undocumented [I]).
    """

    run_seconds: float = 1.0
    max_jobs: int = 20
    download_ranges: bool = False
    reject_unknown_cancer_type: bool = False
    cancer_types: frozenset[str] = CANCER_TYPES
    default_reference: str = "hg19"


@dataclass
class CgiJob:
    """One submitted job.

    :param id: 20 hex characters, like the service's.
    :param user: the account's email.
    :param inputs: saved uploads by kind (``mutations``, ``cnas``, ``translocations``).
    :param steps: (moment, level, message) log entries; visible once the clock passes their moment.
    :param ends_at: when the job leaves Running; ``failed`` says whether for Error or Done.
    :param zip_path: the results zip, written when the job is first seen Done.
    :param members: the zip's member names.
    """

    id: str
    user: str
    title: str
    cancer_type: str
    reference: str
    dataset: str
    submitted_on: float
    inputs: dict[str, Path]
    folder: Path
    steps: list[tuple[float, str, str]] = field(default_factory=list)
    ends_at: float = 0.0
    failed: bool = False
    parsed: dict[str, ParsedInput] = field(default_factory=dict)
    zip_path: Path | None = None
    members: list[str] = field(default_factory=list)
    status: str = RUNNING

    def metadata(self) -> dict[str, str]:
        """``metadata`` of the status answer, with the fields seen on the real service [U]."""
        date = datetime.fromtimestamp(self.submitted_on, tz=timezone.utc)
        return {
            "id": self.id,
            "user": self.user,
            "title": self.title,
            "cancertype": self.cancer_type,
            "reference": self.reference,
            "dataset": self.dataset,
            "date": f"{date:%Y-%m-%d %H:%M:%S}",
        }


class CgiJobTable:
    """All jobs of the simulated service; every method is thread-safe.

    :param config: timings and limits.
    :param workdir: where each job's uploads and results go (one folder per job).
    """

    def __init__(self, config: CgiConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.jobs: dict[str, CgiJob] = {}
        self.lock = threading.RLock()
        self.clock_offset = 0.0

    def now(self) -> float:
        return time.time() + self.clock_offset

    # -- submission ---------------------------------------------------------------------------

    def new_folder(self) -> tuple[str, Path]:
        """A fresh job id and its (created) folder, before the upload is read into it."""
        with self.lock:
            while True:
                job_id = secrets.token_hex(10)
                if job_id not in self.jobs and not (self.workdir / job_id).exists():
                    break
            folder = self.workdir / job_id
            (folder / "input").mkdir(parents=True)
            return job_id, folder

    def count(self, user: str) -> int:
        with self.lock:
            return sum(1 for j in self.jobs.values() if j.user == user)

    def add(
        self,
        job_id: str,
        folder: Path,
        *,
        user: str,
        title: str,
        cancer_type: str,
        reference: str,
        inputs: dict[str, Path],
    ) -> CgiJob:
        """Create a Running job and plan its log; a bad input or cancer type plans an Error."""
        with self.lock:
            now = self.now()
            # The upload is stored as input.tsv, whatever its name [U: dataset "input.tsv"].
            job = CgiJob(job_id, user, title, cancer_type, reference, "input.tsv", now, inputs, folder)
            self._plan(job, now)
            self.jobs[job_id] = job
            return job

    def _plan(self, job: CgiJob, start: float) -> None:
        run = max(self.config.run_seconds, 0.0)
        kinds = [k for k in KINDS if k in job.inputs]
        problem: tuple[str, str] | None = None
        if job.cancer_type not in self.config.cancer_types:
            problem = (kinds[0], f"Unknown cancer type '{job.cancer_type}'")
        for kind in kinds:
            if problem:
                break
            try:
                job.parsed[kind] = parse_input(kind, job.inputs[kind])
            except InputError as exc:
                problem = (kind, str(exc))
        if problem is None:
            steps = results.plan_steps(kinds)
            for index, message in enumerate(steps, 1):
                job.steps.append((start + run * index / len(steps), "INFO", message))
            job.ends_at = start + run
            return
        kind, message = problem
        moment = start + run / 5
        job.steps.append((moment, "INFO", results.parse_step(kind)))
        job.steps.append((moment, "ERROR", message))
        job.steps.append((moment, "ERROR", "Analysis failed"))  # [I] the real error lines were never seen
        job.ends_at, job.failed = moment, True

    # -- lifecycle ----------------------------------------------------------------------------

    def advance(self) -> None:
        """Move every job to where the clock says it is; a job seen Done for the first time gets its zip."""
        with self.lock:
            now = self.now()
            for job in self.jobs.values():
                if job.status != RUNNING or now < job.ends_at:
                    continue
                if job.failed:
                    job.status = ERROR
                    continue
                job.zip_path = job.folder / "results.zip"
                job.members = results.write_results(
                    job.zip_path,
                    job.parsed,
                    cancer_type=job.cancer_type,
                    reference=job.reference,
                    title=job.title,
                )
                job.status = DONE

    def logs(self, job: CgiJob) -> list[str]:
        """The log lines visible now: the command line, then the steps whose moment has passed."""
        now = self.now()
        lines = [results.command_line(job.dataset, job.cancer_type, job.reference)]
        lines += [results.log_line(t, level, msg) for t, level, msg in job.steps if t <= now]
        return lines

    def owned(self, user: str) -> list[CgiJob]:
        """The account's jobs sorted by id: NOT submission order, so "the last one" means nothing."""
        with self.lock:
            return sorted((j for j in self.jobs.values() if j.user == user), key=lambda j: j.id)

    def remove(self, job_id: str) -> None:
        """Delete a job and its files (it answers 404 afterwards)."""
        with self.lock:
            job = self.jobs.pop(job_id)
        shutil.rmtree(job.folder, ignore_errors=True)
