"""The Seven Bridges operators, sensor and trigger against the Seven Bridges simulator on 127.0.0.1: run a
task (DRAFT checked, retries reuse it), wait for it (outputs, failures, progress, deferral, bulk polls of
many triggers), abort it."""

from __future__ import annotations

import asyncio
import importlib
import json
import os
import time

import pytest

from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgConfigError,
    SbgError,
    SbgTaskFailedError,
    SbgTaskValidationError,
)
from airflow_provider_tis.operators.sevenbridges import (
    SevenBridgesAbortTaskOperator,
    SevenBridgesRunTaskOperator,
)
from airflow_provider_tis.sensors.sevenbridges import SevenBridgesTaskSensor
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator
from airflow_provider_tis.triggers.sevenbridges import SevenBridgesTaskTrigger
from airflow_provider_tis.version_compat import AirflowSensorTimeout, TaskDeferred
from tests.operators.conftest import StateStore, make_context


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with SevenBridgesSimulator(**FAST) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture(autouse=True)
def waits(recorded_waits: list[float]) -> list[float]:
    """The retry policy's sleeps are recorded, not slept (tests/conftest.py)."""
    return recorded_waits


def demo_inputs(sim, **extra) -> dict:
    """File inputs as plain file ids (the operator makes them file objects)."""
    reads = sim.add_file(f"reads-{os.urandom(3).hex()}.fq", b"ACGTACGT\n")
    reference = sim.add_file(f"ref-{os.urandom(3).hex()}.fa", b">chr1\nNNNN\n")
    return {"reads": reads, "reference": {"class": "File", "path": reference}, **extra}


def run_task(sim, context=None, **kwargs) -> str:
    kwargs.setdefault("app", sim.demo_app)
    if "inputs" not in kwargs:
        kwargs["inputs"] = demo_inputs(sim)
    return SevenBridgesRunTaskOperator(task_id="run", **kwargs).execute(
        context or make_context(task_id="run")
    )


def sensor(task_id: str, **kwargs) -> SevenBridgesTaskSensor:
    kwargs.setdefault("poke_interval", 0.02)
    return SevenBridgesTaskSensor(task_id="wait", sbg_task_id=task_id, **kwargs)


def run_sensor(op: SevenBridgesTaskSensor, limit: float = 20):
    context = make_context(task_id="wait")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = op.poke(context)
        if result:
            return result.xcom_value
        time.sleep(op.poke_interval)
    raise AssertionError("the sensor never finished")


def pushed(context) -> dict:
    return {call.kwargs["key"]: call.kwargs["value"] for call in context["ti"].xcom_push.call_args_list}


# -- run -------------------------------------------------------------------------------------------


def test_run_creates_checks_and_runs_and_pushes_the_id_and_page(sim):
    context = make_context(task_id="run")
    task_id = run_task(sim, context)
    (task,) = sim.jobs.jobs.values()
    assert task.id == task_id and task.status != "DRAFT"
    assert task.name == "dag__run-1__run"
    assert task.inputs["reads"]["class"] == "File"  # a plain file id became a file object
    assert len(sim.requests_to("task_create")) == 1 and len(sim.requests_to("task_run")) == 1
    assert pushed(context) == {"task_url": f"{sim.root_url}/u/{sim.project}/tasks/{task_id}/"}


def test_a_draft_with_errors_fails_listing_them_and_runs_nothing(sim):
    inputs = demo_inputs(sim, threads="many")
    del inputs["reference"]
    with pytest.raises(SbgTaskValidationError) as caught:
        run_task(sim, inputs=inputs)
    text = str(caught.value)
    assert "code 7012" in text and "reference" in text and "threads" in text and "stays a DRAFT" in text
    assert sim.requests_to("task_run") == []
    (task,) = sim.jobs.jobs.values()
    assert task.status == "DRAFT"


def test_a_retry_reuses_the_task_found_by_name_across_pages(sim, logs):
    for i in range(5):  # other tasks of the project, so the task list has several pages
        run_task(sim, make_context(task_id="run", run_id=f"other-{i}"))
    sim.config.max_limit = 2
    first = run_task(sim, make_context(task_id="run", try_number=1))
    assert run_task(sim, make_context(task_id="run", try_number=2)) == first
    mine = [t for t in sim.jobs.jobs.values() if t.name == "dag__run-1__run"]
    assert [t.id for t in mine] == [first]  # exactly one task
    assert len(sim.requests_to("task_create")) == 6 and len(sim.requests_to("task_run")) == 6
    assert len(sim.requests_to("tasks")) > 3  # every page read
    assert any("Reusing Seven Bridges task" in line and first in line for line in logs())


def test_a_retry_after_a_lost_create_answer_reuses_the_draft_and_runs_it(sim):
    context = make_context(task_id="run")
    with sim.lock:  # what a try that died after the create left behind
        draft = sim.jobs.create(
            sim.username,
            {"project": sim.project, "app": sim.demo_app, "inputs": {}, "name": "dag__run-1__run"},
            run=False,
        )
    assert run_task(sim, context) == draft.id
    assert sim.requests_to("task_create") == [] and len(sim.requests_to("task_edit")) == 1
    assert sim.task(draft.id).status != "DRAFT" and len(sim.jobs.jobs) == 1


@pytest.mark.parametrize("ended", ["FAILED", "ABORTED"])
def test_a_failed_or_aborted_task_of_an_earlier_try_is_kept_and_a_new_one_runs(sim, logs, ended):
    """[I] The documented choice: a retry is meant to run the app again, so the earlier try's FAILED or
    ABORTED task is left as it is (its logs stay) and one new task is created and run."""
    sim.config.run_seconds = 30
    first = run_task(sim, make_context(task_id="run", try_number=1))
    with sim.lock:
        sim.jobs.jobs[first].status = ended
    second = run_task(sim, make_context(task_id="run", try_number=2))
    assert second != first and sim.task(first).status == ended and sim.task(second).status != "DRAFT"
    assert len(sim.requests_to("task_create")) == 2 and len(sim.jobs.jobs) == 2
    assert any(f"ended {ended}" in line and "creating a new task" in line for line in logs())
    third = run_task(sim, make_context(task_id="run", try_number=3))
    assert third == second  # the new one, still running, is reused: never a third


def test_aborting_a_draft_leaves_it_a_draft_and_succeeds(sim):
    """[I] The platform refuses to abort a DRAFT (7011); the abort operator wants nothing running, and a
    DRAFT runs nothing."""
    draft = sim.jobs.create(
        sim.username, {"project": sim.project, "app": sim.demo_app, "inputs": {}}, run=False
    )
    assert (
        SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=draft.id).execute(make_context())
        == "DRAFT"
    )
    assert sim.task(draft.id).status == "DRAFT" and [r.status for r in sim.requests_to("task_abort")] == [400]


@pytest.mark.parametrize(
    ("host", "page"),
    [
        (
            "https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2",
            "https://platform.sb.biodatacatalyst.nhlbi.nih.gov",
        ),
        ("https://cgc-api.sbgenomics.com/v2", "https://cgc.sbgenomics.com"),
        ("http://localhost:8080/v2", "http://localhost:8080"),
    ],
)
def test_the_task_page_is_on_the_ui_host_of_the_api_host(monkeypatch, host, page):
    """[I] The UI host comes from a table of the known platforms; any other API host keeps its own."""
    from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

    conn = {"conn_type": "sevenbridges", "host": host, "password": "t0ken", "extra": {"project": "a/b"}}
    monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", json.dumps(conn))
    task_id = "1c9f2f8a-6a3c-4b7e-9d1e-2f3a4b5c6d7e"
    assert SevenBridgesHook().task_url(task_id) == f"{page}/u/a/b/tasks/{task_id}/"


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"app": "alice/demo/no-such-app"}, "does not exist, or the token's user may not use it"),
        ({"app": "not an app"}, "is not a Seven Bridges app id"),
        ({"project": "no-slash"}, "is not a Seven Bridges project id"),
        ({"inputs": "reads=abc"}, "inputs must be a dict"),
        ({"inputs": {"raeds": "abc"}}, "has no input 'raeds'"),
    ],
)
def test_bad_input_fails_clearly_before_any_task_is_created(sim, kwargs, error):
    with pytest.raises(SbgConfigError, match=error):
        run_task(sim, **kwargs)
    assert sim.requests_to("task_create") == [] and sim.jobs.jobs == {}


def test_a_batch_task_reports_its_children(sim):
    files = [sim.add_file(f"s{i}.fq", "ACGT") for i in range(3)]
    context = make_context(task_id="run")
    task_id = run_task(
        sim,
        context,
        inputs={"reads": files, "reference": sim.add_file("ref.fa", "NN")},
        batch_input="reads",
        batch_by={"type": "item"},
    )
    children = pushed(context)["children"]
    assert len(children) == 3 and all(sim.task(c).parent == task_id for c in children)
    result = run_sensor(sensor(task_id))
    assert result["batch"] is True and len(result["children"]) == 3 and result["failed_children"] == []


def test_templated_fields():
    assert {"app", "inputs", "project", "task_name"} <= set(SevenBridgesRunTaskOperator.template_fields)
    assert SevenBridgesTaskSensor.template_fields == ("sbg_task_id",)
    assert SevenBridgesAbortTaskOperator.template_fields == ("sbg_task_id",)


# -- sensor ----------------------------------------------------------------------------------------


def test_sensor_succeeds_with_the_outputs(sim):
    task_id = run_task(sim)
    result = run_sensor(sensor(task_id))
    assert result["status"] == "COMPLETED" and result["id"] == task_id
    assert {"report", "merged", "qc"} <= set(result["outputs"])
    assert result["outputs"]["merged"]["class"] == "File"
    assert json.loads(json.dumps(result)) == result


def test_sensor_fails_with_the_message_and_the_failed_jobs(sim):
    task_id = run_task(sim, app=sim.failing_app, inputs={"reads": sim.add_file("r.fq", "ACGT")})
    with pytest.raises(SbgTaskFailedError) as caught:
        run_sensor(sensor(task_id))
    text = str(caught.value)
    assert "ended FAILED" in text and "exited with code 137" in text
    assert "Failed jobs: crash (logs: job.err.log" in text


def test_sensor_fails_on_aborted(sim):
    sim.config.run_seconds = 30
    task_id = run_task(sim)
    SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=task_id).execute(make_context())
    with pytest.raises(SbgTaskFailedError, match="ended ABORTED"):
        run_sensor(sensor(task_id))


def test_sensor_logs_progress_once_per_change(sim, logs):
    sim.config.run_seconds = 0.6
    task_id = run_task(sim)
    run_sensor(sensor(task_id, mode="poke"))
    said = [line.split(" is ", 1)[1] for line in logs() if f"Seven Bridges task {task_id} is " in line]
    assert len(sim.requests_to("task")) > len(said)  # many pokes ...
    assert len(said) == len(set(said)) >= 3  # ... each change logged once
    assert any("1 of 3 steps" in s for s in said) and said[-1].startswith("COMPLETED")


def test_rescheduled_pokes_log_progress_once_per_change_with_the_state_store(sim, logs):
    sim.config.run_seconds = 0.6
    task_id = run_task(sim)
    context = {**make_context(task_id="wait"), "task_state_store": StateStore()}
    pokes = 0
    while True:  # each reschedule is a new process: a new sensor object, the same store
        pokes += 1
        if sensor(task_id).poke(context):
            break
        time.sleep(0.02)
    said = [line.split(" is ", 1)[1] for line in logs() if f"Seven Bridges task {task_id} is " in line]
    assert pokes > len(said) and len(said) == len(set(said)) >= 3


def test_sensor_defaults_respect_the_rate_limit():
    op = SevenBridgesTaskSensor(task_id="wait", sbg_task_id="t1")
    assert op.mode == "reschedule" and op.poke_interval >= 30


def test_on_kill_aborts_only_when_asked(sim):
    sim.config.run_seconds = 30
    task_id = run_task(sim)
    sensor(task_id).on_kill()
    assert sim.requests_to("task_abort") == []
    sensor(task_id, cancel_on_kill=True).on_kill()
    assert sim.task(task_id).status in ("ABORTING", "ABORTED")


# -- deferrable ------------------------------------------------------------------------------------


def test_deferrable_defers_to_the_trigger_and_its_event_completes_it(sim):
    sim.config.run_seconds = 0.5
    task_id = run_task(sim)
    op = sensor(task_id, deferrable=True, timeout=600, poke_interval=0.05, cancel_on_kill=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="wait"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, SevenBridgesTaskTrigger) and deferred.value.method_name == "execute_complete"
    assert (trigger.job_id, trigger.conn_id, trigger.cancel_on_kill) == (
        task_id,
        "sevenbridges_default",
        True,
    )
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "success"
    result = op.execute_complete(make_context(task_id="wait"), event)
    assert result["status"] == "COMPLETED" and "merged" in result["outputs"]


def test_execute_complete_fails_closed_and_on_failure(sim):
    op = sensor("t1")
    for event in (None, {"status": "running", "job_id": "t1"}, {"status": "success", "job_id": "t2"}):
        with pytest.raises(SbgError):
            op.execute_complete({}, event)
    with pytest.raises(SbgError, match="incomplete"):
        op.execute_complete({}, {"status": "success", "job_id": "t1", "task": {"status": "RUNNING"}})
    with pytest.raises(SbgTaskFailedError, match="boom"):
        op.execute_complete({}, {"status": "failed", "job_id": "t1", "message": "boom"})
    with pytest.raises(AirflowSensorTimeout):
        op.execute_complete({}, {"status": "timeout", "job_id": "t1", "message": "t"})


# -- trigger ---------------------------------------------------------------------------------------


def make_trigger(task_id: str, **kwargs) -> SevenBridgesTaskTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("end_time", time.time() + 30)
    return SevenBridgesTaskTrigger(task_id=task_id, sevenbridges_conn_id="sevenbridges_default", **kwargs)


async def first_event(trigger: SevenBridgesTaskTrigger) -> dict:
    return (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload


def test_trigger_serialises_to_json_primitives_and_back():
    trigger = make_trigger("t1", end_time=1234.5, cancel_on_kill=True)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_tis.triggers.sevenbridges.SevenBridgesTaskTrigger"
    assert kwargs == {
        "task_id": "t1",
        "sevenbridges_conn_id": "sevenbridges_default",
        "poll_interval": 0.05,
        "end_time": 1234.5,
        "cancel_on_kill": True,
    }
    module, name = classpath.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (classpath, kwargs)


async def test_trigger_failure_names_the_failed_jobs(sim):
    task_id = run_task(sim, app=sim.failing_app, inputs={"reads": sim.add_file("r.fq", "ACGT")})
    event = await first_event(make_trigger(task_id))
    assert event["status"] == "failed" and event["state"] == "FAILED"
    assert "exited with code 137" in event["message"] and "Failed jobs: crash" in event["message"]
    assert sim.token not in json.dumps(event)


async def test_trigger_on_kill_aborts_only_when_asked(sim):
    sim.config.run_seconds = 30
    task_id = run_task(sim)
    await make_trigger(task_id).on_kill()
    assert sim.requests_to("task_abort") == []
    await make_trigger(task_id, cancel_on_kill=True).on_kill()
    assert sim.task(task_id).status in ("ABORTING", "ABORTED")


async def test_150_triggers_of_one_connection_poll_with_2_bulk_requests_per_interval(sim):
    body = {"project": sim.project, "app": sim.demo_app, "inputs": {}}
    with sim.lock:  # DRAFTs never end: the triggers keep waiting
        ids = [sim.jobs.create(sim.username, {**body, "name": f"t{i}"}, run=False).id for i in range(150)]
    interval = 0.3
    runs = [asyncio.ensure_future(first_event(make_trigger(i, poll_interval=interval))) for i in ids]
    deadline = time.monotonic() + 20
    while len(sim.requests_to("task")) < 150 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert len(sim.requests_to("task")) == 150  # each trigger's first look
    await asyncio.sleep(interval)
    bulk_before, gets_before = len(sim.requests_to("bulk_tasks_get")), len(sim.requests_to("task"))
    await asyncio.sleep(4 * interval)
    bulk = len(sim.requests_to("bulk_tasks_get")) - bulk_before
    assert 4 <= bulk <= 10  # 2 per interval (100 + 50 ids), not 150
    assert len(sim.requests_to("task")) == gets_before  # nothing changed: no trigger looked alone
    with sim.lock:  # one task changes: only its trigger looks again, and fires
        sim.jobs.jobs[ids[7]].status = "ABORTED"
    event = await asyncio.wait_for(runs[7], 20)
    assert event["job_id"] == ids[7] and event["status"] == "failed" and "ABORTED" in event["message"]
    assert len(sim.requests_to("task")) == gets_before + 1
    assert not any(run.done() for i, run in enumerate(runs) if i != 7)
    for run in runs:
        run.cancel()
    await asyncio.gather(*runs, return_exceptions=True)


# -- abort -----------------------------------------------------------------------------------------


def test_abort_operator(sim, logs):
    sim.config.run_seconds = 30
    task_id = run_task(sim)
    assert SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=task_id).execute(make_context()) in (
        "ABORTING",
        "ABORTED",
    )
    sim.wait_for_status(task_id, "ABORTED", timeout=10)
    assert (
        SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=task_id).execute(make_context())
        == "ABORTED"
    )
    with pytest.raises(SbgConfigError):
        SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id="None").execute(make_context())
    missing = "00000000-0000-4000-8000-000000000000"
    assert SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=missing).execute(make_context()) is None
    assert any("nothing to abort" in line for line in logs())
