"""JobStateTriggers of one connection in one loop poll together: one job list per interval for all of
them, one job read per job that changed; each still fires its own event (against the TIS simulator)."""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import pytest
import requests

from airflow_provider_tis.core.shared_clients import shared_client_count
from airflow_provider_tis.testing import TisSimulator, write_vcf
from airflow_provider_tis.triggers import JobStateTrigger

if TYPE_CHECKING:
    from pathlib import Path

POLL = 0.5


def submit_jobs(sim: TisSimulator, count: int, tmp_path: Path) -> list[str]:
    """``count`` jobs submitted the way any client does (not what is measured)."""
    body = write_vcf(tmp_path / "chr20.vcf.gz", chromosomes=("20",)).read_bytes()
    session = requests.Session()

    def submit(_: int) -> str:
        answer = session.post(
            f"{sim.url}/api/v2/jobs/submit/imputationserver2",
            headers={"X-Auth-Token": sim.token},
            files=[
                ("refpanel", (None, "apps@topmed-r3@1.0.0")),
                ("population", (None, "all")),
                ("files", ("chr20.vcf.gz", body)),
            ],
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["id"])

    with ThreadPoolExecutor(8) as pool:
        return list(pool.map(submit, range(count)))


def start(job_ids: list[str], **kwargs: float) -> dict[str, asyncio.Future]:
    triggers = [
        JobStateTrigger(
            job_id,
            "tis_default",
            poll_interval=POLL,
            end_time=time.time() + 300,
            failed_settle_seconds=0.1,
            **kwargs,
        )
        for job_id in job_ids
    ]
    return {t.job_id: asyncio.ensure_future(t.run().__anext__()) for t in triggers}


def job_reads(sim: TisSimulator, since: int, job_id: str | None = None) -> int:
    """Job reads since request number ``since`` (of ``job_id`` only, if given)."""
    return sum(
        1
        for r in list(sim.requests)[since:]
        if r.route == "job" and job_id in (None, r.path.rsplit("/", 1)[-1])
    )


def listings(sim: TisSimulator, since: int) -> int:
    return sum(1 for r in list(sim.requests)[since:] if r.route == "jobs")


async def stop(runs: dict[str, asyncio.Future]) -> None:
    for run in runs.values():
        run.cancel()
    await asyncio.gather(*runs.values(), return_exceptions=True)


@pytest.mark.tis_simulator(run_seconds=600, max_active_jobs=1000, threads=1000)
async def test_a_job_that_fails_among_999_running_fails_only_its_own_trigger(tis_simulator, tmp_path):
    sim = tis_simulator
    job_ids = submit_jobs(sim, 1000, tmp_path)
    started = len(sim.requests)
    runs = start(job_ids)
    # every trigger looks once (about 7 s for the thousand on this simulator), then the list serves all
    deadline = time.monotonic() + 120
    while job_reads(sim, started) < 1000 and time.monotonic() < deadline:
        await asyncio.sleep(POLL)
    await asyncio.sleep(2 * POLL)
    assert not any(run.done() for run in runs.values())
    assert job_reads(sim, started) == 1000  # the first look of each, nothing since
    quiet = len(sim.requests)
    await asyncio.sleep(6 * POLL)
    assert job_reads(sim, quiet) == 0
    assert 1 <= listings(sim, quiet) <= 7  # at most one job list per interval for the thousand
    assert shared_client_count() == 1

    doomed = job_ids[500]
    failing = len(sim.requests)
    requests.get(f"{sim.url}/api/v2/jobs/{doomed}/cancel", headers={"X-Auth-Token": sim.token}, timeout=10)
    event = (await asyncio.wait_for(runs[doomed], 10)).payload
    assert event["status"] == "failed" and event["job_id"] == doomed
    await asyncio.sleep(3 * POLL)
    assert [job for job, run in runs.items() if run.done()] == [doomed]
    # the one job that changed is read (again once its FAILED settles); nobody else's is
    assert 1 <= job_reads(sim, failing) == job_reads(sim, failing, doomed) <= 3
    await stop(runs)


@pytest.mark.tis_simulator(run_seconds=4, export_seconds=0.2, max_active_jobs=20, threads=20)
async def test_triggers_restarted_mid_wait_pick_up_and_fire_once_each(tis_simulator, tmp_path):
    sim = tis_simulator
    job_ids = submit_jobs(sim, 20, tmp_path)
    first = start(job_ids)
    await asyncio.sleep(3 * POLL)
    await stop(first)  # the triggerer stops: every trigger is cancelled mid-wait
    assert shared_client_count() == 0
    stopped, stopped_at = len(sim.requests), time.time()
    await asyncio.sleep(3 * POLL)
    assert listings(sim, stopped) == job_reads(sim, stopped) == 0  # nothing polls for the stopped ones

    # a triggerer starts them again from what the database holds: their serialized form
    restarted = {}
    for job_id in job_ids:
        path, kwargs = JobStateTrigger(job_id, "tis_default", POLL, time.time() + 300).serialize()
        assert path == "airflow_provider_tis.triggers.job_state.JobStateTrigger"
        restarted[job_id] = asyncio.ensure_future(JobStateTrigger(**kwargs).run().__anext__())
    events = [(await run).payload for run in asyncio.as_completed(list(restarted.values()), timeout=60)]
    assert sorted(e["job_id"] for e in events) == sorted(job_ids)
    assert {e["status"] for e in events} == {"success"}
    waited = time.time() - stopped_at
    # per job: the first look, a look per change the list showed (three steps, export, success)
    assert job_reads(sim, stopped) <= 20 * 6
    assert listings(sim, stopped) <= waited / POLL + 2


@pytest.mark.tis_simulator(run_seconds=600, max_active_jobs=30, threads=30)
async def test_maintenance_of_the_job_list_is_waited_out_together(tis_simulator, tmp_path):
    sim = tis_simulator
    job_ids = submit_jobs(sim, 30, tmp_path)
    runs = start(job_ids)
    await asyncio.sleep(2 * POLL)
    sim.maintenance = True
    since = len(sim.requests)
    await asyncio.sleep(5 * POLL)
    assert not any(run.done() for run in runs.values())
    assert job_reads(sim, since) == 0  # nobody falls back to reading its job alone
    assert 1 <= listings(sim, since) <= 6
    sim.maintenance = False
    sim.delete_job(job_ids[3])
    event = (await asyncio.wait_for(runs[job_ids[3]], 10)).payload
    assert event["status"] == "failed" and "does not exist" in event["message"]
    assert sum(run.done() for run in runs.values()) == 1
    await stop(runs)
