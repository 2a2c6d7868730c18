"""The simulated job queue: lifecycle, pipeline steps, outputs and retention, on a shiftable clock."""

from __future__ import annotations

import hashlib
import html
import secrets
import shutil
import string
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.tis.outputs import md5_of, write_outputs
from airflow_provider_tis.testing.tis.vcf import VcfError, VcfSummary, inspect_vcf

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing.tis.profiles import Profile

DEAD, WAITING, RUNNING, EXPORTING, SUCCESS, FAILED, CANCELED, RETIRED = -1, 1, 2, 3, 4, 5, 6, 7
SUCCESS_NOTIFIED, FAIL_NOTIFIED, DELETED = 8, 9, 10
ACTIVE = (WAITING, RUNNING, EXPORTING)
OK, ERROR = 0, 1
STRAND_FLIP_ERROR = (
    "Error: More than 100 obvious strand flips have been detected. Please check strand. "
    "Imputation cannot be started!"
)


@dataclass
class SimConfig:
    """Timing and limits of the simulated server (seconds unless noted).

    :param run_seconds: time a job spends RUNNING (its three pipeline steps share it).
    :param export_seconds: time in EXPORTING.
    :param cancel_settle_seconds: a cancelled running job shows FAILED this long before CANCELED.
    :param threads: jobs running in parallel; the rest wait (Cloudgene ``threadsQueue``).
    :param max_active_jobs: per-user limit of WAITING + RUNNING + EXPORTING jobs.
    :param notification_after: after a job ends, state 8/9 and a deletion date (None: never).
    :param retire_after: after a job ends, RETIRED (7) and its files deleted (None: never).
    :param download_limit: downloads per output file.
    :param url_ttl: validity of a presigned storage URL.
    :param md5: also export ``chr_<N>.zip.md5``.
    :param strand_flips: quality control fails every job with the strand-flip error.
    :param min_samples: input validation needs at least this many samples.
    :param zip_padding: extra bytes stored in each ``chr_<N>.zip`` (for transfer benchmarks).
    :param keep_uploads: store uploaded files (False discards them, so transfer benchmarks measure the
        client rather than the disk; input validation then finds no files).
    :param extra_output_names: more output files listed under exactly these names, e.g. ``../x`` to
        play a malicious or broken server.
    :param local_workspace: ``/share/results`` sends the file itself (200, chunked, no Content-Length, no
        Range support), as Cloudgene's local workspace does, instead of redirecting to the object store.
    """

    run_seconds: float = 1.0
    export_seconds: float = 0.3
    cancel_settle_seconds: float = 0.5
    threads: int = 5
    max_active_jobs: int = 3
    notification_after: float | None = None
    retire_after: float | None = None
    download_limit: int = 10
    url_ttl: float = 3600.0
    md5: bool = False
    strand_flips: bool = False
    min_samples: int = 20
    zip_padding: int = 0
    extra_output_names: tuple[str, ...] = ()
    keep_uploads: bool = True
    local_workspace: bool = False


@dataclass
class SimFile:
    name: str
    path: Path
    hash: str
    size: int
    etag: str
    job_id: str
    count: int


@dataclass
class SimJob:
    id: str
    name: str
    username: str
    app_id: str
    params: dict[str, str]
    input_dir: Path
    output_dir: Path
    user_agent: str
    submitted_on: float
    state: int = WAITING
    start_time: float = 0.0
    end_time: float = 0.0
    deleted_on: float = -1.0
    steps: list[dict[str, Any]] = field(default_factory=list)
    files: list[SimFile] = field(default_factory=list)
    stage: int = 0  # pipeline steps done while RUNNING
    canceled: bool = False
    failed: bool = False
    settle_until: float = 0.0
    validation: Future[VcfSummary | str] | None = None
    output_hash: str = field(default_factory=lambda: secrets.token_hex(20))


def display_size(size: int) -> str:
    """Commons-IO ``byteCountToDisplaySize``: whole units, truncated."""
    for unit, power in (("EB", 6), ("PB", 5), ("TB", 4), ("GB", 3), ("MB", 2), ("KB", 1)):
        if size >= 1024**power:
            return f"{size // 1024**power} {unit}"
    return f"{size} bytes"


def _password() -> str:
    """14 characters: 5 upper, 5 lower, 2 digits, 2 symbols, like IS2's PasswordCreator."""
    pick = secrets.choice
    chars = [pick(string.ascii_uppercase) for _ in range(5)] + [
        pick(string.ascii_lowercase) for _ in range(5)
    ]
    chars += [pick(string.digits) for _ in range(2)] + [pick("!@#$%^") for _ in range(2)]
    secrets.SystemRandom().shuffle(chars)
    return "".join(chars)


class JobTable:
    """All jobs and downloads of the simulated server; every method is thread-safe."""

    def __init__(self, config: SimConfig, profile: Profile, workdir: Path) -> None:
        self.config = config
        self.profile = profile
        self.workdir = workdir
        self.jobs: dict[str, SimJob] = {}
        self.downloads: dict[str, SimFile] = {}
        self.lock = threading.RLock()
        self.clock_offset = 0.0
        self._validator = ThreadPoolExecutor(max_workers=2, thread_name_prefix="tis-sim-validate")

    def now(self) -> float:
        return time.time() + self.clock_offset

    def close(self) -> None:
        self._validator.shutdown(wait=False, cancel_futures=True)

    # -- submission ---------------------------------------------------------------------------

    def new_job_dir(self) -> tuple[str, Path]:
        with self.lock:
            moment = self.now()
            while True:
                stamp = datetime.fromtimestamp(moment, tz=timezone.utc)
                job_id = f"job-{stamp:%Y%m%d-%H%M%S}-{stamp.microsecond // 1000:03d}"
                if job_id not in self.jobs and not (self.workdir / job_id).exists():
                    break
                moment += 0.001
            (self.workdir / job_id / "input").mkdir(parents=True)
            return job_id, self.workdir / job_id

    def active_count(self, username: str) -> int:
        with self.lock:
            self.advance()
            return sum(1 for j in self.jobs.values() if j.username == username and j.state in ACTIVE)

    def add(self, job_id: str, username: str, params: dict[str, str], user_agent: str) -> SimJob:
        """Queue a submitted job; a refpanel that does not resolve fails it at once, as on the server."""
        with self.lock:
            job = SimJob(
                id=job_id,
                name=params.pop("job-name", "") or job_id,
                username=username,
                app_id=self.profile.app_id,
                params=params,
                input_dir=self.workdir / job_id / "input",
                output_dir=self.workdir / job_id / "output",
                user_agent=user_agent,
                submitted_on=self.now(),
            )
            panel = params.get("refpanel", "")
            if panel and self.profile.resolve_panel(panel) is None:
                job.state = FAILED  # "Application X is not installed": never queued, no steps
            self.jobs[job_id] = job
            return job

    # -- lifecycle ----------------------------------------------------------------------------

    def advance(self) -> None:
        """Move every job along to where the clock says it is."""
        with self.lock:
            now = self.now()
            for job in self.jobs.values():
                self._advance_job(job, now)
            running = sum(1 for j in self.jobs.values() if j.state in (RUNNING, EXPORTING))
            for job in sorted(self.jobs.values(), key=lambda j: j.submitted_on):
                if running >= self.config.threads:
                    break
                if job.state == WAITING:
                    self._start(job, now)
                    running += 1
            self._retire(now)

    def _start(self, job: SimJob, now: float) -> None:
        job.state, job.start_time = RUNNING, now
        job.validation = self._validator.submit(self._validate, job)

    def _advance_job(self, job: SimJob, now: float) -> None:
        if job.settle_until and now >= job.settle_until:
            job.state, job.settle_until = CANCELED, 0.0
        if job.state == RUNNING:
            step_time = self.config.run_seconds / 3
            # three stages, however long nobody looked (a late look must not repeat the last one)
            while (
                job.state == RUNNING and job.stage < 3 and now >= job.start_time + step_time * (job.stage + 1)
            ):
                if job.stage == 0 and not (job.validation and job.validation.done()):
                    return  # still reading the uploaded files
                self._run_stage(job)
            if job.state == RUNNING and job.stage >= 3:
                self._export(job, now)
        if job.state == EXPORTING and now >= job.end_time:
            job.state = FAILED if job.failed else SUCCESS

    def _run_stage(self, job: SimJob) -> None:
        stage, job.stage = job.stage, job.stage + 1
        if stage == 0:
            assert job.validation is not None
            outcome = job.validation.result()
            if isinstance(outcome, str):
                self._fail(job, "Input Validation", outcome)
            else:
                self._step(job, "Input Validation", OK, self._validation_message(job, outcome))
        elif stage == 1:
            if self.config.strand_flips:
                self._fail(job, "Quality Control", STRAND_FLIP_ERROR)
            else:
                self._step(
                    job, "Quality Control", OK, "Excluded sites in total: 0\nRemaining sites in total: all"
                )
        elif job.params.get("mode", "imputation") == "imputation":
            self._step(job, "Phasing and Imputation", OK, "Imputation was successful.")

    def _fail(self, job: SimJob, step: str, message: str) -> None:
        self._step(job, step, ERROR, message)
        job.failed = True
        self._export(job, self.now())

    def _export(self, job: SimJob, now: float) -> None:
        job.state = EXPORTING
        password = html.unescape(job.params.get("password", "")) or _password()
        chromosomes = () if job.failed or job.canceled else self._chromosomes(job)
        written = write_outputs(
            job.output_dir,
            chromosomes=chromosomes,
            password=password,
            aes="aesEncryption" in job.params,
            md5=self.config.md5,
            padding=self.config.zip_padding,
            qc=job.stage >= 2 or job.canceled,
        )
        for index, name in enumerate(self.config.extra_output_names):
            path = job.output_dir / f"extra-output-{index}"
            path.write_bytes(b"listed under a name chosen by the test\n")
            written.append((name, path))
        for name, path in written:
            self._add_file(job, name, path)
        if job.failed or job.canceled:
            word = "canceled" if job.canceled else "failed"
            self._step(job, "Summary", ERROR, f"Pipeline execution {word}.")
        else:
            note = "" if "password" in job.params else f" Your password is: {password}"
            self._step(job, "Summary", OK, "Data have been exported successfully." + note)
        job.end_time = now + self.config.export_seconds

    def _add_file(self, job: SimJob, name: str, path: Path) -> None:
        size = path.stat().st_size
        digest = hashlib.sha256(f"{name}{size}{secrets.randbelow(100000)}".encode()).hexdigest()
        etag = md5_of(path)
        sim_file = SimFile(name, path, digest, size, etag, job.id, self.config.download_limit)
        job.files.append(sim_file)
        self.downloads[digest] = sim_file

    def _chromosomes(self, job: SimJob) -> tuple[str, ...]:
        outcome = job.validation.result() if job.validation else ()
        if isinstance(outcome, VcfSummary) and job.params.get("mode", "imputation") == "imputation":
            return tuple(c.removeprefix("chr") for c in outcome.chromosomes)
        return ()

    def _step(self, job: SimJob, name: str, kind: int, message: str) -> None:
        entry = {"success": kind != ERROR, "message": message, "type": kind, "time": int(self.now() * 1000)}
        job.steps.append({"id": len(job.steps) + 1, "name": name, "empty": False, "logMessages": [entry]})

    def _validate(self, job: SimJob) -> VcfSummary | str:
        """Input validation as the pipeline does it; a string is the error message."""
        params = job.params
        vcfs = sorted(job.input_dir.glob("*.vcf.gz"))
        if not vcfs:
            return "No vcf.gz input files detected."
        if not params.get("refpanel"):
            return "Parameter refpanel is required."
        panel = self.profile.resolve_panel(params["refpanel"]) or params["refpanel"]
        populations = self.profile.panels.get(panel, ("", ()))[1]
        population = params.get("population") or "off"
        if population != "off" and population not in populations:
            return (
                f"Population '{population}' is not supported by reference panel '{panel}'.\n"
                f"Available populations: {', '.join(populations)}"
            )
        if params.get("phasing", "eagle") not in self.profile.phasing:
            return "::error:: For phasing, only options 'eagle', 'beagle' or 'no_phasing' are allowed."
        summaries = []
        for vcf in vcfs:
            try:
                summaries.append(inspect_vcf(vcf))
            except VcfError as exc:
                return str(exc)
        build = params.get("build", "hg19")
        for summary in summaries:
            for chrom in summary.chromosomes:
                if (build == "hg38") != chrom.startswith("chr"):
                    wanted = f"chr{chrom}" if build == "hg38" else chrom.removeprefix("chr")
                    return (
                        f"Your upload data contains chromosome '{chrom}'. This is not a valid {build} encoding. "
                        f"Please ensure that your input data is build {build} and chromosome is encoded as '{wanted}'."
                    )
        samples = summaries[0].samples
        if samples < self.config.min_samples:
            return f"At least {self.config.min_samples} samples must be uploaded."
        chromosomes = tuple(dict.fromkeys(c for s in summaries for c in s.chromosomes))
        return VcfSummary(samples=samples, chromosomes=chromosomes, snps=sum(s.snps for s in summaries))

    def _validation_message(self, job: SimJob, summary: VcfSummary) -> str:
        params = job.params
        panel = self.profile.resolve_panel(params.get("refpanel", "")) or ""
        files = len(list(job.input_dir.glob("*.vcf.gz")))
        return (
            f"{files} valid VCF file(s) found.\n\nSamples: {summary.samples}\n"
            f"Chromosomes: {' '.join(summary.chromosomes)}\nSNPs: {summary.snps}\nChunks: {len(summary.chromosomes)}\n"
            f"Datatype: unphased\nBuild: {params.get('build', 'hg19')}\nReference Panel: {panel}\n"
            f"Population: {params.get('population', 'off')}\nPhasing: {params.get('phasing', 'eagle')}\n"
            f"Mode: {params.get('mode', 'imputation')}"
        )

    def cancel(self, job: SimJob) -> None:
        with self.lock:
            self.advance()
            if job.state == WAITING:
                job.canceled, job.state, job.end_time = True, CANCELED, self.now()
            elif job.state == RUNNING:
                # Queue.cancel kills the executor; run() then reports FAILED, exports, and sets CANCELED.
                job.canceled = True
                self._export(job, self.now())
                job.state = FAILED
                job.settle_until = job.end_time + self.config.cancel_settle_seconds

    def restart_server(self) -> None:
        """A server restart: every queued, running or exporting job becomes DEAD."""
        with self.lock:
            self.advance()
            for job in self.jobs.values():
                if job.state in ACTIVE:
                    job.state = DEAD

    def restart_job(self, job: SimJob) -> None:
        with self.lock:
            job.state, job.stage, job.steps, job.failed = WAITING, 0, [], False
            job.start_time = 0.0
            self.advance()

    def _retire(self, now: float) -> None:
        notify, retire = self.config.notification_after, self.config.retire_after
        for job in self.jobs.values():
            if (
                notify is not None
                and job.state in (SUCCESS, FAILED, CANCELED)
                and now >= job.end_time + notify
            ):
                job.state = SUCCESS_NOTIFIED if job.state == SUCCESS else FAIL_NOTIFIED
                job.deleted_on = now + max(0.0, (retire or notify) - notify)
            ended = job.state in (SUCCESS, FAILED, CANCELED, SUCCESS_NOTIFIED, FAIL_NOTIFIED)
            if retire is not None and ended and now >= max(job.end_time + retire, job.deleted_on):
                job.state = RETIRED
                job.deleted_on = job.deleted_on if job.deleted_on > 0 else now
                shutil.rmtree(job.output_dir, ignore_errors=True)
