"""Waiting for Gencove samples, restoring and canceling them, against the Gencove simulator on 127.0.0.1: the
sensor (poke/reschedule and deferrable, the trigger run for real), failures with their notes, allow_failed,
restore, cancel_on_kill, paged reads and shared listings, 429 and maintenance."""

from __future__ import annotations

import asyncio
import json
import time
import uuid

import pytest

from airflow_provider_tis.hooks.gencove_errors import (
    GencoveConfigError,
    GencoveError,
    GencoveSampleStatusError,
)
from airflow_provider_tis.operators.gencove import GencoveCancelSamplesOperator, GencoveRestoreSamplesOperator
from airflow_provider_tis.sensors.gencove import GencoveSampleSensor
from airflow_provider_tis.testing.gencove import GencoveSimulator
from airflow_provider_tis.testing.gencove.config import FAST
from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger
from airflow_provider_tis.version_compat import AirflowSensorTimeout, TaskDeferred
from tests.operators.conftest import StateStore, make_context


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with GencoveSimulator(**FAST) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", simulator.connection_json())
        yield simulator


def sensor(sim: GencoveSimulator, ids, **kwargs) -> GencoveSampleSensor:
    kwargs.setdefault("poke_interval", 0.05)
    return GencoveSampleSensor(task_id="wait", project_id=sim.project_id, sample_ids=ids, **kwargs)


def run_sensor(op: GencoveSampleSensor, context=None, limit: float = 20):
    """Poke until done, each poke as a reschedule would run it when a context with a store is given."""
    context = context or make_context(task_id="wait")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = op.poke(context)
        if result:
            return result.xcom_value
        time.sleep(op.poke_interval)
    raise AssertionError("the sensor never finished")


def pushed(context) -> dict:
    return {call.kwargs["key"]: call.kwargs["value"] for call in context["ti"].xcom_push.call_args_list}


def make_trigger(sim: GencoveSimulator, ids, **kwargs) -> GencoveSampleTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("end_time", time.time() + 30)
    return GencoveSampleTrigger(
        project_id=sim.project_id, sample_ids=ids, gencove_conn_id="gencove_default", **kwargs
    )


async def first_event(trigger: GencoveSampleTrigger) -> dict:
    return (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload


def run_deferrable(op, context) -> object:
    """execute, then each trigger for real and execute_complete, as the triggerer would."""
    try:
        return op.execute(context)
    except TaskDeferred as deferred:
        while True:
            event = asyncio.run(first_event(deferred.trigger))
            try:
                return getattr(op, deferred.method_name)(context, event, **(deferred.kwargs or {}))
            except TaskDeferred as again:
                deferred = again


# -- the sensor ------------------------------------------------------------------------------------


def test_sensor_succeeds_with_the_succeeded_ids_and_pushes_the_summaries(sim):
    ids = [sim.add_sample(f"s{i}", finished=False) for i in range(3)]
    context = make_context(task_id="wait")
    assert run_sensor(sensor(sim, ids), context) == ids
    samples = pushed(context)["samples"]
    assert [s["id"] for s in samples] == ids and {s["status"] for s in samples} == {"succeeded"}
    assert samples[0]["client_id"] == "s0" and samples[0]["archive_status"] == "available"
    assert json.loads(json.dumps(samples)) == samples


@pytest.mark.parametrize("form", ["dict", "json", "tuple"])
def test_sample_ids_as_a_dict_json_text_or_tuple(sim, form):
    ids = [sim.add_sample(f"s{i}") for i in range(2)]
    given = {
        "dict": {f"s{i}": s for i, s in enumerate(ids)},
        "json": json.dumps(ids),
        "tuple": tuple(ids),
    }[form]
    assert run_sensor(sensor(sim, given)) == ids


@pytest.mark.parametrize(
    ("project", "ids", "match"),
    [
        (None, [], "empty"),
        (None, ["not-a-uuid"], "sample_ids must be a Gencove id"),
        ("nope", None, "project_id must be a Gencove id"),
        (None, 42, "must be a list"),
    ],
)
def test_bad_ids_fail_before_any_request(sim, project, ids, match):
    op = GencoveSampleSensor(
        task_id="wait",
        project_id=project or sim.project_id,
        sample_ids=ids if ids is not None else [str(uuid.uuid4())],
    )
    before = len(sim.requests)
    with pytest.raises(GencoveConfigError, match=match):
        op.poke(make_context())
    assert len(sim.requests) == before


def test_poke_interval_must_be_positive():
    with pytest.raises(GencoveConfigError, match="poke_interval"):
        GencoveSampleSensor(task_id="w", project_id=str(uuid.uuid4()), sample_ids=[], poke_interval=0)


def test_a_failed_qc_sample_fails_the_task_with_its_note(sim):
    ids = [sim.add_sample("good", finished=False), sim.add_sample("bad-fail-qc", finished=False)]
    with pytest.raises(GencoveSampleStatusError) as caught:
        run_sensor(sensor(sim, ids))
    text = str(caught.value)
    assert "bad-fail-qc" in text and "failed qc" in text and "effective coverage below threshold" in text
    assert "good" not in text.split(":", 1)[1]


def test_allow_failed_reports_failed_samples_and_leaves_them_out(sim, logs):
    ok, bad = sim.add_sample("good"), sim.add_sample("bad-fail")
    context = make_context(task_id="wait")
    assert run_sensor(sensor(sim, [ok, bad], allow_failed=True), context) == [ok]
    assert any("warning" in line.lower() and "left out" in line and "bad-fail" in line for line in logs())
    assert len(pushed(context)["samples"]) == 2


def test_allow_failed_still_fails_when_none_succeeded(sim):
    ids = [sim.add_sample("a-fail"), sim.add_sample("b-fail-qc")]
    with pytest.raises(GencoveSampleStatusError, match="none of them succeeded"):
        run_sensor(sensor(sim, ids, allow_failed=True))


def test_each_state_change_is_logged_once_across_reschedules(sim, logs):
    sample = sim.add_sample("s1", finished=False)
    context = {**make_context(task_id="wait"), "task_state_store": StateStore()}
    op = sensor(sim, [sample], poke_interval=0.02)
    run_sensor(op, context)
    said = [line for line in logs() if f"Gencove sample {sample} (s1) is" in line]
    assert len(said) == len(set(said)) >= 2  # each state once, though polled many times
    assert any("succeeded" in line for line in said)


def test_a_sample_not_in_the_project_fails_clearly(sim):
    other = sim.add_project("other")
    stranger = sim.add_sample("elsewhere", project_id=other)
    with pytest.raises(GencoveSampleStatusError, match="wrong one, or the samples were deleted"):
        sensor(sim, [sim.add_sample("here"), stranger]).poke(make_context())


def test_restore_requests_once_waits_and_succeeds(sim):
    ids = [sim.add_sample("old"), sim.add_sample("new")]
    sim.archive(ids[0])
    context = {**make_context(task_id="wait"), "task_state_store": StateStore()}
    # each poke a new sensor object, as reschedule runs them
    deadline = time.monotonic() + 20
    while True:
        result = sensor(sim, ids, restore=True).poke(context)
        if result or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert result and result.xcom_value == ids
    assert len(sim.requests_to("restore")) == 1
    assert sim.sample(ids[0]).archive_status == "restored"


def test_archived_without_restore_warns(sim, logs):
    sample = sim.add_sample("old")
    sim.archive(sample)
    assert run_sensor(sensor(sim, [sample])) == [sample]
    assert any(
        "warning" in line.lower() and "restore=True" in line and "GencoveRestoreSamplesOperator" in line
        for line in logs()
    )
    assert sim.requests_to("restore") == []


def test_on_kill_cancels_the_running_samples_only_when_asked(sim):
    running, done = sim.add_sample("r", finished=False), sim.add_sample("d")
    sim.config.stage_seconds = 30  # new samples below keep running
    slow = sim.add_sample("slow", finished=False)
    sensor(sim, [slow, done]).on_kill()
    assert sim.requests_to("cancel") == []
    sensor(sim, [slow, done], cancel_on_kill=True).on_kill()
    assert sim.sample(slow).status == "canceled" and sim.sample(done).status == "succeeded"
    assert running  # started with the fast stages: not part of this kill


def test_a_poll_of_30_samples_costs_one_request_per_page(sim):
    sim.config.max_page_size = 10
    ids = [sim.add_sample(f"s{i}") for i in range(30)]
    before = len(sim.requests_to("project_samples"))
    assert sensor(sim, ids).poke(make_context()).xcom_value == ids
    assert len(sim.requests_to("project_samples")) - before == 3  # pages, not 30 samples
    assert sim.requests_to("sample") == []


def test_429_and_maintenance_during_the_wait_are_waited_out(sim):
    ids = [sim.add_sample("s1", finished=False)]
    sim.faults.fail("project_samples", times=2, status=429, retry_after=0.05)
    sim.start_maintenance(seconds=0.3)
    assert run_sensor(sensor(sim, ids)) == ids


# -- deferrable -------------------------------------------------------------------------------------


def test_deferrable_defers_and_the_trigger_completes_it(sim):
    ids = [sim.add_sample(f"s{i}", finished=False) for i in range(2)]
    op = sensor(sim, ids, deferrable=True, timeout=600, cancel_on_kill=True)
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="wait"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, GencoveSampleTrigger) and trigger.sample_ids == ids and trigger.cancel_on_kill
    event = asyncio.run(first_event(trigger))
    assert event["status"] == "success" and event["job_id"] == sim.project_id
    assert [s["status"] for s in event["samples"]] == ["succeeded", "succeeded"]
    assert sim.api_key not in json.dumps(event)
    assert op.execute_complete(make_context(task_id="wait"), event) == ids


def test_deferrable_failure_names_the_failed_sample(sim):
    ids = [sim.add_sample("fine", finished=False), sim.add_sample("x-fail-qc", finished=False)]
    with pytest.raises(GencoveSampleStatusError, match=r"x-fail-qc.*effective coverage"):
        run_deferrable(sensor(sim, ids, deferrable=True, timeout=600), make_context(task_id="wait"))


def test_deferrable_restore_requests_in_the_worker_and_waits_again(sim):
    ids = [sim.add_sample("old"), sim.add_sample("fresh", finished=False)]
    sim.archive(ids[0])
    op = sensor(sim, ids, deferrable=True, timeout=600, restore=True)
    assert run_deferrable(op, make_context(task_id="wait")) == ids
    assert len(sim.requests_to("restore")) == 1


def test_execute_complete_fails_closed(sim):
    sample = str(uuid.uuid4())
    op = sensor(sim, [sample])
    for event in (
        None,
        {"status": "running", "job_id": sim.project_id},
        {"status": "success", "job_id": str(uuid.uuid4())},
        {"status": "success", "job_id": sim.project_id, "sample_ids": [str(uuid.uuid4())]},
    ):
        with pytest.raises(GencoveError):
            op.execute_complete({}, event)
    with pytest.raises(GencoveSampleStatusError, match="boom"):
        op.execute_complete({}, {"status": "failed", "job_id": sim.project_id, "message": "boom"})
    with pytest.raises(AirflowSensorTimeout):
        op.execute_complete({}, {"status": "timeout", "job_id": sim.project_id, "message": "t"})


# -- the trigger ------------------------------------------------------------------------------------


def test_trigger_serialises_and_back():
    project, ids = str(uuid.uuid4()), [str(uuid.uuid4())]
    trigger = GencoveSampleTrigger(project, ids, "g", 5, 1234.5, allow_failed=True, wait_for="restore")
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_tis.triggers.gencove.GencoveSampleTrigger"
    assert kwargs == {
        "project_id": project,
        "sample_ids": ids,
        "gencove_conn_id": "g",
        "poll_interval": 5.0,
        "end_time": 1234.5,
        "cancel_on_kill": False,
        "allow_failed": True,
        "wait_for": "restore",
    }
    assert GencoveSampleTrigger(**kwargs).serialize() == (classpath, kwargs)


async def test_trigger_a_sample_not_in_the_project_fails(sim):
    event = await first_event(make_trigger(sim, [sim.add_sample("a"), str(uuid.uuid4())]))
    assert event["status"] == "failed" and "not in Gencove project" in event["message"]


async def test_trigger_timeout_names_the_state(sim):
    sim.config.stage_seconds = 30
    event = await first_event(
        make_trigger(sim, [sim.add_sample("slow", finished=False)], end_time=time.time() + 0.3)
    )
    assert event["status"] == "timeout" and "still 1 of 1 samples still being analysed" in event["message"]


async def test_trigger_on_kill_cancels_only_when_asked(sim):
    sim.config.stage_seconds = 30
    ids = [sim.add_sample(f"r{i}", finished=False) for i in range(25)]
    await make_trigger(sim, ids).on_kill()
    assert sim.requests_to("cancel") == []
    await make_trigger(sim, ids, cancel_on_kill=True).on_kill()
    assert len(sim.requests_to("cancel")) == 2  # 20 + 5
    assert {sim.sample(i).status for i in ids} == {"canceled"}


async def test_two_triggers_on_one_project_share_one_listing_per_interval(sim):
    sim.config.stage_seconds = 30  # nothing changes while they wait
    first = [sim.add_sample(f"a{i}", finished=False) for i in range(3)]
    second = [sim.add_sample(f"b{i}", finished=False) for i in range(3)]
    interval = 0.2
    runs = [
        asyncio.ensure_future(first_event(make_trigger(sim, ids, poll_interval=interval)))
        for ids in (first, second)
    ]
    await asyncio.sleep(interval * 1.5)  # both looked once, then joined the group
    before = len(sim.requests_to("project_samples"))
    await asyncio.sleep(interval * 5)
    listings = len(sim.requests_to("project_samples")) - before
    assert 3 <= listings <= 7  # one per interval for both, not two
    # one sample of the second trigger ends: it waits on, since every sample must end first
    sim.jobs.cancel(sim.jobs.projects[sim.project_id], [second[1]])
    await asyncio.sleep(interval * 3)
    assert not runs[1].done()
    sim.jobs.cancel(sim.jobs.projects[sim.project_id], [second[0], second[2]])  # all ended: it fires
    event = await asyncio.wait_for(runs[1], 10)
    assert event["status"] == "failed" and "b1" in event["message"] and "Canceled by user" in event["message"]
    assert not runs[0].done()  # the other trigger's samples did not change: it waits on
    runs[0].cancel()
    await asyncio.gather(runs[0], return_exceptions=True)


async def test_trigger_waits_out_429_and_maintenance(sim):
    ids = [sim.add_sample("s", finished=False)]
    sim.faults.fail("project_samples", times=3, status=429, retry_after=0.05, after=1)
    sim.start_maintenance(seconds=0.3)
    event = await first_event(make_trigger(sim, ids))
    assert event["status"] == "success"


# -- restore and cancel operators -----------------------------------------------------------------------


def test_restore_operator_restores_only_the_archived_and_waits(sim):
    archived, available = sim.add_sample("old"), sim.add_sample("new")
    sim.archive(archived)
    op = GencoveRestoreSamplesOperator(
        task_id="restore", project_id=sim.project_id, sample_ids=[archived, available], poll_interval=0.05
    )
    group = op.execute(make_context(task_id="restore"))
    assert uuid.UUID(group) and len(sim.requests_to("restore")) == 1
    assert sim.sample(archived).archive_status == "restored"


def test_restore_operator_with_nothing_archived_sends_nothing(sim):
    op = GencoveRestoreSamplesOperator(
        task_id="restore", project_id=sim.project_id, sample_ids=[sim.add_sample("a")]
    )
    assert op.execute(make_context()) is None and sim.requests_to("restore") == []


def test_restore_operator_deferrable(sim):
    sample = sim.add_sample("old")
    sim.archive(sample)
    op = GencoveRestoreSamplesOperator(
        task_id="restore", project_id=sim.project_id, sample_ids=[sample], poll_interval=0.05, deferrable=True
    )
    group = run_deferrable(op, make_context(task_id="restore"))
    assert isinstance(group, str) and sim.sample(sample).archive_status == "restored"


def test_cancel_operator_cancels_45_samples_in_3_calls_and_skips_ended_ones(sim, logs):
    done = sim.add_sample("done")
    sim.config.stage_seconds = 30
    ids = [sim.add_sample(f"r{i}", finished=False) for i in range(45)]
    op = GencoveCancelSamplesOperator(task_id="cancel", project_id=sim.project_id, sample_ids=[done, *ids])
    assert op.execute(make_context(task_id="cancel")) == ids
    assert len(sim.requests_to("cancel")) == 3
    assert {sim.sample(i).status for i in ids} == {"canceled"} and sim.sample(done).status == "succeeded"
    assert any("Not canceling 1" in line and "done" in line for line in logs())


def test_templated_fields():
    for cls in (GencoveSampleSensor, GencoveRestoreSamplesOperator, GencoveCancelSamplesOperator):
        assert tuple(cls.template_fields) == ("project_id", "sample_ids")


def test_a_dag_importing_these_imports_no_hook_trigger_or_http_library():
    from tests.unit.test_import_cost import HEAVY, imported_by

    added = imported_by(
        "from airflow_provider_tis.sensors.gencove import GencoveSampleSensor\n"
        "from airflow_provider_tis.operators.gencove import GencoveRestoreSamplesOperator"
    )
    assert "airflow_provider_tis.operators.gencove" in added
    light = {"airflow_provider_tis.hooks", "airflow_provider_tis.hooks.defaults"}
    assert [n for n in added if n.split(".")[1] in ("hooks", "triggers") and n not in light] == []
    assert [n for n in added if n.split(".")[0] in HEAVY] == []
