"""CGI under faults: 5xx bursts on every route, lost and dropped answers, broken and slow transfers.

Each case runs the provider's own operator, sensor, trigger or hook call against the simulator over HTTP
and checks the outcome is what it would have been without the fault, that nothing was duplicated (one
job per task instance; a submission is never sent twice by the hook), that retries were bounded and
backed off (the waits the retry policy chose are recorded, not slept), and that no partial file is left.
"""

from __future__ import annotations

import asyncio
import json
import time
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pytest

from airflow_provider_tis.core.download import MAX_RESUMES
from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks import cgi as cgi_hook_module
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.hooks.cgi_models import CgiApiError, CgiConnectionError, CgiError, CgiTransferError
from airflow_provider_tis.operators.cgi import (
    CgiDeleteJobOperator,
    CgiDownloadResultsOperator,
    CgiSubmitOperator,
)
from airflow_provider_tis.sensors.cgi import CgiJobSensor
from airflow_provider_tis.testing import write_mutations
from airflow_provider_tis.triggers.cgi import CgiJobTrigger
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_tis.testing import CgiSimulator

RETRY_AFTER = 7.0
FAULTS = {
    "503": {"status": 503},
    "502": {"status": 502},
    "500": {"status": 500},
    "429+Retry-After": {"status": 429, "retry_after": RETRY_AFTER},
}
BURST = 2


@pytest.fixture
def waits(recorded_waits: list[float]) -> list[float]:
    """The waits the retry policy chose (it sleeps at most 10 ms); see tests/conftest.py."""
    return recorded_waits


@dataclass
class World:
    sim: CgiSimulator
    mutations: Path
    tmp: Path

    @property
    def out(self) -> Path:
        return self.tmp / "out"

    def job(self, status: str = "Done") -> str:
        job_id = CgiHook().submit_job({"mutations": self.mutations}, cancer_type="CANCER", title="setup")
        if status == "Done":
            self.sim.shift_clock(60)
        self.sim.wait_for_status(job_id, status, timeout=10)
        return job_id


@pytest.fixture
def world(cgi_simulator, tmp_path, waits) -> World:
    return World(cgi_simulator, write_mutations(tmp_path / "in" / "variants.tsv"), tmp_path)


def submit(world: World, try_number: int = 1, run_id: str = "run-1") -> str:
    return CgiSubmitOperator(task_id="submit", cancer_type="CANCER", mutations=str(world.mutations)).execute(
        make_context(try_number=try_number, run_id=run_id)
    )


def wait(job_id: str) -> dict:
    op = CgiJobSensor(task_id="wait", job_id=job_id, poke_interval=0.05, mode="poke")
    context = make_context(task_id="wait")
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        result = op.poke(context)
        if result:
            return result.xcom_value
        time.sleep(op.poke_interval)
    raise AssertionError("the sensor never finished")


def download(job_id: str, destination: Path, **kwargs) -> list[str]:
    return CgiDownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def leftovers(folder: Path) -> list[str]:
    """Every file under ``folder`` except finished results and their manifest: partial files, mostly."""
    if not folder.exists():
        return []
    return [
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file()
        and MANIFEST_FOLDER not in p.parts
        and not (p.name.startswith("cgi_") and p.suffix == ".zip")
    ]


# -- a burst of errors on every route --------------------------------------------------------------


def on_list(world: World) -> None:
    job_id = submit(world)  # a submission first looks for an earlier try's job
    assert list(world.sim.jobs.jobs) == [job_id]


def on_status(world: World) -> None:
    job_id = world.job("Running")  # the setup calls only the submit route
    assert wait(job_id)["status"] == "Done"


def on_logs(world: World) -> None:
    job_id = world.job("Running")
    assert wait(job_id)["status"] == "Done"


def on_download(world: World) -> None:
    job_id = world.job()
    served = world.sim.job(job_id).zip_path.read_bytes()
    download(job_id, world.out, delete_job=False)
    assert (world.out / f"cgi_{job_id}.zip").read_bytes() == served


def on_delete(world: World) -> None:
    job_id = world.job()
    download(job_id, world.out)
    assert world.sim.jobs.jobs == {} and zipfile.is_zipfile(world.out / f"cgi_{job_id}.zip")


def on_delete_operator(world: World) -> None:
    job_id = world.job("Running")
    CgiDeleteJobOperator(task_id="delete", job_id=job_id).execute(make_context())
    assert world.sim.jobs.jobs == {}


ROUTES: dict[str, tuple[str, Callable[[World], None]]] = {
    "list": ("list", on_list),
    "status": ("status", on_status),
    "logs": ("logs", on_logs),
    "download": ("download", on_download),
    "delete": ("delete", on_delete),
    "delete operator": ("delete", on_delete_operator),
}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("case", list(ROUTES))
def test_idempotent_routes_retry_a_burst_and_succeed(world, waits, case, fault):
    route, run = ROUTES[case]
    world.sim.faults.fail(route, times=BURST, **FAULTS[fault])
    run(world)
    statuses = [r.status for r in world.sim.requests_to(route)]
    assert statuses[:BURST] == [FAULTS[fault]["status"]] * BURST and statuses[BURST] == 200
    assert len(waits) >= BURST and len(waits) <= BURST + 1  # bounded, and the burst was waited out
    if "retry_after" in FAULTS[fault]:
        assert waits[:BURST] == [RETRY_AFTER] * BURST
    else:
        assert all(0 < w <= 2 for w in waits[:BURST])  # exponential backoff from 1 s, with jitter
    assert len(world.sim.requests_to("submit")) <= 1  # one job, whatever the route
    assert leftovers(world.out) == []


@pytest.mark.parametrize("fault", list(FAULTS))
def test_a_submission_is_never_retried(world, waits, fault):
    world.sim.faults.fail("submit", times=BURST, **FAULTS[fault])
    with pytest.raises(CgiApiError) as err:
        submit(world)
    assert err.value.status == FAULTS[fault]["status"]
    assert [r.status for r in world.sim.requests_to("submit")] == [FAULTS[fault]["status"]]
    assert world.sim.jobs.jobs == {} and waits == []
    # the task's next try submits once, and only once
    world.sim.faults.clear()
    job_id = submit(world, try_number=2)
    assert list(world.sim.jobs.jobs) == [job_id] and len(world.sim.requests_to("submit")) == 2


async def test_the_trigger_waits_out_a_burst(world, monkeypatch):
    # the async client sleeps with asyncio.sleep (never the policy's sleep): keep the waits short
    monkeypatch.setattr(
        cgi_hook_module, "RetryPolicy", lambda: RetryPolicy(initial_delay=0.01, max_delay=0.05)
    )
    job_id = world.job("Running")
    world.sim.faults.fail("status", times=BURST, status=503)
    world.sim.faults.fail("logs", times=BURST, status=429, retry_after=0.05)
    trigger = CgiJobTrigger(job_id, "cgi_default", poll_interval=0.05, end_time=time.time() + 30)
    event = (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload
    assert event["status"] == "success"
    assert [r.status for r in world.sim.requests_to("status")][:3] == [503, 503, 200]
    assert [r.status for r in world.sim.requests_to("logs")][:3] == [429, 429, 200]


def test_a_persistent_5xx_is_bounded(world, waits):
    job_id = world.job()
    world.sim.faults.fail("status", times=100, status=500)
    with pytest.raises(CgiApiError, match="HTTP 500"):
        CgiHook().get_job(job_id)
    assert len(world.sim.requests_to("status")) == RetryPolicy().max_attempts
    assert len(waits) == RetryPolicy().max_attempts - 1


# -- lost answers -----------------------------------------------------------------------------------


def test_a_lost_submit_answer_gives_one_job_end_to_end(world, waits):
    world.sim.faults.drop_submit_response()
    with pytest.raises(CgiConnectionError):
        submit(world, try_number=1)
    assert waits == [] and len(world.sim.requests_to("submit")) == 1  # the hook did not send it again
    (created,) = world.sim.jobs.jobs
    world.sim.faults.fail("list", times=BURST, status=503)  # and the retry's search meets a burst
    job_id = submit(world, try_number=2)
    assert job_id == created and len(world.sim.requests_to("submit")) == 1
    assert wait(job_id)["status"] == "Done"
    download(job_id, world.out, extract=True)
    assert world.sim.jobs.jobs == {} and (world.out / "summary.txt").is_file()


def test_a_lost_submit_answer_then_a_later_run_gets_its_own_job(world):
    world.sim.faults.drop_submit_response()
    with pytest.raises(CgiConnectionError):
        submit(world, run_id="run-1")
    (lost,) = world.sim.jobs.jobs
    later = submit(world, run_id="run-2")
    assert later != lost and set(world.sim.jobs.jobs) == {lost, later}


def test_an_upload_dropped_midway_creates_no_job_and_is_not_resent(world, waits):
    world.sim.faults.drop_upload_after(50)
    with pytest.raises(CgiError):
        submit(world)
    assert world.sim.jobs.jobs == {} and len(world.sim.requests_to("submit")) == 1 and waits == []
    job_id = submit(world, try_number=2)
    assert list(world.sim.jobs.jobs) == [job_id]


# -- broken, lying and slow transfers ---------------------------------------------------------------


@pytest.mark.parametrize("ranges", [True, False])
def test_a_dropped_download_resumes_or_restarts(world, waits, ranges):
    world.sim.config.download_ranges = ranges
    job_id = world.job()
    served = world.sim.job(job_id).zip_path.read_bytes()
    world.sim.faults.drop_download_after(400)
    download(job_id, world.out, delete_job=False)
    assert (world.out / f"cgi_{job_id}.zip").read_bytes() == served
    sent = world.sim.requests_to("download")
    assert len(sent) == 2 and sent[0].range is None
    assert sent[1].range == "bytes=400-"  # asks for the rest either way
    assert sent[1].status == (206 if ranges else 200)
    assert leftovers(world.out) == [] and len(waits) == 1


def test_a_download_that_keeps_breaking_gives_up_leaving_nothing(world, waits):
    world.sim.config.download_ranges = True
    job_id = world.job()
    world.sim.faults.drop_download_after(100, times=MAX_RESUMES + 5)
    with pytest.raises(CgiTransferError, match=f"gave up after {MAX_RESUMES} broken transfers"):
        download(job_id, world.out, extract=True)
    assert len(world.sim.requests_to("download")) == MAX_RESUMES + 1
    assert leftovers(world.out) == [] and not (world.out / f"cgi_{job_id}.zip").exists()
    assert job_id in world.sim.jobs.jobs and world.sim.requests_to("delete") == []  # results not safe yet
    world.sim.faults.clear()
    download(job_id, world.out)  # the task's next try gets everything
    assert zipfile.is_zipfile(world.out / f"cgi_{job_id}.zip") and world.sim.jobs.jobs == {}


@pytest.mark.parametrize(
    ("lie", "words"),
    [
        ("short_chunked", "not a complete zip"),  # no length announced, ends early and cleanly
        ("short_length", "not a complete zip"),  # a length that matches the short body
        ("no_content_range", "no valid Content-Range"),  # 206 with no way to place its bytes
    ],
)
def test_a_lying_download_never_leaves_a_file(world, lie, words):
    job_id = world.job()
    world.sim.faults.lie_in_download(lie, nbytes=300, times=MAX_RESUMES + 2)
    with pytest.raises(CgiTransferError, match=words):
        download(job_id, world.out, extract=True)
    assert leftovers(world.out) == [] and not (world.out / f"cgi_{job_id}.zip").exists()
    assert job_id in world.sim.jobs.jobs


def test_a_download_without_end_stops_at_the_bound_and_keeps_nothing(world, monkeypatch):
    from airflow_provider_tis.hooks.cgi import CgiResultsSource

    job_id = world.job()
    monkeypatch.setattr(CgiResultsSource, "listed", (0, 1 << 20))  # the real bound is 2 GiB
    world.sim.faults.lie_in_download("endless")
    with pytest.raises(CgiTransferError, match="sent more than"):
        download(job_id, world.out)
    assert leftovers(world.out) == [] and job_id in world.sim.jobs.jobs


@pytest.mark.parametrize("fault", ["slow", "trickle"])
def test_a_stalled_answer_is_cut_off_and_retried(world, waits, monkeypatch, fault):
    job_id = world.job()
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", world.sim.connection_json(timeout=0.5))
    if fault == "slow":
        world.sim.faults.slow("status", 2.0, times=1)
    else:
        world.sim.faults.trickle("status", 0.1)  # each byte in time, the whole answer far too late
    started = time.monotonic()
    assert CgiHook().get_job(job_id).status.value == "Done"
    assert time.monotonic() - started < 2.0 and len(waits) == 1
    deadline = time.monotonic() + 5  # the server logs the stalled request once it gives up on it
    while len(world.sim.requests_to("status")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(world.sim.requests_to("status")) == 2


def test_a_job_deleted_while_a_submission_looks_for_its_earlier_try(world):
    """Another task of the account (a download with delete_job) removes its job between the list and the
    look at that job: the submission must carry on, not fail on a job that is not its own."""
    world.sim.faults.rewrite(
        "list", lambda ids: (json.dumps([*ids, "0000000000000000dead"]).encode(), "application/json")
    )
    job_id = submit(world)
    assert list(world.sim.jobs.jobs) == [job_id] and len(world.sim.requests_to("submit")) == 1
