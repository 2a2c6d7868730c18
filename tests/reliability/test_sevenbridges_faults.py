"""Seven Bridges under faults, over HTTP against the simulator: 429s (reset in seconds and in
milliseconds, waits capped), maintenance, bursts of 5xx on task reads and on part uploads (retried to
success, or failing with a clear temporary-error message once the retry budget is spent), an expired
download link renewed and resumed with Range, a part upload dropped mid-part, and an upload that cannot
complete (aborted, no half file).

Also covered, in tests/integration/test_sevenbridges_hook_simulator.py (not repeated here): a 429 waited
out until the reset with the reset in seconds and in milliseconds (``test_a_429_waits_for_the_reset...``),
the used-up budget held until its reset, maintenance waited out and maintenance longer than the policy
(``test_maintenance_...``), a creation re-sent after maintenance but never after a 5xx, one 503 on a part
(``test_a_part_whose_store_hiccups_is_sent_again``) and a part refused for good aborting the upload.
"""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import pytest

from airflow_provider_tis.core.errors import is_temporary
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgApiError,
    SbgRateLimitError,
    SbgUploadError,
)
from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus
from airflow_provider_tis.sensors.sevenbridges import SevenBridgesTaskSensor
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from pathlib import Path

PART = 1024  # the simulator's smallest part here, so small files take several parts
BURST = [502, 503, 500]
CAP = 2.0  # the longest wait the policy allows here


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with SevenBridgesSimulator(**FAST, min_part_size=PART) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture
def waits() -> list[float]:
    return []


@pytest.fixture
def hook(sim: SevenBridgesSimulator, waits: list[float]) -> SevenBridgesHook:
    """The hook with a policy whose waits are recorded (and slept at most 10 ms each)."""

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.01))

    policy = RetryPolicy(
        max_attempts=4,
        initial_delay=0.5,
        max_delay=CAP,
        max_elapsed=60.0,
        maintenance_delay=0.05,
        max_maintenance=2.0,
        sleep=sleep,
    )
    return SevenBridgesHook(retry_policy=policy)


def statuses(sim: SevenBridgesSimulator, route: str) -> list[int]:
    return [r.status for r in sim.requests_to(route)]


def running_task(hook: SevenBridgesHook, sim: SevenBridgesSimulator) -> str:
    reads = sim.add_file(f"r-{os.urandom(3).hex()}.fq", b"ACGT\n")
    reference = sim.add_file(f"f-{os.urandom(3).hex()}.fa", b">c\nN\n")
    inputs = {k: {"class": "File", "path": v} for k, v in (("reads", reads), ("reference", reference))}
    return hook.create_task(sim.demo_app, inputs, run=True).id


def source(tmp_path: Path, size: int) -> tuple[Path, bytes]:
    data = os.urandom(size)
    path = tmp_path / "reads.bam"
    path.write_bytes(data)
    return path, data


# -- rate limit and maintenance ------------------------------------------------------------------------


@pytest.mark.parametrize("in_ms", [False, True], ids=["reset-in-seconds", "reset-in-milliseconds"])
def test_a_429_whose_reset_is_far_waits_at_most_the_cap(hook, sim, waits, in_ms):
    """A reset an hour away (or misread: milliseconds taken for seconds would be 50 years) is never
    waited whole: each wait stops at the policy's cap, and the call ends with what to do."""
    sim.config.rate_limit, sim.config.rate_window, sim.config.reset_in_ms = 1, 3600.0, in_ms
    hook.get_user()  # the window's one request
    started = time.monotonic()
    with pytest.raises(SbgRateLimitError) as caught:
        hook.get_user()
    assert time.monotonic() - started < 5
    assert waits and max(waits) <= CAP and max(waits) > CAP / 2  # waited towards the reset, capped
    assert "rate limit" in str(caught.value).lower() and sim.token not in str(caught.value)
    assert 429 in statuses(sim, "user")


def test_maintenance_during_a_sensor_poke_is_waited_out_within_the_poke(hook, sim, logs):
    sim.config.run_seconds = 30  # still running when the poke looks
    task_id = running_task(hook, sim)
    sim.arm_maintenance(times=3)  # 503 with code 0: not a failure, the platform is down for a while
    op = SevenBridgesTaskSensor(task_id="wait", sbg_task_id=task_id, mode="poke", poke_interval=0.02)
    op.__dict__["hook"] = hook  # the recording policy
    assert op.poke(make_context(task_id="wait")) is False  # still running: the sensor keeps waiting
    assert statuses(sim, "task") == [503, 503, 503, 200]  # waited out inside the one poke
    assert any("down for maintenance" in line for line in logs())


# -- 5xx bursts ---------------------------------------------------------------------------------------


def test_a_burst_of_5xx_on_task_reads_is_retried_to_success(hook, sim, waits):
    task_id = running_task(hook, sim)
    for status in BURST:
        sim.faults.fail("task", status=status)
    assert hook.get_task(task_id).id == task_id
    assert statuses(sim, "task") == [*BURST, 200]
    assert len(waits) == len(BURST) and waits == sorted(waits)  # backed off, growing


def test_a_5xx_burst_longer_than_the_retry_budget_fails_as_temporary(hook, sim):
    task_id = running_task(hook, sim)
    sim.faults.fail("task", times=10, status=503)
    with pytest.raises(SbgApiError) as caught:
        hook.get_task(task_id)
    assert len(sim.requests_to("task")) == 4  # max_attempts, then it stops
    message = str(caught.value)
    assert "HTTP 503" in message and "try again later" in message and sim.token not in message
    assert is_temporary(caught.value)  # a sensor looks again; an operator's retry may succeed


def test_a_sensor_poke_during_a_long_5xx_burst_looks_again_later(hook, sim, logs):
    task_id = running_task(hook, sim)
    sim.faults.fail("task", times=4, status=502)
    op = SevenBridgesTaskSensor(task_id="wait", sbg_task_id=task_id, mode="poke", poke_interval=0.02)
    op.__dict__["hook"] = hook
    assert op.poke(make_context(task_id="wait")) is False  # not failed: a temporary trouble
    assert any("will look again" in line for line in logs())
    sim.wait_for_status(task_id, timeout=10)
    assert op.poke(make_context(task_id="wait")).xcom_value["status"] == "COMPLETED"


def test_a_burst_of_5xx_on_a_part_upload_is_retried_and_the_bytes_are_right(hook, sim, tmp_path):
    path, data = source(tmp_path, 3 * PART + 7)
    for n, status in enumerate(BURST):  # the second part meets the burst
        sim.faults.fail("part_upload", status=status, after=1 if n == 0 else 0)
    made = hook.upload_file(path, part_size=PART, parallel=1)
    assert sim.read_file(made.id) == data
    assert statuses(sim, "part_upload") == [200, *BURST, 200, 200, 200]  # 4 parts, the 2nd sent 4 times
    assert len(sim.requests_to("upload_complete")) == 1 and sim.uploads.uploads == {}


def test_a_part_burst_longer_than_the_retry_budget_aborts_the_upload(hook, sim, tmp_path):
    path, _ = source(tmp_path, 3 * PART)
    sim.faults.fail("part_upload", times=10, status=503, after=1)
    with pytest.raises(SbgUploadError, match="The upload was aborted; run the task again") as caught:
        hook.upload_file(path, part_size=PART, parallel=1)
    assert "Signature" not in str(caught.value)
    assert statuses(sim, "upload_abort") == [204] and sim.uploads.uploads == {}
    assert hook.find_file("reads.bam") is None and not sim.requests_to("upload_complete")


# -- dropped and unfinished uploads -------------------------------------------------------------------


def test_a_part_dropped_mid_transfer_is_sent_again_and_the_file_is_whole(hook, sim, tmp_path):
    path, data = source(tmp_path, 3 * PART + 100)
    sim.faults.drop_upload_after(PART // 2)  # the store hangs up half-way through the first part
    made = hook.upload_file(path, part_size=PART, parallel=1)
    assert sim.read_file(made.id) == data and made.size == len(data)
    assert statuses(sim, "part_upload") == [0, 200, 200, 200, 200]  # 0: no answer, the connection died
    assert len(sim.requests_to("upload_report")) == 4 and sim.uploads.uploads == {}


def test_an_upload_that_cannot_complete_is_aborted_and_leaves_no_file(hook, sim, tmp_path, logs):
    path, _ = source(tmp_path, 2 * PART)
    sim.faults.fail("upload_complete", status=500)  # never re-sent: a complete is not idempotent
    with pytest.raises(SbgApiError, match="HTTP 500"):
        hook.upload_file(path, part_size=PART, parallel=1)
    assert statuses(sim, "upload_complete") == [500] and statuses(sim, "upload_abort") == [204]
    assert sim.uploads.uploads == {} and hook.find_file("reads.bam") is None
    assert not any(sim.token in line for line in logs())


# -- downloads -----------------------------------------------------------------------------------------


def test_an_expired_link_is_renewed_and_the_download_resumes_with_range(hook, sim, tmp_path, logs):
    data = os.urandom(300_000)
    file_id = sim.add_file("big.bin", data)
    sim.config.url_ttl = 1.0
    sim.faults.drop_download_after(100_000)  # the first transfer breaks ...
    sim.faults.slow("store", 1.5, times=1, after=1)  # ... and its resume arrives after the link expired
    assert hook.download_file(file_id, tmp_path / "big.bin") == len(data)
    assert (tmp_path / "big.bin").read_bytes() == data
    store = sim.requests_to("store")
    assert [r.status for r in store] == [200, 403, 206] and len(sim.requests_to("download_info")) == 2
    resumed_at = int(store[-1].range.removeprefix("bytes=").split("-")[0])  # type: ignore[union-attr]
    assert resumed_at >= 100_000  # not started over: the bytes already there were kept
    assert [p.name for p in tmp_path.iterdir()] == ["big.bin"]  # no partial file left
    lines = logs()
    assert any("link expired" in line for line in lines)
    ours = [
        line for line in lines if not line.startswith("DEBUG urllib3")
    ]  # the library's, off in production
    assert not [line for line in ours if "Signature" in line or sim.token in line]


def test_a_task_read_after_the_faults_is_the_platforms_state(hook, sim):
    """The faults above change nothing on the platform: the task they polled ran once, to its end."""
    task_id = running_task(hook, sim)
    sim.faults.fail("task", times=2, status=502)
    sim.wait_for_status(task_id, timeout=10)
    assert hook.get_task(task_id).status is SevenBridgesTaskStatus.COMPLETED
    assert len(sim.jobs.jobs) == 1
