"""JobStateSensor and JobStateTrigger against the simulator, and CancelJobOperator."""

from __future__ import annotations

import asyncio
import importlib
import re
import time

import pytest

from airflow_provider_tis.hooks import TisError, TisHook
from airflow_provider_tis.hooks.outcome import TisJobFailedError
from airflow_provider_tis.operators import CancelJobOperator
from airflow_provider_tis.triggers import JobStateTrigger
from airflow_provider_tis.version_compat import AirflowSensorTimeout, TaskDeferred
from tests.operators.conftest import StateStore, first_event, make_context, make_trigger, run_sensor, sensor


def test_success_returns_the_job_summary(tis_simulator, submit, logs):
    job_id = submit()
    summary = run_sensor(sensor(job_id))
    assert summary["state"] == "SUCCESS" and summary["state_code"] == 4 and summary["end_time"]
    assert {f["name"] for f in summary["files"]} >= {"chr_20.zip", "qc_report.txt"}
    lines = logs()
    assert any("Input Validation: 1 valid VCF file(s) found." in line for line in lines)
    assert any("waiting in the queue" in line or "is RUNNING" in line for line in lines)


def test_success_notified_counts_as_success(tis_simulator, submit):
    tis_simulator.config.notification_after = 0.0
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 8)
    assert run_sensor(sensor(job_id))["state"] == "SUCCESS_NOTIFIED"


def test_failure_names_job_state_and_server_errors(tis_simulator, submit):
    tis_simulator.config.strand_flips = True
    job_id = submit()
    with pytest.raises(TisJobFailedError) as err:
        run_sensor(sensor(job_id))
    text = str(err.value)
    assert job_id in text and "FAILED (5)" in text and "strand flips have been detected" in text


def test_a_cancel_settles_to_canceled_not_failed(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 2)
    TisHook().cancel_job(job_id)
    with pytest.raises(TisJobFailedError, match=r"CANCELED \(6\)\. It was canceled"):
        run_sensor(sensor(job_id))


@pytest.mark.parametrize(
    ("make_state", "words"),
    [
        ("dead", "DEAD (-1). The server restarted"),
        ("retired", "RETIRED (7). Its results were retired on 20"),
        ("notified_failure", "FAIL_NOTIFIED (9)"),
    ],
)
def test_other_terminal_states_fail(tis_simulator, submit, make_state, words):
    if make_state == "dead":
        tis_simulator.config.run_seconds = 30
        job_id = submit()
        tis_simulator.restart()
    elif make_state == "retired":
        tis_simulator.config.retire_after = 60
        job_id = submit()
        tis_simulator.wait_for_state(job_id, 4)
        tis_simulator.shift_clock(61)
    else:
        tis_simulator.config.strand_flips, tis_simulator.config.notification_after = True, 0.0
        job_id = submit()
        tis_simulator.wait_for_state(job_id, 9)
    with pytest.raises(TisJobFailedError, match=re.escape(words)):
        run_sensor(sensor(job_id))


def test_unknown_job_fails_as_deleted(tis_simulator):
    with pytest.raises(TisJobFailedError, match="does not exist any more"):
        run_sensor(sensor("job-20000101-000000-000"))


def test_reschedule_is_the_default_mode(tis_simulator, submit):
    from airflow_provider_tis.version_compat import AIRFLOW_V_3_0_PLUS

    tis_simulator.config.run_seconds = 30
    op = sensor(submit(), poke_interval=90)
    assert op.mode == "reschedule"
    if AIRFLOW_V_3_0_PLUS:  # on 2.x this path reads TaskReschedule rows from the database
        from airflow.sdk.exceptions import AirflowRescheduleException

        with pytest.raises(AirflowRescheduleException):
            op.execute(make_context(task_id="wait"))


def test_deferrable_defers_with_an_absolute_deadline(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    op = sensor(job_id, deferrable=True, timeout=600, poke_interval=5, cancel_on_kill=True)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="wait"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, JobStateTrigger) and deferred.value.method_name == "execute_complete"
    assert before + 600 <= trigger.end_time <= time.time() + 600
    assert (trigger.job_id, trigger.poll_interval, trigger.cancel_on_kill) == (job_id, 5.0, True)
    assert deferred.value.timeout is None


def test_deferrable_finished_job_does_not_defer(tis_simulator, submit):
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 4)
    assert sensor(job_id, deferrable=True).execute(make_context(task_id="wait"))["state"] == "SUCCESS"


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (None, "unexpected trigger event"),
        ({"status": "running", "job_id": "job-1"}, "unexpected trigger event"),
        ({"status": "success", "job_id": "job-2", "job": {}}, "is about job 'job-2'"),
        ({"status": "success", "job_id": "job-1"}, "incomplete trigger event"),
        ({"status": "error", "job_id": "job-1", "message": "boom"}, "boom"),
    ],
)
def test_execute_complete_fails_closed(event, error):
    with pytest.raises(TisError, match=error):
        sensor("job-1").execute_complete(make_context(), event)


def test_execute_complete_outcomes(tis_simulator, submit):
    op = sensor("job-1")
    assert op.execute_complete({}, {"status": "success", "job_id": "job-1", "job": {"state": "SUCCESS"}}) == {
        "state": "SUCCESS"
    }
    with pytest.raises(TisJobFailedError, match="strand"):
        op.execute_complete({}, {"status": "failed", "job_id": "job-1", "message": "strand flips"})
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_id, cancel_on_kill=True).execute_complete(
            {}, {"status": "timeout", "job_id": job_id, "message": "t"}
        )
    assert tis_simulator.requests_to("cancel")  # gave up waiting: the job is canceled when asked to


def test_on_kill_cancels_only_when_asked(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    sensor(job_id).on_kill()
    assert tis_simulator.requests_to("cancel") == []
    sensor(job_id, cancel_on_kill=True).on_kill()
    assert tis_simulator.wait_for_state(job_id, 6).state == 6


# -- trigger -----------------------------------------------------------------------------------


def test_trigger_serialises_to_json_primitives_and_back():
    trigger = make_trigger("job-1", end_time=1234.5, cancel_on_kill=True)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_tis.triggers.job_state.JobStateTrigger"
    assert all(isinstance(v, (str, int, float, bool)) for v in kwargs.values())
    module, name = classpath.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (classpath, kwargs)
    try:
        from airflow.sdk.serde import deserialize, serialize
    except ImportError:  # Airflow < 3.2 stores kwargs without serde
        return
    assert deserialize(serialize(kwargs)) == kwargs


async def test_trigger_success(tis_simulator, submit):
    job_id = submit()
    event = await first_event(make_trigger(job_id))
    assert event["status"] == "success" and event["job_id"] == job_id and event["job"]["state"] == "SUCCESS"


async def test_trigger_failure_and_settled_cancel(tis_simulator, submit):
    tis_simulator.config.strand_flips = True
    failed = await first_event(make_trigger(submit()))
    assert failed["status"] == "failed" and "strand flips" in failed["message"]
    tis_simulator.config.strand_flips, tis_simulator.config.run_seconds = False, 30
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 2)
    TisHook().cancel_job(job_id)
    canceled = await first_event(make_trigger(job_id))
    assert canceled["status"] == "failed" and "CANCELED" in canceled["message"]


async def test_trigger_timeout_and_deleted(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    timeout = await first_event(make_trigger(submit(), end_time=time.time() + 0.2))
    assert timeout["status"] == "timeout"
    deleted = await first_event(make_trigger("job-20000101-000000-000"))
    assert deleted["status"] == "failed" and "does not exist" in deleted["message"]


async def test_trigger_retries_transient_errors_and_reports_others(tis_simulator, submit, monkeypatch):
    from airflow_provider_tis.hooks import RetryPolicy, tis

    job_id = submit()
    monkeypatch.setattr(tis, "RetryPolicy", lambda: RetryPolicy(initial_delay=0.01, max_delay=0.05))
    tis_simulator.faults.fail("job", times=2, status=502)
    assert (await first_event(make_trigger(job_id)))["status"] == "success"
    assert [r.status for r in tis_simulator.requests_to("job")][:3] == [502, 502, 200]
    tis_simulator.revoke_token()
    event = await first_event(make_trigger(job_id))
    assert event["status"] == "error" and "revoked" in event["message"]


async def test_trigger_keeps_waiting_while_running(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    task = asyncio.ensure_future(make_trigger(submit()).run().__anext__())
    await asyncio.sleep(0.5)
    assert not task.done()
    task.cancel()


async def test_trigger_on_kill_cancels_when_asked(tis_simulator, submit):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    await make_trigger(job_id).on_kill()
    assert tis_simulator.requests_to("cancel") == []
    await make_trigger(job_id, cancel_on_kill=True).on_kill()
    assert tis_simulator.wait_for_state(job_id, 6).state == 6


# -- cancel operator ---------------------------------------------------------------------------


def test_cancel_operator_reports_the_settled_state(tis_simulator, submit, logs):
    tis_simulator.config.run_seconds = 30
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 2)
    state = CancelJobOperator(task_id="cancel", job_id=job_id, failed_settle_seconds=0.5).execute(
        make_context()
    )
    assert state == "CANCELED"
    assert any(f"TIS job {job_id} is now CANCELED." in line for line in logs())


@pytest.mark.parametrize("store", [True, False], ids=["task state store", "no store (Airflow < 3.3)"])
def test_a_rescheduled_sensor_logs_each_step_message_once(tis_simulator, submit, logs, store):
    tis_simulator.config.run_seconds = 1.0
    job_id = submit()
    context = {**make_context(task_id="wait"), **({"task_state_store": StateStore()} if store else {})}
    pokes = 0
    while not sensor(job_id, mode="reschedule").poke(context):  # a new process for every poke
        pokes += 1
        time.sleep(0.05)
    assert pokes >= 3
    lines = logs()
    for step in ("Input Validation:", "Quality Control:", "Phasing and Imputation:", "Summary:"):
        assert sum(step in line for line in lines) == 1, step
