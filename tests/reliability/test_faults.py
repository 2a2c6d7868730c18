"""Faults other than error bursts: slow servers, broken connections, expired links, maintenance, the job
limit, revoked tokens, deleted and DEAD jobs, a task killed mid-download. Each test checks the outcome and
that nothing was lost or duplicated (jobs, downloads spent, bytes), with request counts from the simulator.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time

import pytest

from airflow_provider_tis.hooks import RetryPolicy, TisConfigError, TisConnectionError, TisError, TisHook, tis
from airflow_provider_tis.hooks.outcome import TisJobFailedError
from airflow_provider_tis.operators import SubmitImputationOperator
from airflow_provider_tis.version_compat import TaskDeferred
from tests.conftest import JOB_PARAMS
from tests.operators.conftest import (
    StateStore,
    download,
    first_event,
    make_context,
    make_trigger,
    run_sensor,
    sensor,
)


def make(files, **kwargs):
    kwargs.setdefault("capacity_poll_interval", 0.05)
    return SubmitImputationOperator(task_id="submit", files=files, **JOB_PARAMS, **kwargs)


@pytest.fixture
def quick_retries(monkeypatch):
    monkeypatch.setattr(
        tis, "RetryPolicy", lambda: RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
    )


# -- submitting ------------------------------------------------------------------------------------


def test_waits_for_maintenance_and_job_slots_instead_of_wasting_an_upload(tis_simulator, vcf, logs):
    tis_simulator.config.run_seconds = 1.5
    outside = TisHook()
    for _ in range(3):  # the user's three slots are taken by jobs submitted outside Airflow
        outside.submit_job([vcf], {"refpanel": "topmed-r3", "population": "all"})
    tis_simulator.maintenance = True
    threading.Timer(0.5, lambda: setattr(tis_simulator, "maintenance", False)).start()
    job_id = make(str(vcf)).execute(make_context())
    submits = tis_simulator.requests_to("submit")
    assert [r.status for r in submits] == [200, 200, 200, 200]  # no upload was rejected
    assert job_id in tis_simulator.jobs.jobs
    lines = logs()
    assert any("maintenance" in line for line in lines)
    assert any("3 of your jobs are queued or running (limit 3)" in line for line in lines)


def test_a_lost_response_is_recovered_by_reusing_the_job(tis_simulator, vcf, logs):
    tis_simulator.faults.drop_submit_response()
    job_id = make(str(vcf)).execute(make_context())
    assert list(tis_simulator.jobs.jobs) == [job_id]
    assert len(tis_simulator.requests_to("submit")) == 1
    assert any("Reusing TIS job" in line for line in logs())


def test_uploads_that_break_off_are_bounded_and_a_task_retry_makes_one_job(
    tis_simulator, vcf, recorded_waits
):
    tis_simulator.faults.drop_upload_after(100_000, times=3)
    with pytest.raises(TisConnectionError):
        make(str(vcf)).execute(make_context(try_number=1))
    assert len(tis_simulator.requests_to("submit")) == 3 and not tis_simulator.jobs.jobs
    assert len(recorded_waits) == 2 and recorded_waits[1] > recorded_waits[0] / 2  # backs off
    job_id = make(str(vcf)).execute(make_context(try_number=2))
    assert list(tis_simulator.jobs.jobs) == [job_id]


def test_a_drop_mid_download_resumes_on_the_same_link(tis_simulator, finished_job, tmp_path, logs):
    tis_simulator.faults.drop_download_after(700)
    download(finished_job, tmp_path, include=["chr_20.zip"])
    served = tis_simulator.jobs.jobs[finished_job].files[0].path.read_bytes()
    assert (tmp_path / "chr_20.zip").read_bytes() == served
    assert len(tis_simulator.requests_to("share")) == 1  # the resume spent no download
    assert [r.range for r in tis_simulator.requests_to("store")] == [None, "bytes=700-"]
    assert any("broke at byte 700" in line for line in logs())


def test_an_expired_link_costs_one_more_hit_and_the_bytes_are_identical(
    tis_simulator, finished_job, tmp_path
):
    tis_simulator.faults.drop_download_after(500)
    tis_simulator.faults.fail("store", status=403, after=1)  # the resume finds the link expired
    download(finished_job, tmp_path, include=["chr_20.zip"])
    served = tis_simulator.jobs.jobs[finished_job].files[0].path.read_bytes()
    assert (tmp_path / "chr_20.zip").read_bytes() == served
    assert len(tis_simulator.requests_to("share")) == 2
    assert [r.range for r in tis_simulator.requests_to("share")] == [None, "bytes=500-"]


def test_a_maintenance_window_while_waiting_is_waited_out(tis_simulator, submit, quick_retries, logs):
    job_id = submit()
    tis_simulator.maintenance = True
    op = sensor(job_id)
    assert op.poke(make_context(task_id="wait")) is False
    tis_simulator.maintenance = False
    assert run_sensor(op)["state"] == "SUCCESS"
    assert any("will look again" in line for line in logs())


async def test_the_trigger_waits_out_maintenance(tis_simulator, submit, quick_retries):
    job_id = submit()
    tis_simulator.maintenance = True
    task = asyncio.ensure_future(first_event(make_trigger(job_id)))
    await asyncio.sleep(0.5)
    assert not task.done()
    tis_simulator.maintenance = False
    assert (await task)["status"] == "success"


def test_a_revoked_token_fails_at_once_without_retries(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    tis_simulator.revoke_token()
    before = len(tis_simulator.requests_to("job"))
    with pytest.raises(TisError, match="revoked or replaced"):
        run_sensor(sensor(job_id))
    assert len(tis_simulator.requests_to("job")) - before == 1


def test_a_job_deleted_while_waiting(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    op = sensor(job_id)
    assert op.poke(make_context(task_id="wait")) is False
    tis_simulator.delete_job(job_id)
    with pytest.raises(TisJobFailedError, match="does not exist any more"):
        op.poke(make_context(task_id="wait"))
    assert tis_simulator.requests_to("job")[-1].status == 404


# -- slow server -----------------------------------------------------------------------------------


def test_read_timeouts_from_a_slow_server_are_retried(tis_simulator, monkeypatch, submit, recorded_waits):
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(timeout=0.3))
    job_id = submit()
    tis_simulator.faults.slow("job", 1.0, times=1)
    assert TisHook().get_job(job_id).id == job_id
    time.sleep(1.0)  # the slow answer is logged when the server finally sends it
    assert len(tis_simulator.requests_to("job")) == 2 and len(recorded_waits) == 1


def test_a_submit_answer_later_than_the_read_timeout_reuses_the_job(tis_simulator, vcf, logs):
    tis_simulator.faults.slow("submit", 0.8, times=1)
    operator = make(str(vcf), capacity_poll_interval=1.5)
    operator.hook.submit_timeout = 0.3
    job_id = operator.execute(make_context())
    assert list(tis_simulator.jobs.jobs) == [job_id]
    assert len(tis_simulator.requests_to("submit")) == 1
    assert any("Reusing TIS job" in line for line in logs())


# -- a job the server lost (DEAD) ------------------------------------------------------------------


@pytest.fixture
def dead_job(tis_simulator, submit) -> str:
    tis_simulator.config.run_seconds = 60
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 2)
    tis_simulator.restart()
    tis_simulator.config.run_seconds = 0.3
    return job_id


def test_a_dead_job_fails_with_a_hint_unless_restart_dead(tis_simulator, dead_job):
    with pytest.raises(TisJobFailedError, match=rf"DEAD \(-1\).*restart_job\('{dead_job}'\)"):
        run_sensor(sensor(dead_job))
    assert tis_simulator.requests_to("restart") == []
    assert run_sensor(sensor(dead_job, mode="poke", restart_dead=True))["state"] == "SUCCESS"
    assert len(tis_simulator.requests_to("restart")) == 1


def test_restart_dead_restarts_only_once(tis_simulator, dead_job, logs):
    op = sensor(dead_job, mode="poke", restart_dead=True)
    assert op.poke(make_context(task_id="wait")) is False  # restarted
    tis_simulator.wait_for_state(dead_job, 1, 2)
    tis_simulator.config.run_seconds = 60
    tis_simulator.restart()  # and lost again
    with pytest.raises(TisJobFailedError, match="DEAD"):
        run_sensor(op)
    assert len(tis_simulator.requests_to("restart")) == 1
    assert any("not restarting it twice" in line for line in logs())


def test_restart_dead_in_reschedule_mode_remembers_the_restart_in_the_task_state_store(
    tis_simulator, dead_job
):
    with pytest.raises(TisConfigError, match=r"needs Airflow 3\.3"):
        sensor(dead_job, restart_dead=True).execute(make_context(task_id="wait"))
    assert tis_simulator.requests_to("job") == []  # refused before asking the server anything
    context = {**make_context(task_id="wait"), "task_state_store": StateStore()}
    assert sensor(dead_job, restart_dead=True).poke(context) is False  # each poke is a new sensor object
    tis_simulator.wait_for_state(dead_job, 1, 2)
    tis_simulator.config.run_seconds = 60
    tis_simulator.restart()
    with pytest.raises(TisJobFailedError, match="DEAD"):
        sensor(dead_job, restart_dead=True).poke(context)
    assert len(tis_simulator.requests_to("restart")) == 1


def test_restart_dead_when_deferred(tis_simulator, dead_job):
    event = {"status": "failed", "job_id": dead_job, "message": "dead", "state": "DEAD"}
    with pytest.raises(TaskDeferred) as deferred:
        sensor(dead_job, restart_dead=True, deferrable=True).execute_complete(make_context(), event)
    assert deferred.value.kwargs == {"restarted": True}
    with pytest.raises(TisJobFailedError, match="dead"):
        sensor(dead_job, restart_dead=True, deferrable=True).execute_complete(
            make_context(), event, **deferred.value.kwargs
        )
    assert len(tis_simulator.requests_to("restart")) == 1


async def test_the_trigger_reports_a_dead_job_with_its_state(tis_simulator, dead_job):
    event = await first_event(make_trigger(dead_job))
    assert (event["status"], event["state"]) == ("failed", "DEAD")


# -- a task killed in the middle of a download -----------------------------------------------------

KILLABLE_DOWNLOAD = """
import sys
from unittest import mock
from airflow_provider_tis.operators import DownloadResultsOperator
DownloadResultsOperator(
    task_id="download", job_id=sys.argv[1], destination=sys.argv[2], max_parallel=1
).execute({"ti": mock.MagicMock()})
"""


def test_a_task_killed_mid_download_then_retried(tis_simulator, finished_job, tmp_path):
    out = tmp_path / "out"
    tis_simulator.faults.slow("store", 60, times=1, after=1)  # the second file hangs
    process = subprocess.Popen(
        [sys.executable, "-c", KILLABLE_DOWNLOAD, finished_job, str(out)],
        env={**os.environ, "AIRFLOW_CONN_TIS_DEFAULT": tis_simulator.connection_json()},
    )
    deadline = time.monotonic() + 60
    while len(tis_simulator.requests_to("share")) < 2 or not list(out.glob(".*.part")):
        assert time.monotonic() < deadline and process.poll() is None
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    files = tis_simulator.jobs.jobs[finished_job].files
    first, second = files[0].name, files[1].name
    assert (out / first).exists() and not (out / second).exists()  # nothing partial under a final name
    tis_simulator.faults.clear()

    download(finished_job, out, max_parallel=1)  # the task's retry

    shares = [r.path.rsplit("/", 1)[-1] for r in tis_simulator.requests_to("share")]
    assert shares.count(first) == 1  # the finished file was not downloaded again
    assert all(shares.count(f.name.rsplit("/", 1)[-1]) <= 2 for f in files)
    assert {f.name: (out / f.name).read_bytes() for f in files} == {
        f.name: f.path.read_bytes() for f in files
    }
    assert not list(out.rglob("*.part"))  # the killed task's leftovers are gone
