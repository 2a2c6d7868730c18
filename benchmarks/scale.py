"""`make bench-scale`: `tis_batches` with 60 batches on a real scheduler, against the 3-job limit.

For each mode (``BENCH_MODES``, default ``reschedule,deferrable``) it starts a fresh TIS simulator (3-job
limit, each job ``BENCH_JOB_SECONDS`` long, every request logged) and a fresh ``AirflowDeployment``
(scheduler, DAG processor, triggerer, API server; LocalExecutor, SQLite), writes ``BENCH_BATCHES`` small
VCFs (one batch each), triggers ``example_dags/tis_batches.py`` unchanged and waits for the run. Then it
reads the deployment's database, the task logs and the simulator's records, and prints one table per mode
and a comparison line. Exits non-zero if a run failed or the number of jobs created is not
``BENCH_BATCHES``.

Modes (``TIS_EXAMPLE_DEFERRABLE``): ``reschedule`` runs the DAG as written without a triggerer's help:
the sensor pokes in reschedule mode, the submits wait for a free job slot inside their worker
(``capacity_mode="poke"``, the operator's default): the baseline that holds a worker while it waits.
``deferrable``: the submits wait in the triggerer (``TisCapacityTrigger``), the sensor too.

The pool ``tis_active_jobs`` has 1 slot that deferred tasks hold (``--include-deferred``), not the 3 slots
the README creates: a submit holds its slot only until its upload ends, while its job runs on, so a pool
of 3 lets 3 submits check for a free job slot at once, see the same one and all upload; the server counts
a job only once its whole body has arrived and refuses the others after their upload (run with
``BENCH_POOL_SLOTS=3 BENCH_POOL_INCLUDE_DEFERRED=false`` to see it, in both modes). Without
``--include-deferred`` every waiting submit defers at once, and each free job slot wakes many of them:
most resume in a worker only to find the slot taken, and each trigger polls on its own. One slot held
through the deferral lets one submit at a time look for a free job slot and upload.

What is measured, and how:

- wall time: the run's start to end (``dag_run``), and the first task start to the last task end
  (``task_instance`` and ``task_instance_history``). Target: the run's within 15 % of the ideal.
- ideal: the 3-slot schedule, ``ceil(batches / 3) x (slot time + upload time)``: slot time is the mean
  time a job held a slot on the simulator (submitted to ended, measured; about ``BENCH_JOB_SECONDS``),
  upload time the mean time the simulator spent receiving a submit (from the request's start, which the
  job id records to the millisecond, to the job's creation once the body arrived).
- slot idle time: for each job after the first three, how long a slot stood free before its upload
  started (the upload start minus the end of the job whose slot it took, in order).
- jobs created: jobs on the simulator (target: exactly the batches); uploads rejected: submits the
  simulator answered 400 (the job limit; with valid inputs nothing else answers 400). Target: 0.
- worker-seconds: a worker run is one process run of a task, from its first log line (``Pre Execute``)
  to its last one (process start-up before the first line, about 0.3 s, is not counted). A task that
  defers or is rescheduled has several runs.
- worker-seconds waiting for capacity: in the submit's runs, the time a worker was held because the
  server was at its job limit. It starts at the first "... queued or running (limit 3); waiting ...
  before uploading" line of a run, or at the start of a run that only exists because the previous run
  of that task waited for capacity (deferred or rescheduled: its start-up is a cost of waiting); it ends
  at the upload (the ``Upload: 100%`` line, so it includes the upload itself, a few milliseconds here)
  or the reuse of a job, or at the end of the run if it waited again. The target (deferrable): under 5 %
  of the reschedule mode's, which waits in the worker.
- sensor worker-seconds: the runs of the ``wait`` tasks, all of them.
- requests per minute: the simulator's request log, from the run's start to its end, by endpoint kind
  (job list ``GET /jobs``, job get ``GET /jobs/<id>[/status]``, submit, server ``GET /server``, app,
  downloads ``/share`` and the object store); and the busiest 60 s.
- retries and failures: earlier tries in ``task_instance_history`` that failed or were retried, task
  instances not in success at the end, and failed uploads the submit logged.

The simulator moves a job along only when someone asks about it; a thread asks every 0.2 s, so jobs end
on time whoever polls (as on the real server) instead of when the next poll happens to come.

Settings: ``BENCH_BATCHES`` (60), ``BENCH_JOB_SECONDS`` (20), ``BENCH_POLL_SECONDS`` (5: the sensor's
poke interval and the submit's capacity poll interval), ``BENCH_MODES``, ``BENCH_POOL_SLOTS`` (1) and
``BENCH_POOL_INCLUDE_DEFERRED`` (``true``; see above), ``BENCH_PARALLELISM``
(8: the LocalExecutor's), ``BENCH_KEEP`` (``1``: keep each deployment's home and print where),
``BENCH_DAG_FILE`` (another version of ``tis_batches`` to compare, e.g. a change to the example: the same
dag_id, params, environment variables and task names; the tasks may sit in a task group).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing import AirflowDeployment, TisSimulator, write_vcf

if TYPE_CHECKING:
    from collections.abc import Iterator

BATCHES = int(os.environ.get("BENCH_BATCHES", 60))
JOB_SECONDS = float(os.environ.get("BENCH_JOB_SECONDS", 20))
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", 5))
MODES = [m.strip() for m in os.environ.get("BENCH_MODES", "reschedule,deferrable").split(",") if m.strip()]
POOL_SLOTS = int(os.environ.get("BENCH_POOL_SLOTS", 1))
POOL_INCLUDE_DEFERRED = os.environ.get("BENCH_POOL_INCLUDE_DEFERRED", "true").lower() == "true"
PARALLELISM = int(os.environ.get("BENCH_PARALLELISM", 8))
KEEP = os.environ.get("BENCH_KEEP", "") == "1"

JOB_LIMIT = 3  # TIS's active jobs per user
EXPORT_SECONDS = min(1.0, JOB_SECONDS / 4)  # part of the job's time: RUNNING, then EXPORTING
DAG_ID = "tis_batches"
POOL = "tis_active_jobs"
EXAMPLE = Path(__file__).resolve().parents[1] / "example_dags" / "tis_batches.py"
DAG_FILE = Path(os.environ.get("BENCH_DAG_FILE") or EXAMPLE)
TASKS = ("make_batches", "submit", "wait", "download")
MODE_ENV = {"reschedule": "false", "deferrable": "true"}
ROUTE_KINDS = {
    "jobs": "job list",
    "job": "job get",
    "status": "job get",
    "submit": "submit",
    "server": "server",
    "app": "app",
    "share": "downloads",
    "store": "downloads",
}
KINDS = ("job list", "job get", "submit", "server", "app", "downloads", "other")
CAPACITY_WAIT = re.compile(r"queued or running \(limit \d+\); waiting .* before uploading")
PAUSED = ("Pausing task as DEFERRED", "Rescheduling task")


# -- reading the task logs ------------------------------------------------------------------------


@dataclass
class WorkerRun:
    """One process run of a task: its log lines as (epoch seconds, message)."""

    lines: list[tuple[float, str]] = field(default_factory=list)

    @property
    def start(self) -> float:
        return self.lines[0][0]

    @property
    def end(self) -> float:
        return self.lines[-1][0]

    @property
    def seconds(self) -> float:
        return self.end - self.start

    def first(self, test: Any) -> float | None:
        """The time of the first line ``test(message)`` accepts."""
        return next((t for t, message in self.lines if test(message)), None)

    @property
    def waited_for_capacity(self) -> bool:
        return self.first(CAPACITY_WAIT.search) is not None

    @property
    def paused(self) -> bool:
        """Ended by deferring or rescheduling, to run again."""
        return any(message.startswith(PAUSED) for _, message in self.lines[-5:])


def _epoch(stamp: str) -> float:
    """Seconds since the epoch of an ISO timestamp (a log's ``...Z`` or the database's naive UTC text)."""
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00").replace(" ", "T"))
    return (moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)).timestamp()


def worker_runs(log_files: list[Path]) -> list[WorkerRun]:
    """The worker runs of one task instance, in order, from its attempt logs (JSON lines)."""
    runs: list[WorkerRun] = []
    for path in log_files:
        for line in path.read_text(errors="replace").splitlines():
            try:
                record = json.loads(line)
                moment, message = _epoch(record["timestamp"]), str(record.get("event", ""))
            except (ValueError, KeyError, TypeError):
                continue
            if message == "::group::Pre Execute" or not runs:
                runs.append(WorkerRun())
            runs[-1].lines.append((moment, message))
    return runs


def task_instance_runs(home: Path, run_id: str, task_id: str) -> dict[int, list[WorkerRun]]:
    """Map index -> its worker runs (every attempt, in order; -1 for an unmapped task)."""
    folder = home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    by_index: dict[int, list[Path]] = {}
    for path in folder.rglob("attempt=*.log"):
        attempt = re.fullmatch(r"attempt=(\d+)\.log", path.name)
        if attempt is None:  # the triggerer's attempt=N.log.trigger.M.log
            continue
        index = re.fullmatch(r"map_index=(-?\d+)", path.parent.name)
        by_index.setdefault(int(index.group(1)) if index else -1, []).append(path)
    return {
        index: worker_runs(sorted(paths, key=lambda p: int(p.name.split("=")[1].split(".")[0])))
        for index, paths in by_index.items()
    }


def trigger_fires(home: Path, run_id: str, task_id: str) -> dict[int, list[float]]:
    """Map index -> when the triggerer fired the task's triggers, from its ``attempt=N.log.trigger.M.log``
    files. A triggerer rewrites the file for each new trigger of the attempt: only the last one is there
    (the one that let the task upload)."""
    folder = home / "logs" / f"dag_id={DAG_ID}" / f"run_id={run_id}" / f"task_id={task_id}"
    fires: dict[int, list[float]] = {}
    for path in folder.rglob("attempt=*.log.trigger.*.log"):
        index = re.fullmatch(r"map_index=(-?\d+)", path.parent.name)
        found = fires.setdefault(int(index.group(1)) if index else -1, [])
        for run in worker_runs([path]):
            found.extend(t for t, message in run.lines if message == "Trigger fired event")
    return {index: sorted(times) for index, times in fires.items()}


def capacity_wait_seconds(runs: list[WorkerRun]) -> float:
    """Worker-seconds one submit task instance spent waiting for a free job slot (see the docstring)."""
    total = 0.0
    previous_waited = False
    for run in runs:
        start = run.start if previous_waited else run.first(CAPACITY_WAIT.search)
        if start is not None:
            done = run.first(lambda m: m.startswith(("Upload: 100%", "Reusing TIS job")))
            total += (done if done is not None else run.end) - start
        previous_waited = run.paused and (previous_waited or run.waited_for_capacity)
    return total


# -- one mode -------------------------------------------------------------------------------------


@dataclass
class Result:
    mode: str
    state: str
    rows: list[tuple[str, str, str, bool | None]]
    wall: float
    ideal: float
    jobs: int
    rejected: int
    capacity_wait: float


@contextlib.contextmanager
def ticking(sim: TisSimulator, every: float = 0.2) -> Iterator[None]:
    """Ask the simulator to move its jobs along every ``every`` seconds (see the docstring)."""
    stop = threading.Event()

    def tick() -> None:
        while not stop.wait(every):
            sim.shift_clock(0)

    thread = threading.Thread(target=tick, daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def run_mode(mode: str, workdir: Path) -> Result:
    dags, inputs, results = workdir / "dags", workdir / "inputs", workdir / "results"
    dags.mkdir()
    shutil.copy(DAG_FILE, dags / "tis_batches.py")
    for index in range(BATCHES):
        write_vcf(inputs / f"batch{index:03d}.vcf.gz", chromosomes=("20",))
    env = {
        "TIS_EXAMPLE_DEFERRABLE": MODE_ENV[mode],
        "TIS_EXAMPLE_POLL_SECONDS": f"{POLL_SECONDS:g}",
        "TIS_EXAMPLE_RETRY_SECONDS": f"{POLL_SECONDS:g}",  # a retry is counted; no need to sit it out
    }
    request_log = workdir / "requests.jsonl"
    with TisSimulator(
        run_seconds=JOB_SECONDS - EXPORT_SECONDS,
        export_seconds=EXPORT_SECONDS,
        max_active_jobs=JOB_LIMIT,
        workdir=workdir / "simulator",
    ) as sim:
        sim.log_requests_to(request_log)
        deployment = AirflowDeployment(
            dags,
            home=workdir / "airflow-home",
            connections={"tis_default": sim.connection_json(max_active_jobs=JOB_LIMIT)},
            env=env,
            parallelism=PARALLELISM,
            keep=True,
        )
        with deployment, ticking(sim):
            pool = [POOL, str(POOL_SLOTS), "benchmark"]
            deployment.airflow(
                "pools", "set", *pool, *(["--include-deferred"] if POOL_INCLUDE_DEFERRED else [])
            )
            print(f"[{mode}] Airflow is up; triggering {DAG_ID} with {BATCHES} batches...", flush=True)
            run_id = deployment.trigger(
                DAG_ID, {"vcfs": str(inputs / "*.vcf.gz"), "results": str(results), "batch_size": 1}
            )
            budget = 3 * math.ceil(BATCHES / JOB_LIMIT) * (JOB_SECONDS + POLL_SECONDS) + 600
            state = deployment.wait_for_run(DAG_ID, run_id, timeout=budget)
        return measure(mode, state, deployment, run_id, sim, request_log)


def measure(
    mode: str, state: str, deployment: AirflowDeployment, run_id: str, sim: TisSimulator, request_log: Path
) -> Result:
    query = deployment.query
    run_start, run_end = (_epoch(v) for v in query("SELECT start_date, end_date FROM dag_run")[0])
    tries = query(
        "SELECT task_id, map_index, try_number, state, start_date, end_date FROM task_instance "
        "UNION ALL SELECT task_id, map_index, try_number, state, start_date, end_date FROM task_instance_history"
    )
    started = {
        task: _epoch(v)
        for task, v in query("SELECT task_id, min(start_date) FROM task_instance GROUP BY task_id")
        if v
    }
    ended = {
        task: _epoch(v)
        for task, v in query("SELECT task_id, max(end_date) FROM task_instance GROUP BY task_id")
        if v
    }
    task_start = min(_epoch(t[4]) for t in tries if t[4])
    task_end = max(_epoch(t[5]) for t in tries if t[5])
    final = Counter(
        f"{task_id} {state}" for task_id, state in query("SELECT task_id, state FROM task_instance")
    )
    not_success = {k: v for k, v in final.items() if not k.endswith(" success")}
    earlier = Counter(
        f"{task_id} {state}" for task_id, state in query("SELECT task_id, state FROM task_instance_history")
    )
    retried = sum(v for k, v in earlier.items() if k.split()[1] in ("failed", "up_for_retry"))

    # the simulator's records
    jobs = sorted(sim.jobs.jobs.values(), key=lambda j: j.submitted_on)
    uploads = [j.submitted_on - _job_id_time(j.id) for j in jobs]
    held = [j.end_time - j.submitted_on for j in jobs if j.end_time]
    upload_starts = [_job_id_time(j.id) for j in jobs]
    ends = sorted(j.end_time for j in jobs if j.end_time)
    idle = [start - ends[k] for k, start in enumerate(upload_starts[JOB_LIMIT:]) if k < len(ends)]
    submits = sim.requests_to("submit")
    rejected = sum(r.status == 400 for r in submits)
    other_refused = sum(r.status not in (200, 400) for r in submits)
    names = Counter(j.name for j in jobs)
    succeeded = sum(j.state in (4, 8) for j in jobs)  # SUCCESS, SUCCESS_NOTIFIED

    mean_upload = sum(uploads) / len(uploads) if uploads else 0.0
    mean_held = sum(held) / len(held) if held else JOB_SECONDS
    ideal = math.ceil(BATCHES / JOB_LIMIT) * (mean_held + mean_upload)
    wall = run_end - run_start

    # worker runs, from the task logs
    home = deployment.home
    task_ids = {
        role: next(
            t for (t,) in query("SELECT DISTINCT task_id FROM task_instance") if t.split(".")[-1] == role
        )
        for role in TASKS
    }
    submit_id, wait_id = task_ids["submit"], task_ids["wait"]
    submit_runs = task_instance_runs(home, run_id, task_ids["submit"])
    wait_runs = task_instance_runs(home, run_id, task_ids["wait"])
    capacity_wait = sum(capacity_wait_seconds(runs) for runs in submit_runs.values())
    wait_lines = sum(
        len([1 for _, m in r.lines if CAPACITY_WAIT.search(m)]) for runs in submit_runs.values() for r in runs
    )
    resumes = [
        run.waited_for_capacity
        for runs in submit_runs.values()
        for before, run in itertools.pairwise(runs)
        if before.paused and before.waited_for_capacity
    ]
    upload_failures = sum(
        1
        for runs in submit_runs.values()
        for r in runs
        for _, m in r.lines
        if m.startswith("The upload failed")
    )
    worker_seconds = {
        task: sum(
            r.seconds for runs in task_instance_runs(home, run_id, task_ids[task]).values() for r in runs
        )
        for task in TASKS
    }
    submit_count = sum(len(runs) for runs in submit_runs.values())
    fires = trigger_fires(home, run_id, task_ids["submit"])
    split = _idle_split(jobs, upload_starts, ends, submit_runs, fires)
    pokes = sum(len(runs) for runs in wait_runs.values())

    # requests the server saw during the run
    seen = [json.loads(line) for line in request_log.read_text().splitlines()]
    during = [r for r in seen if run_start <= r["time"] <= run_end]
    minutes = wall / 60
    by_kind = Counter(ROUTE_KINDS.get(r["route"], "other") for r in during)
    busiest = _busiest_minute([r["time"] for r in during])

    rows: list[tuple[str, str, str, bool | None]] = [
        ("run state", state, "success", state == "success"),
        ("wall time, run start to end (s)", f"{wall:.0f}", f"<= {1.15 * ideal:.0f}", wall <= 1.15 * ideal),
        ("wall time / ideal", f"{wall / ideal:.2f}", "<= 1.15", wall <= 1.15 * ideal),
        ("wall time, first task start to last task end (s)", f"{task_end - task_start:.0f}", "", None),
        (
            f"ideal 3-slot schedule (s): {math.ceil(BATCHES / JOB_LIMIT)} x (slot + upload)",
            f"{ideal:.0f} = {math.ceil(BATCHES / JOB_LIMIT)} x ({mean_held:.2f} + {mean_upload:.3f})",
            "",
            None,
        ),
        (
            "slot idle before the next upload (s): mean / max",
            f"{_mean(idle):.1f} / {max(idle, default=0):.1f}",
            "",
            None,
        ),
        (
            "  split: slot free > trigger fired > worker run start > upload (s, means)",
            " > ".join(f"{v:.1f}" for v in split) if split else "(no trigger)",
            "",
            None,
        ),
        (
            "first wait start minus last submit end (s; > 0: the waits waited for every submit)",
            f"{started[wait_id] - ended[submit_id]:+.1f}"
            if wait_id in started and submit_id in ended
            else "-",
            "",
            None,
        ),
        (
            "jobs created / succeeded / distinct names",
            f"{len(jobs)} / {succeeded} / {len(names)}",
            f"{BATCHES}",
            len(jobs) == BATCHES,
        ),
        ("uploads rejected by the job limit", f"{rejected}", "0", rejected == 0),
        (
            "uploads refused otherwise / failed uploads logged",
            f"{other_refused} / {upload_failures}",
            "0 / 0",
            other_refused + upload_failures == 0,
        ),
        ("worker-seconds waiting for capacity (submit)", f"{capacity_wait:.0f}", "", None),
        (
            "submit worker runs / resumed after a capacity wait / of those, found no slot again",
            f"{submit_count} / {len(resumes)} / {sum(resumes)}",
            "",
            None,
        ),
        (
            "capacity checks in a worker that found no slot",
            f"{wait_lines}",
            "",
            None,
        ),
        ("sensor worker-seconds / worker runs", f"{worker_seconds['wait']:.0f} / {pokes}", "", None),
        (
            "worker-seconds: make_batches / submit / wait / download",
            " / ".join(f"{worker_seconds[t]:.0f}" for t in TASKS),
            "",
            None,
        ),
        (
            "requests per minute at the server (busiest 60 s)",
            f"{len(during) / minutes:.0f} ({busiest})",
            "",
            None,
        ),
        (
            "  by kind: " + ", ".join(k for k in KINDS if by_kind[k]),
            ", ".join(f"{by_kind[k] / minutes:.1f}" for k in KINDS if by_kind[k]),
            "",
            None,
        ),
        ("earlier tries failed or retried", f"{retried}", "0", retried == 0),
        ("earlier tries by state", _counts(earlier) or "none", "", None),
        ("task instances not in success", _counts(Counter(not_success)) or "none", "none", not not_success),
    ]
    return Result(mode, state, rows, wall, ideal, len(jobs), rejected, capacity_wait)


def _idle_split(
    jobs: list[Any],
    upload_starts: list[float],
    ends: list[float],
    submit_runs: dict[int, list[WorkerRun]],
    fires: dict[int, list[float]],
) -> tuple[float, float, float] | None:
    """Where a slot's idle time went, for uploads that followed a capacity trigger: mean seconds from the
    slot freeing to the trigger firing, from there to the resumed worker run's first line, and from there
    to the upload's start."""
    parts: list[tuple[float, float, float]] = []
    for k in range(JOB_LIMIT, min(len(jobs), len(ends) + JOB_LIMIT)):
        index = int(jobs[k].name.rsplit("__", 1)[1])
        upload, freed = upload_starts[k], ends[k - JOB_LIMIT]
        fired = [t for t in fires.get(index, []) if t <= upload]
        runs = [r for r in submit_runs.get(index, []) if r.start <= upload <= r.end + 1]
        if fired and runs:
            parts.append((fired[-1] - freed, runs[-1].start - fired[-1], upload - runs[-1].start))
    if not parts:
        return None
    return (
        _mean([p[0] for p in parts]),
        _mean([p[1] for p in parts]),
        _mean([p[2] for p in parts]),
    )


def _job_id_time(job_id: str) -> float:
    """When the simulator started receiving the submit: its job ids are ``job-YYYYmmdd-HHMMSS-mmm`` (UTC)."""
    stamp = datetime.strptime(job_id[4:19], "%Y%m%d-%H%M%S").replace(tzinfo=timezone.utc)
    return stamp.timestamp() + int(job_id[20:23]) / 1000


def _busiest_minute(times: list[float]) -> int:
    times = sorted(times)
    best, low = 0, 0
    for high, moment in enumerate(times):
        while times[low] < moment - 60:
            low += 1
        best = max(best, high - low + 1)
    return best


def _mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _counts(counter: Counter[str]) -> str:
    return ", ".join(f"{k}: {v}" for k, v in sorted(counter.items()))


# -- output ---------------------------------------------------------------------------------------


def print_table(result: Result, seconds: float) -> None:
    dag = "" if DAG_FILE == EXAMPLE else f", DAG {DAG_FILE}"
    pool = f"{POOL_SLOTS} slots{', deferred tasks counted' if POOL_INCLUDE_DEFERRED else ''}"
    print(
        f"\n### {result.mode}: {BATCHES} batches, {JOB_SECONDS:g} s jobs, poll {POLL_SECONDS:g} s, "
        f"pool {pool}, parallelism {PARALLELISM}{dag} (took {seconds:.0f} s)\n"
    )
    print("| measure | value | target | met |")
    print("|---|---|---|---|")
    for name, value, target, met in result.rows:
        print(f"| {name} | {value} | {target} | {'' if met is None else ('yes' if met else 'no')} |")


def main() -> int:
    unknown = [m for m in MODES if m not in MODE_ENV]
    if unknown:
        print(f"BENCH_MODES: unknown {', '.join(unknown)}; use {', '.join(MODE_ENV)}", file=sys.stderr)
        return 2
    results: dict[str, Result] = {}
    for mode in MODES:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-scale-{mode}-"))
        started = time.monotonic()
        try:
            results[mode] = result = run_mode(mode, workdir)
        finally:
            if KEEP:
                print(f"[{mode}] kept {workdir}", flush=True)
            else:
                shutil.rmtree(workdir, ignore_errors=True)
        print_table(result, time.monotonic() - started)
    if {"reschedule", "deferrable"} <= results.keys():
        base, deferred = results["reschedule"], results["deferrable"]
        share = deferred.capacity_wait / base.capacity_wait if base.capacity_wait else float("nan")
        verdict = "met" if share < 0.05 else "not met"
        if any(r.state != "success" or r.jobs != BATCHES for r in (base, deferred)):
            verdict = "not judged, a run failed"
        print(
            f"\nDeferrable vs reschedule: wall {deferred.wall:.0f} s vs {base.wall:.0f} s "
            f"({deferred.wall / deferred.ideal:.2f} vs {base.wall / base.ideal:.2f} of the ideal); "
            f"worker-seconds waiting for capacity {deferred.capacity_wait:.0f} vs {base.capacity_wait:.0f} "
            f"({share:.1%} of the baseline; target < 5 %: {verdict})."
        )
    failed = [r.mode for r in results.values() if r.state != "success" or r.jobs != BATCHES]
    if failed:
        print(f"\nFailed: {', '.join(failed)} (run not successful or jobs != {BATCHES}).", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
