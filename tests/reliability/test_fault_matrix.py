"""Every route the provider calls, hit by a burst of 503, 502, 500 or 429-with-Retry-After answers.

Each case runs the provider's own operator, sensor or hook call that uses the route, against the
simulator over HTTP, and checks: the outcome is what it would have been without the fault, nothing was
duplicated (one job, one download of each file unless the budget rule allows a second), and the retries
were bounded and backed off (the waits the retry policy chose are recorded, not slept).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from airflow_provider_tis.hooks import RetryPolicy, TisHook, tis
from airflow_provider_tis.operators import (
    CancelJobOperator,
    DownloadResultsOperator,
    SubmitImputationOperator,
)
from airflow_provider_tis.sensors import JobStateSensor
from airflow_provider_tis.triggers import JobStateTrigger
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_tis.testing import TisSimulator

PARAMS = {"refpanel": "topmed-r3", "population": "all", "password": "Pw12345"}
RETRY_AFTER = 7.0
FAULTS = {
    "503": {"status": 503},
    "502": {"status": 502},
    "500": {"status": 500},
    "429+Retry-After": {"status": 429, "retry_after": RETRY_AFTER},
}
BURST = 2


@dataclass
class World:
    sim: TisSimulator
    vcf: Path
    tmp: Path

    def finished_job(self) -> str:
        job_id = TisHook().submit_job([self.vcf], PARAMS)
        self.sim.wait_for_state(job_id, 4)
        return job_id

    def running_job(self) -> str:
        self.sim.config.run_seconds = 60
        job_id = TisHook().submit_job([self.vcf], PARAMS)
        self.sim.wait_for_state(job_id, 2)
        return job_id


def submit(world: World) -> None:
    job_id = SubmitImputationOperator(
        task_id="submit", files=str(world.vcf), capacity_poll_interval=0.01, **PARAMS
    ).execute(make_context())
    assert list(world.sim.jobs.jobs) == [job_id]  # exactly one job


def wait(world: World) -> None:
    job_id = TisHook().submit_job([world.vcf], PARAMS)
    sensor = JobStateSensor(task_id="wait", job_id=job_id, poke_interval=0.05, mode="poke")
    assert sensor.execute(make_context(task_id="wait"))["state"] == "SUCCESS"


def download(world: World) -> None:
    job_id = world.finished_job()
    out = world.tmp / "out"
    DownloadResultsOperator(task_id="download", job_id=job_id, destination=str(out), max_parallel=1).execute(
        make_context(task_id="download")
    )
    served = {f.name: f.path.read_bytes() for f in world.sim.jobs.jobs[job_id].files}
    assert {n: (out / n).read_bytes() for n in served} == served  # every file, byte for byte
    assert not list(out.rglob("*.part"))


def cancel(world: World) -> None:
    job_id = world.running_job()
    state = CancelJobOperator(task_id="cancel", job_id=job_id, failed_settle_seconds=0.4).execute(
        make_context(task_id="cancel")
    )
    assert state == "CANCELED"


def restart(world: World) -> None:
    job_id = world.running_job()
    world.sim.restart()
    world.sim.config.run_seconds = 0.3
    sensor = JobStateSensor(task_id="wait", job_id=job_id, poke_interval=0.05, mode="poke", restart_dead=True)
    assert sensor.execute(make_context(task_id="wait"))["state"] == "SUCCESS"


def verify(world: World) -> None:
    ok, message = TisHook().test_connection()
    assert ok, message


#: Each route the provider calls, and the operator, sensor or hook call that exercises it.
SCENARIOS: dict[str, Callable[[World], None]] = {
    "server": submit,
    "app": submit,
    "jobs": submit,
    "submit": submit,
    "job": wait,
    "cancel": cancel,
    "restart": restart,
    "verify": verify,
    "share": download,
    "store": download,
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("route", SCENARIOS)
def test_a_burst_of_errors_on_every_route(tis_simulator, vcf, tmp_path, recorded_waits, route, fault):
    world = World(tis_simulator, vcf, tmp_path)
    burst = 1 if route == "share" else BURST  # each /share/results hit spends a download: one retry only
    tis_simulator.faults.fail(route, burst, **FAULTS[fault])

    SCENARIOS[route](world)

    answers = [r.status for r in tis_simulator.requests_to(route)]
    errors = [s for s in answers if s == FAULTS[fault]["status"]]
    assert len(errors) == burst, answers  # every injected error was met, and then the call went through
    assert answers[-1] in (200, 206, 301), answers
    waits = recorded_waits[:burst]
    assert len(recorded_waits) >= burst
    if fault == "429+Retry-After":
        assert all(w >= RETRY_AFTER for w in waits), waits  # the server's Retry-After is honoured
    else:
        assert all(0 < w <= 2 for w in waits) and waits == sorted(waits), waits  # backs off from ~1 s
    if route in ("share", "store"):  # one download spent per file, plus the failed hit
        (job,) = tis_simulator.jobs.jobs.values()
        assert len(tis_simulator.requests_to("share")) == len(job.files) + (burst if route == "share" else 0)


def test_a_second_share_error_stops_before_spending_a_third_download(
    tis_simulator, vcf, tmp_path, recorded_waits
):
    world = World(tis_simulator, vcf, tmp_path)
    job_id = world.finished_job()
    tis_simulator.faults.fail("share", 2, status=502)
    operator = DownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(tmp_path / "out"), include=["chr_20.zip"]
    )
    with pytest.raises(Exception, match="trying again would spend another download"):
        operator.execute(make_context(task_id="download"))
    assert [r.status for r in tis_simulator.requests_to("share")] == [502, 502]
    assert not (tmp_path / "out" / "chr_20.zip").exists() and not list(tmp_path.rglob("*.part"))
    operator.execute(make_context(task_id="download", try_number=2))  # the task's retry
    assert (tmp_path / "out" / "chr_20.zip").read_bytes() == tis_simulator.jobs.jobs[job_id].files[
        0
    ].path.read_bytes()
    assert len(tis_simulator.requests_to("share")) == 3


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_burst_of_errors_while_the_trigger_waits(tis_simulator, vcf, monkeypatch, fault):
    monkeypatch.setattr(tis, "RetryPolicy", lambda: RetryPolicy(initial_delay=0.05, max_delay=0.5))
    job_id = TisHook().submit_job([vcf], PARAMS)
    kwargs = {**FAULTS[fault], "retry_after": 0.4} if "retry_after" in FAULTS[fault] else FAULTS[fault]
    tis_simulator.faults.fail("job", BURST, **kwargs)
    trigger = JobStateTrigger(job_id=job_id, tis_conn_id="tis_default", poll_interval=0.05, end_time=1e12)
    loop = asyncio.get_running_loop()
    started = loop.time()
    event = await anext(trigger.run())
    assert event.payload["status"] == "success", event.payload
    answers = [r.status for r in tis_simulator.requests_to("job")]
    assert answers[:BURST] == [kwargs["status"]] * BURST and set(answers[BURST:]) == {200}
    if "retry_after" in kwargs:
        assert loop.time() - started >= BURST * 0.4
