"""The example DAG on a real deployment: scheduler, DAG processor, triggerer and API server as separate
processes (``AirflowDeployment``), not ``airflow dags test``, which runs a trigger inline in its own process.

One deployment serves the module; each test starts its own DAG run against one TIS simulator.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from airflow_provider_tis.testing import AirflowDeployment, TisSimulator, write_vcf

if TYPE_CHECKING:
    from collections.abc import Iterator

EXAMPLE = Path(__file__).resolve().parents[2] / "example_dags" / "tis_imputation.py"
ZIP_PASSWORD = "Zip-Secret_4711"
DEFERRED_DAG, RESCHEDULE_DAG = "tis_imputation", "tis_imputation_reschedule"
STEP_MESSAGES = ("Input Validation:", "Quality Control:", "Phasing and Imputation:", "Summary:")
CANCELED = 6  # Cloudgene's state code


class World:
    def __init__(self, sim: TisSimulator, airflow: AirflowDeployment, inputs: Path, results: Path) -> None:
        self.sim, self.airflow, self.inputs, self.results = sim, airflow, inputs, results

    def trigger(self, dag_id: str) -> str:
        return self.airflow.trigger(
            dag_id, {"vcfs": str(self.inputs / "*.vcf.gz"), "results": str(self.results)}
        )

    def watch(
        self, dag_id: str, run_id: str, task_id: str = "wait", until: tuple[str, ...] = ()
    ) -> list[str]:
        """The task's states as seen every 0.1 s, until the run ends (or the task reaches ``until``)."""
        seen: list[str] = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            state = self.airflow.task_state(dag_id, run_id, task_id)
            if state and (not seen or seen[-1] != state):
                seen.append(state)
            if state in until or self.airflow.run_state(dag_id, run_id) in ("success", "failed"):
                return seen
            self.airflow.check_alive()
            time.sleep(0.1)
        raise AssertionError(f"{dag_id} run {run_id} did not end; {task_id} went through {seen}")

    def job_of(self, dag_id: str, run_id: str) -> str:
        rows = self.airflow.query(
            "SELECT value FROM xcom WHERE dag_id = ? AND run_id = ? AND task_id = 'submit' AND key = 'return_value'",
            dag_id,
            run_id,
        )
        assert rows, "the submit task pushed no job id"
        return str(rows[0][0]).strip('"')

    def wait_until_the_triggerer_runs_the_wait(self, dag_id: str, run_id: str) -> None:
        """Deferred is not enough: the triggerer claims a trigger, then starts it (and logs that)."""
        deadline = time.monotonic() + 60
        while not any(" starting" in log for log in self.airflow.trigger_logs(dag_id, run_id, "wait")):
            assert time.monotonic() < deadline, "no triggerer started the trigger"
            time.sleep(0.1)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    dags = tmp_path_factory.mktemp("dags")
    source = EXAMPLE.read_text()
    (dags / EXAMPLE.name).write_text(source)
    # the same example in reschedule mode, under another id (the mode is chosen when the file is parsed)
    reschedule = source.replace(f'dag_id="{DEFERRED_DAG}"', f'dag_id="{RESCHEDULE_DAG}"')
    (dags / f"{RESCHEDULE_DAG}.py").write_text(
        reschedule.replace("deferrable=DEFERRABLE", "deferrable=False")
    )
    inputs = tmp_path_factory.mktemp("study")
    for chromosome in ("20", "21"):
        write_vcf(inputs / f"chr{chromosome}.vcf.gz", chromosomes=(chromosome,))
    env = {
        "TIS_EXAMPLE_POLL_SECONDS": "1",
        "TIS_EXAMPLE_RETRY_SECONDS": "1",
        "TIS_EXAMPLE_DEFERRABLE": "true",
        "TIS_EXAMPLE_CANCEL_ON_KILL": "true",
    }
    with TisSimulator(run_seconds=8, export_seconds=0.5) as sim:
        deployment = AirflowDeployment(
            dags,
            home=tmp_path_factory.mktemp("airflow-home"),
            connections={"tis_default": sim.connection_json()},
            variables={"tis_zip_password": ZIP_PASSWORD},
            pools={"tis_active_jobs": 3},
            env=env,
        )
        with deployment:
            yield World(sim, deployment, inputs, tmp_path_factory.mktemp("results"))


def test_a_deferred_wait_runs_in_the_triggerer_and_resumes_in_a_new_worker(world: World) -> None:
    run_id = world.trigger(DEFERRED_DAG)
    seen = world.watch(DEFERRED_DAG, run_id)

    assert world.airflow.run_state(DEFERRED_DAG, run_id) == "success", seen
    assert seen[seen.index("deferred") - 1] == "running" and seen[-1] == "success", seen
    assert "deferred" in seen
    logs = world.airflow.task_logs(DEFERRED_DAG, run_id, "wait")
    assert list(logs) == [1]  # one try: deferring is not a retry
    worker_log = logs[1]
    # a worker process parsed the DAG, deferred, and a second worker process parsed it again to resume
    assert worker_log.count("Worker startup parse complete") == 2
    assert worker_log.index("Pausing task as DEFERRED") < worker_log.rindex("Worker startup parse complete")
    trigger_logs = world.airflow.trigger_logs(DEFERRED_DAG, run_id, "wait")
    assert len(trigger_logs) == 1, "the triggerer wrote no log for the trigger"
    trigger_log = trigger_logs[0]
    assert "airflow_provider_tis.triggers.tis.JobStateTrigger" in trigger_log
    assert "Trigger fired event" in trigger_log and "'status': 'success'" in trigger_log
    job_id = world.job_of(DEFERRED_DAG, run_id)
    assert (world.results / job_id / "chr20.dose.vcf.gz").exists()


def test_a_rescheduled_wait_frees_its_worker_and_logs_each_message_once(world: World) -> None:
    run_id = world.trigger(RESCHEDULE_DAG)
    seen = world.watch(RESCHEDULE_DAG, run_id)

    assert world.airflow.run_state(RESCHEDULE_DAG, run_id) == "success", seen
    assert seen.count("up_for_reschedule") >= 2, seen  # several pokes, a worker freed between each
    assert "deferred" not in seen
    # Airflow 3.3 may number a later poke as a new try under load (same task instance id, so the same
    # task state store): count over every log of the task
    log = "".join(world.airflow.task_logs(RESCHEDULE_DAG, run_id, "wait").values())
    assert log.count("Worker startup parse complete") >= 3
    for message in STEP_MESSAGES:
        assert log.count(message) == 1, f"{message!r} logged {log.count(message)} times"


def test_clearing_a_deferred_wait_cancels_the_remote_job(world: World) -> None:
    run_id = world.trigger(DEFERRED_DAG)
    world.watch(DEFERRED_DAG, run_id, until=("deferred",))
    world.wait_until_the_triggerer_runs_the_wait(DEFERRED_DAG, run_id)
    job_id = world.job_of(DEFERRED_DAG, run_id)

    world.airflow.api(
        "POST",
        f"/api/v2/dags/{DEFERRED_DAG}/clearTaskInstances",
        {"dry_run": False, "dag_run_id": run_id, "task_ids": ["wait"], "only_failed": False},
    )

    world.sim.wait_for_state(job_id, CANCELED, timeout=60)
    trigger_log = world.airflow.trigger_logs(DEFERRED_DAG, run_id, "wait")[0]
    assert "Trigger cancelled by user action" in trigger_log
    assert f"Canceled TIS job {job_id}" in trigger_log
    assert len(world.sim.requests_to("cancel")) == 1


def test_a_triggerer_restarted_in_the_middle_of_a_wait_picks_the_trigger_up_again(world: World) -> None:
    run_id = world.trigger(DEFERRED_DAG)
    world.watch(DEFERRED_DAG, run_id, until=("deferred",))
    world.wait_until_the_triggerer_runs_the_wait(DEFERRED_DAG, run_id)
    job_id = world.job_of(DEFERRED_DAG, run_id)
    starts = world.airflow.log_of("triggerer").count("Starting the triggerer")

    world.airflow.restart_component("triggerer")

    assert world.sim.job(job_id).state not in (4, 5, 6), "the job ended before the restart: nothing shown"
    assert world.airflow.wait_for_run(DEFERRED_DAG, run_id, timeout=240) == "success"
    assert world.airflow.log_of("triggerer").count("Starting the triggerer") == starts + 1
    trigger_logs = world.airflow.trigger_logs(DEFERRED_DAG, run_id, "wait")
    assert len(trigger_logs) == 2, "the trigger did not run in both triggerers"  # one log per triggerer job
    assert list(world.airflow.task_logs(DEFERRED_DAG, run_id, "wait")) == [1]


def test_no_secret_is_left_under_the_airflow_home_or_in_the_database(world: World) -> None:
    succeeded = world.airflow.query("SELECT count(*) FROM dag_run WHERE state = 'success'")[0][0]
    assert succeeded >= 1, "no run happened: nothing to search"
    stored = world.airflow.query("SELECT is_encrypted FROM connection WHERE conn_id = 'tis_default'")
    assert stored == [(1,)]
    secrets = {"token": world.sim.token.encode(), "zip password": ZIP_PASSWORD.encode()}
    files = [p for p in world.airflow.home.rglob("*") if p.is_file()]
    assert any(p.name == "airflow.db" for p in files)
    assert any("attempt=" in p.name for p in files)
    for path in files:
        data = path.read_bytes()
        for what, secret in secrets.items():
            assert secret not in data, f"the {what} is in {path.relative_to(world.airflow.home)}"
