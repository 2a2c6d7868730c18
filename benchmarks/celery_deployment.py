"""`make check-celery`: the example DAG on the CeleryExecutor, with PostgreSQL, Redis, two workers and a
triggerer, the results written to an ObjectStoragePath every worker reaches.

Starts PostgreSQL (initdb in a temporary folder, pg_ctl on a free port; as the ``postgres`` user when run
as root) and Redis (a free port, nothing saved), the TIS simulator, and a ``CeleryAirflowDeployment`` with
two workers (``worker-1``, ``worker-2``, one task slot each). Triggers ``tis_imputation`` twice at once:
deferrable (the wait runs in the triggerer) and with reschedule pokes, both writing to
``file://<tmp>/shared/results`` (on one machine a local ``file://`` path reaches both workers; across
machines it must be ``s3://...`` or a shared filesystem). Then checks: both runs succeeded, tasks ran on
both workers, the deferred wait's trigger ran in the triggerer, every file the job exported is at the
destination with its size and the zips are unpacked. Prints what it saw; exits 1 if anything is wrong.
Stops every process it started and removes its folders.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING

from airflow_provider_tis.testing import TisSimulator, write_vcf
from airflow_provider_tis.testing.core.celery_deployment import TRIGGERER_HOSTNAME, CeleryAirflowDeployment
from airflow_provider_tis.testing.core.deployment import free_port

if TYPE_CHECKING:
    from collections.abc import Iterator

EXAMPLE = Path(__file__).resolve().parents[1] / "example_dags" / "tis_imputation.py"
DEFERRED, RESCHEDULED = "tis_imputation", "tis_imputation_reschedule"
ZIP_PASSWORD = "Zip-Secret_4711"
CHROMOSOMES = ("20", "21")
WORKERS = 2


def postgres_binary(name: str) -> str:
    """A PostgreSQL server program: on PATH, else Debian's versioned folder (newest first)."""
    versioned = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")
    found = shutil.which(name) or max(versioned, key=lambda path: float(Path(path).parts[4]), default=None)
    if not found:
        raise SystemExit(f"{name} not found: apt-get install postgresql (make check-celery does)")
    return found


@contextlib.contextmanager
def postgres() -> Iterator[str]:
    """A PostgreSQL server on 127.0.0.1 with a trusted user and database ``airflow``; yields its URL."""
    port = free_port()
    folder = Path(tempfile.mkdtemp(prefix="celery-check-pg-"))
    data, log = folder / "data", folder / "postgres.log"
    # the server refuses to run as root: then it runs as Debian's `postgres` user (or nobody)
    user = None
    if os.geteuid() == 0:
        user = "postgres" if "postgres" in {p.pw_name for p in pwd.getpwall()} else "nobody"
        shutil.chown(folder, user)

    def run(*command: str) -> None:
        subprocess.run(command, user=user, cwd=folder, check=True, capture_output=True, timeout=120)

    options = (
        f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories='' -c max_connections=200 "
        "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"
    )
    pg_ctl = postgres_binary("pg_ctl")
    try:
        try:
            run(postgres_binary("initdb"), "-D", str(data), "-U", "airflow", "--auth=trust", "--no-sync")
            run(pg_ctl, "-D", str(data), "-l", str(log), "-o", options, "-w", "-t", "60", "start")
        except subprocess.CalledProcessError as exc:
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise SystemExit(
                f"PostgreSQL did not start: {exc.stderr.decode(errors='replace')}{tail}"
            ) from None
        import psycopg2  # type: ignore[import-untyped]  # the celery extra's driver

        with contextlib.closing(
            psycopg2.connect(host="127.0.0.1", port=port, user="airflow", dbname="postgres")
        ) as db:
            db.autocommit = True
            db.cursor().execute("CREATE DATABASE airflow")
        yield f"postgresql+psycopg2://airflow@127.0.0.1:{port}/airflow"
    finally:
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            run(pg_ctl, "-D", str(data), "-m", "immediate", "stop")
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def redis(folder: Path) -> Iterator[str]:
    """A Redis server on 127.0.0.1 that saves nothing; yields its URL."""
    import redis as client  # the celery extra's client

    port = free_port()
    with (folder / "redis.log").open("wb") as log:
        server = subprocess.Popen(
            [
                *("redis-server", "--port", str(port), "--bind", "127.0.0.1"),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                with contextlib.suppress(client.ConnectionError):
                    if client.Redis(port=port, socket_timeout=2).ping():
                        break
                if server.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"Redis did not start:\n{(folder / 'redis.log').read_text()[-2000:]}")
                time.sleep(0.1)
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            server.terminate()
            try:
                server.wait(10)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(10)


def write_dags(folder: Path) -> None:
    """The example DAG twice: as it is (deferrable from the environment) and with reschedule pokes."""
    folder.mkdir()
    source = EXAMPLE.read_text()
    (folder / EXAMPLE.name).write_text(source)
    reschedule = source.replace(f'dag_id="{DEFERRED}"', f'dag_id="{RESCHEDULED}"')
    (folder / f"{RESCHEDULED}.py").write_text(reschedule.replace("deferrable=DEFERRABLE", "deferrable=False"))


def executions(af: CeleryAirflowDeployment) -> dict[tuple[str, str], Counter[str]]:
    """(run id, task id) -> how many times each worker ran it (every start, poke and resume), from the
    workers' own logs."""
    seen: dict[tuple[str, str], Counter[str]] = {}
    for worker in af.workers:
        for line in af.log_of(worker).splitlines():
            if "Executing workload in Celery" in line and (ids := _ids(line)):
                seen.setdefault(ids, Counter())[worker] += 1
    return seen


def _ids(line: str) -> tuple[str, str] | None:
    run = re.search(r"run_id='([^']+)'", line)
    task = re.search(r"task_id='([^']+)'", line)
    return (run.group(1), task.group(1)) if run and task else None


def check(af: CeleryAirflowDeployment, sim: TisSimulator, runs: dict[str, str], results: Path) -> list[str]:
    """Print what the runs did; return what is wrong."""
    problems: list[str] = []
    ran = executions(af)
    hosts: set[str] = set()
    print(f"\n{'run':<28} {'mode':<11} {'state':<8} {'seconds':>8}")
    for dag_id, run_id in runs.items():
        state, start, end = af.query(
            "SELECT state, start_date, end_date FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id
        )[0]
        mode = "deferrable" if dag_id == DEFERRED else "reschedule"
        print(f"{dag_id:<28} {mode:<11} {state:<8} {(end - start).total_seconds():>8.1f}")
        if state != "success":
            problems.append(f"{dag_id} run {run_id} is {state}")
    print(f"\n{'run':<11} {'task':<9} {'state':<8} {'task_instance.hostname':<23} {'s':>5}  runs per worker")
    for dag_id, run_id in runs.items():
        mode = "deferrable" if dag_id == DEFERRED else "reschedule"
        rows = af.query(
            "SELECT task_id, state, hostname, duration FROM task_instance "
            "WHERE dag_id = ? AND run_id = ? ORDER BY start_date",
            dag_id,
            run_id,
        )
        for task_id, state, host, duration in rows:
            hosts.add(host)
            per_worker = ran.get((run_id, task_id), Counter())
            where = ", ".join(f"{w} x{n}" for w, n in sorted(per_worker.items()))
            if dag_id == DEFERRED and task_id == "wait":
                where += f"; trigger: {', '.join(triggerers(af, dag_id, run_id)) or 'none'}"
            print(f"{mode:<11} {task_id:<9} {state:<8} {host or '-':<23} {duration or 0:>5.1f}  {where}")
            if state != "success":
                problems.append(f"{dag_id}.{task_id} is {state}")
        problems += complete(af, sim, dag_id, run_id, results)
    if not set(af.workers) <= hosts:
        problems.append(
            f"tasks ran only on {sorted(hosts)} (task_instance.hostname), not on each of {af.workers}"
        )
    idle = [w for w in af.workers if not any(c[w] for c in ran.values())]
    if idle:
        problems.append(f"{', '.join(idle)} ran no task (worker logs)")
    if triggerers(af, DEFERRED, runs[DEFERRED]) != [TRIGGERER_HOSTNAME]:
        problems.append("the deferred wait's trigger did not run (and fire) in the triggerer")
    if triggerers(af, RESCHEDULED, runs[RESCHEDULED]):
        problems.append("the rescheduled wait ran a trigger")
    pokes = sum(ran.get((runs[RESCHEDULED], "wait"), Counter()).values())
    if pokes < 2:
        problems.append(f"the rescheduled wait ran {pokes} time(s): no reschedule seen")
    return problems


def triggerers(af: CeleryAirflowDeployment, dag_id: str, run_id: str) -> list[str]:
    """Hosts of the triggerer jobs whose log of the task's trigger shows it firing success."""
    folder = af.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / "task_id=wait"
    hosts = []
    for path in sorted(folder.rglob("attempt=*.log.trigger.*.log")):
        text = path.read_text(errors="replace")
        if "Trigger fired event" in text and "'status': 'success'" in text:
            job = path.name.rsplit(".", 2)[1]
            rows = af.query("SELECT hostname FROM job WHERE id = ? AND job_type = 'TriggererJob'", int(job))
            hosts += [str(row[0]) for row in rows]
    return hosts


def complete(
    af: CeleryAirflowDeployment, sim: TisSimulator, dag_id: str, run_id: str, results: Path
) -> list[str]:
    """Every file the job exported is at the destination with its size, and each zip is unpacked."""
    rows = af.query(
        "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'submit' AND key = 'return_value'",
        dag_id,
        run_id,
    )
    if not rows:
        return [f"{dag_id}: the submit task pushed no job id"]
    job_id = str(rows[0][0]).strip('"')
    folder = results / job_id
    missing = [f.name for f in sim.job(job_id).files if not (folder / f.name).is_file()]
    wrong = [
        f.name
        for f in sim.job(job_id).files
        if f.name not in missing and (folder / f.name).stat().st_size != f.size
    ]
    unpacked = [f"chr{c}.{ext}" for c in CHROMOSOMES for ext in ("dose.vcf.gz", "info")]
    missing += [name for name in unpacked if not (folder / name).is_file()]
    problems = [f"{dag_id}: not at {folder}: {', '.join(missing)}"] if missing else []
    problems += [f"{dag_id}: size differs: {', '.join(wrong)}"] if wrong else []
    return problems


def main() -> int:
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="celery-check-")))
        shared = tmp / "shared"  # the destination every worker reaches
        write_dags(tmp / "dags")
        for chromosome in CHROMOSOMES:
            write_vcf(tmp / "study" / f"chr{chromosome}.vcf.gz", chromosomes=(chromosome,))
        database = stack.enter_context(postgres())
        broker = stack.enter_context(redis(tmp))
        sim = stack.enter_context(TisSimulator(run_seconds=15, export_seconds=0.5))
        print(
            f"PostgreSQL {database}, Redis {broker}, TIS simulator {sim.url} ({time.monotonic() - started:.0f} s)"
        )
        af = CeleryAirflowDeployment(
            tmp / "dags",
            home=tmp / "airflow-home",
            sql_alchemy_conn=database,
            broker_url=broker,
            workers=WORKERS,
            concurrency=1,
            variables={"tis_zip_password": ZIP_PASSWORD},
            pools={"tis_active_jobs": 3},
            env={
                # the connection as every component would see it on its own machine: in its environment
                "AIRFLOW_CONN_TIS_DEFAULT": sim.connection_json(),
                "TIS_EXAMPLE_POLL_SECONDS": "1",
                "TIS_EXAMPLE_RETRY_SECONDS": "1",
                "TIS_EXAMPLE_DEFERRABLE": "true",
            },
        )
        stack.enter_context(af)
        print(
            f"Airflow with {WORKERS} Celery workers and a triggerer up ({time.monotonic() - started:.0f} s)"
        )
        conf = {"vcfs": str(tmp / "study" / "*.vcf.gz"), "results": f"file://{shared}/results"}
        runs = {dag_id: af.trigger(dag_id, conf) for dag_id in (DEFERRED, RESCHEDULED)}
        for dag_id, run_id in runs.items():
            af.wait_for_run(dag_id, run_id, timeout=600)
        problems = check(af, sim, runs, shared / "results")
    print(f"\nwall time {time.monotonic() - started:.0f} s; every process stopped, folders removed")
    for problem in problems:
        print(f"FAILED: {problem}", file=sys.stderr)
    print("FAILED" if problems else "OK: the CeleryExecutor ran the example DAG on both workers")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
