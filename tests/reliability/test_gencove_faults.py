"""Gencove faults where the other Gencove tests do not reach: 429 and maintenance (with its
``maintenance_eta``) in the middle of GencoveDownloadOperator's work, together with a dropped transfer, and
a maintenance that the sensor and the trigger wait out by its ETA instead of polling into it.

(tests/integration/test_gencove_hook_simulator.py covers them for single hook calls,
tests/operators/test_gencove_transfer.py expired links and dropped downloads, and
tests/operators/test_gencove_wait.py 429 and a short maintenance during waits.)
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks import gencove as gencove_hook
from airflow_provider_tis.hooks.gencove_errors import GencoveMaintenanceError
from airflow_provider_tis.operators.gencove_transfer import GencoveDownloadOperator
from airflow_provider_tis.sensors.gencove import GencoveSampleSensor
from airflow_provider_tis.testing.gencove import FAST, GencoveSimulator
from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger
from airflow_provider_tis.version_compat import PokeReturnValue
from tests.operators.conftest import make_context

MAINTENANCE = 0.6  # seconds: each test's maintenance window
#: FAST as keyword arguments of GencoveSimulator (typed loosely: they override config fields).
SIMULATOR: dict[str, Any] = dict(FAST)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch) -> Any:
    with GencoveSimulator(**SIMULATOR) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", simulator.connection_json())
        yield simulator


def finished(sim: GencoveSimulator, client_id: str = "C1") -> str:
    sample_id = sim.add_sample(client_id)
    sim.wait_for_status(sample_id)
    return sample_id


def download(sample_id: str, destination: Path, **kwargs: Any) -> list[str]:
    return GencoveDownloadOperator(
        task_id="download", sample_ids=[sample_id], destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def bam_of(sim: GencoveSimulator, sample_id: str) -> Any:
    return next(f for f in sim.sample(sample_id).files if f.file_type == "bam")


def statuses(sim: GencoveSimulator, route: str) -> list[int]:
    return [r.status for r in sim.requests_to(route)]


# -- the download path ------------------------------------------------------------------------------


def test_a_download_whose_sample_read_is_throttled_waits_and_completes(sim, tmp_path):
    sample_id = finished(sim)
    sim.faults.fail("sample", times=2, status=429, retry_after=0.2)
    started = time.monotonic()
    download(sample_id, tmp_path / "out", file_types=["bam"])
    bam = bam_of(sim, sample_id)
    assert (tmp_path / "out" / "C1" / bam.filename).read_bytes() == bam.path.read_bytes()
    assert statuses(sim, "sample")[:3] == [429, 429, 200]
    assert time.monotonic() - started >= 0.4  # each Retry-After was honoured


def test_a_dropped_download_whose_link_expired_resumes_even_when_the_fresh_link_read_is_throttled(
    sim, tmp_path
):
    sim.config.bam_size = 256 * 1024
    sample_id = finished(sim)
    sim.faults.drop_download_after(40_000)  # the transfer breaks ...
    sim.faults.fail("store", status=403, message="Request has expired", after=1)  # ... its link expired ...
    # ... and reading the sample again for a fresh link is throttled (the plan's and first link's pass)
    sim.faults.fail("sample", status=429, retry_after=0.05, after=2)
    download(sample_id, tmp_path / "out", file_types=["bam"])
    bam = bam_of(sim, sample_id)
    assert (tmp_path / "out" / "C1" / bam.filename).read_bytes() == bam.path.read_bytes()
    assert statuses(sim, "sample") == [200, 200, 429, 200]
    store = sim.requests_to("store")
    assert [r.status for r in store][:2] == [200, 403] and store[-1].range == "bytes=40000-"


def test_a_download_in_maintenance_waits_until_its_eta_then_completes(sim, tmp_path):
    sample_id = finished(sim)
    sim.start_maintenance(seconds=MAINTENANCE)
    started = time.monotonic()
    download(sample_id, tmp_path / "out", file_types=["bam"])
    waited = time.monotonic() - started
    bam = bam_of(sim, sample_id)
    assert (tmp_path / "out" / "C1" / bam.filename).read_bytes() == bam.path.read_bytes()
    assert waited >= MAINTENANCE - 0.1
    # the ETA set the wait: one or two 503s, not a poll into the maintenance (nor a 60 s default delay)
    assert 1 <= statuses(sim, "sample").count(503) <= 2 and waited < 10


def test_maintenance_longer_than_the_policy_fails_the_download_with_its_eta_and_writes_nothing(
    sim, tmp_path, monkeypatch
):
    policy = RetryPolicy(max_attempts=2, max_delay=0.2, maintenance_delay=0.1, max_maintenance=0.5)
    monkeypatch.setattr(gencove_hook, "DEFAULT_RETRY", policy)
    sample_id = finished(sim)
    sim.start_maintenance(seconds=600)
    with pytest.raises(GencoveMaintenanceError, match="under maintenance until about") as caught:
        download(sample_id, tmp_path / "out", file_types=["bam"])
    assert caught.value.eta is not None and sim.api_key not in str(caught.value)
    assert sim.requests_to("store") == [] and not (tmp_path / "out").exists()


# -- the sensor and trigger path ------------------------------------------------------------------------


def test_the_sensor_waits_out_maintenance_by_its_eta(sim):
    ids = [finished(sim)]
    sim.start_maintenance(seconds=MAINTENANCE)
    op = GencoveSampleSensor(
        task_id="wait", project_id=sim.project_id, sample_ids=ids, mode="poke", poke_interval=0.05
    )
    started = time.monotonic()
    result = op.poke(make_context(task_id="wait"))  # one poke: the request loop waits for the ETA
    assert isinstance(result, PokeReturnValue) and result.xcom_value == ids
    assert time.monotonic() - started >= MAINTENANCE - 0.1
    assert 1 <= statuses(sim, "project_samples").count(503) <= 2


async def test_the_trigger_waits_out_maintenance_by_its_eta_without_polling_into_it(sim):
    ids = [finished(sim)]
    sim.start_maintenance(seconds=MAINTENANCE)
    trigger = GencoveSampleTrigger(
        project_id=sim.project_id,
        sample_ids=ids,
        gencove_conn_id="gencove_default",
        poll_interval=0.05,
        end_time=time.time() + 30,
    )
    started = time.monotonic()
    event = (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload
    assert event["status"] == "success"
    assert time.monotonic() - started >= MAINTENANCE - 0.1
    # at a 0.05 s poll interval, polling into the maintenance would have cost about a dozen 503s
    assert 1 <= statuses(sim, "project_samples").count(503) <= 2
