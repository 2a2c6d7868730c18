"""The simulated world's table: projects and their samples, moving through both status axes (§3.3)
on a shiftable clock. Every method is thread-safe (one re-entrant lock, shared with the uploads).

Analysis: ``scheduled -> running -> running -> succeeded | failed qc`` (``failed`` one stage early),
one stage each ([I]: the facts give the end statuses only). Archive: ``available -> archived`` (by
:meth:`SampleTable.archive` or ``archive_after``), then ``restore_requested -> restore_accepted ->
restore_started -> restored`` (§3.3), and ``archived`` again after ``restore_period``.
"""

from __future__ import annotations

import re
import threading
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.gencove import files
from airflow_provider_tis.testing.gencove.errors import ApiError, invalid
from airflow_provider_tis.testing.gencove.records import (
    ARCHIVED,
    AVAILABLE,
    FAILED,
    FAILED_QC,
    RESTORE_STEPS,
    RESTORED,
    SUCCEEDED,
    Capability,
    Planned,
    Project,
    RestoreGroup,
    Sample,
    Status,
    new_id,
)
from airflow_provider_tis.testing.gencove.uploads import UploadTable

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing.gencove.config import GencoveConfig

ANALYSIS, ARCHIVE = "analysis", "archive"
#: Notes of the end statuses [I].
NOTES = {
    SUCCEEDED: "",
    FAILED_QC: "Sample failed quality control: effective coverage below threshold",
    FAILED: "Analysis failed: pipeline error during imputation",
}


class SampleTable:
    """Projects, samples, restore groups and uploads of one organisation.

    :param config: timings and limits.
    :param workdir: where sample files and uploads are written.
    """

    def __init__(self, config: GencoveConfig, workdir: Path) -> None:
        self.config = config
        self.workdir = workdir
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self.organization = new_id()
        self.capabilities: dict[str, Capability] = {}
        self.projects: dict[str, Project] = {}
        self.jobs: dict[str, Sample] = {}  # the samples (SimulatorBase calls its job table's rows "jobs")
        self.restore_groups: dict[str, RestoreGroup] = {}
        self.uploads = UploadTable(self, workdir / "uploads")

    def now(self) -> float:
        return time.time() + self.clock_offset

    # -- projects -----------------------------------------------------------------------------

    def add_capability(self, name: str, key: str, file_types: tuple[str, ...]) -> Capability:
        with self.lock:
            capability = Capability(new_id(), name, key, file_types)
            self.capabilities[capability.id] = capability
            return capability

    def add_project(self, name: str, capability: Capability, description: str = "") -> Project:
        with self.lock:
            project = Project(new_id(), name, description, self.now(), capability, self.organization)
            self.projects[project.id] = project
            return project

    def in_project(self, project_id: str) -> list[Sample]:
        with self.lock:
            self.advance()
            return [s for s in self.jobs.values() if s.project_id == project_id]

    # -- samples ------------------------------------------------------------------------------

    def outcome_of(self, client_id: str) -> str:
        """The end status a client id plans (the test knobs ``qc_fail_pattern``, ``fail_pattern``)."""
        if re.search(self.config.qc_fail_pattern, client_id):
            return FAILED_QC
        if re.search(self.config.fail_pattern, client_id):
            return FAILED
        return SUCCEEDED

    def create_sample(
        self,
        project: Project,
        client_id: str,
        inputs: dict[str, Path],
        *,
        start: float | None = None,
        metadata: Any = None,
        outcome: str | None = None,
    ) -> Sample:
        """A sample assigned at ``start`` (default: now), with its statuses planned from then on."""
        with self.lock:
            t0 = self.now() if start is None else start
            stage = self.config.stage_seconds
            sample = Sample(new_id(), project.id, client_id, t0, outcome or self.outcome_of(client_id))
            sample.metadata, sample.inputs = metadata, dict(inputs)
            sample.history.append(Status("scheduled", t0))
            sample.archive_history.append(Status(AVAILABLE, t0))
            sample.pending = [
                Planned(t0 + stage, ANALYSIS, "running", "alignment"),
                Planned(t0 + 2 * stage, ANALYSIS, "running", "imputation"),
            ]
            end = t0 + (2 if sample.outcome == FAILED else 3) * stage
            if sample.outcome == FAILED:
                sample.pending.pop()  # it fails while imputing
            sample.pending.append(Planned(end, ANALYSIS, sample.outcome, NOTES.get(sample.outcome, "")))
            sample.files = files.input_files(sample, self._folder(sample), self.organization)
            self.jobs[sample.id] = sample
            self.advance()
            return sample

    def _folder(self, sample: Sample) -> Path:
        return self.workdir / "samples" / sample.id

    # -- the clock ----------------------------------------------------------------------------

    def advance(self) -> None:
        """Apply every planned status whose moment has come (uploads first: they feed samples)."""
        with self.lock:
            now = self.now()
            self.uploads.advance(now)
            for sample in self.jobs.values():
                while sample.pending and sample.pending[0].moment <= now:
                    self._apply(sample, sample.pending.pop(0))

    def _plan(self, sample: Sample, *planned: Planned) -> None:
        sample.pending = sorted([*sample.pending, *planned], key=lambda p: p.moment)

    def _apply(self, sample: Sample, step: Planned) -> None:
        status = Status(step.status, step.moment, step.note)
        if step.axis == ANALYSIS:
            sample.history.append(status)
            if step.status in NOTES:
                self._finish(sample, step.moment)
            return
        if step.status == RESTORED and self.config.restore_period is not None:
            status.transition_cutoff = step.moment + self.config.restore_period
            self._plan(sample, Planned(status.transition_cutoff, ARCHIVE, ARCHIVED))
        sample.archive_history.append(status)

    def _finish(self, sample: Sample, moment: float) -> None:
        sample.finished_at = moment
        if sample.status == SUCCEEDED:
            project = self.projects[sample.project_id]
            sample.files += files.deliverable_files(
                sample,
                self._folder(sample),
                self.organization,
                project.capability.file_types,
                self.config.bam_size,
            )
        if self.config.archive_after is not None:
            cutoff = moment + self.config.archive_after
            sample.archive_history[-1].transition_cutoff = cutoff
            self._plan(sample, Planned(cutoff, ARCHIVE, ARCHIVED))

    # -- actions ------------------------------------------------------------------------------

    def assign(self, project: Project, rows: list[Any], metadata: Any = None) -> list[dict[str, Any]]:
        """Create a sample from each sample sheet row (``POST /project-samples/{id}``, §3.3); the rows
        answered (each with its new ``sample`` id). All or nothing: any bad row is a 400 listing one
        error object per row, DRF's shape for a list of nested serializers."""
        with self.lock:
            self.advance()
            if not rows:
                raise invalid("uploads", "This list may not be empty.")
            checked = [self.uploads.check_row(row) for row in rows]
            if any(errors for errors, _ in checked):
                raise ApiError(400, {"uploads": [errors for errors, _ in checked]})
            answered = []
            for _, (client_id, uploads) in checked:
                inputs = {f"fastq-{read}": upload.path for read, upload in uploads.items() if upload.path}
                sample = self.create_sample(project, client_id, inputs, metadata=metadata)
                for upload in uploads.values():
                    upload.sample_id = sample.id
                fastq = {read: {"upload": upload.id} for read, upload in uploads.items()}
                answered.append({"client_id": client_id, "fastq": fastq, "sample": sample.id})
            return answered

    def cancel(self, project: Project, sample_ids: list[str]) -> None:
        """Cancel samples still being analysed; 400 if one is not the project's or has ended [I]."""
        with self.lock:
            self.advance()
            samples = self._of_project(project, sample_ids)
            ended = [s.id for s in samples if s.finished]
            if ended:
                raise invalid(
                    "sample_ids", *(f"Sample {i} has finished and cannot be canceled." for i in ended)
                )
            now = self.now()
            for sample in samples:
                sample.pending = [p for p in sample.pending if p.axis != ANALYSIS]
                sample.history.append(Status(self.config.cancel_status, now, "Canceled by user"))
                sample.finished_at = now  # only the inputs stay: nothing was delivered

    def restore(self, project: Project, sample_ids: list[str]) -> RestoreGroup:
        """Start restoring archived samples (all the project's when ``sample_ids`` is empty, §3.3)."""
        with self.lock:
            self.advance()
            if sample_ids:
                samples = self._of_project(project, sample_ids)
            else:
                samples = [s for s in self.jobs.values() if s.project_id == project.id]
                samples = [s for s in samples if s.archive_status == ARCHIVED]
            wrong = [s.id for s in samples if s.archive_status != ARCHIVED]
            if wrong:  # [I] the wording; the rule follows from the restore lifecycle
                raise invalid("sample_ids", *(f"Sample {i} is not archived." for i in wrong))
            if not samples:
                raise invalid("sample_ids", "There are no archived samples to restore.")  # [I]
            now, step = self.now(), self.config.restore_stage_seconds
            group = RestoreGroup(new_id(), project.id, [s.id for s in samples], now)
            for sample in samples:
                sample.pending = [p for p in sample.pending if p.axis != ARCHIVE]
                sample.archive_history.append(Status(RESTORE_STEPS[0], now))
                self._plan(
                    sample,
                    *(Planned(now + i * step, ARCHIVE, s) for i, s in enumerate(RESTORE_STEPS[1:], 1)),
                )
            self.restore_groups[group.id] = group
            self.advance()
            return group

    def archive(self, sample_id: str) -> Sample:
        """Archive a finished sample's files now (a test knob; ``archive_after`` does it on the clock)."""
        with self.lock:
            self.advance()
            sample = self.jobs[sample_id]
            if not sample.finished:
                raise ValueError(f"sample {sample_id} is {sample.status}: only finished samples are archived")
            sample.pending = [p for p in sample.pending if p.axis != ARCHIVE]
            sample.archive_history[-1].transition_cutoff = None
            sample.archive_history.append(Status(ARCHIVED, self.now()))
            return sample

    def _of_project(self, project: Project, sample_ids: list[str]) -> list[Sample]:
        unknown = [i for i in sample_ids if i not in self.jobs or self.jobs[i].project_id != project.id]
        if unknown:  # [I] DRF's wording for a bad primary key
            raise invalid("sample_ids", *(f'Invalid pk "{i}" - object does not exist.' for i in unknown))
        return [self.jobs[i] for i in dict.fromkeys(sample_ids)]
