"""Waiting for a free job slot or for maintenance to end without holding a worker: the submit task defers
to TisCapacityTrigger (deferrable) or frees its slot between checks (capacity_mode="reschedule")."""

from __future__ import annotations

import asyncio
import time

import pytest

from airflow_provider_tis.hooks import TisConfigError, TisHook
from airflow_provider_tis.operators import SubmitImputationOperator
from airflow_provider_tis.triggers import TisCapacityTrigger
from airflow_provider_tis.version_compat import AirflowRescheduleException, TaskDeferred
from tests.operators.conftest import make_context

PARAMS = {"refpanel": "topmed-r3", "population": "all"}
RUNNING = (1, 2, 3)  # waiting, running, exporting


def make(vcf, **kwargs):
    kwargs.setdefault("capacity_poll_interval", 0.05)
    return SubmitImputationOperator(task_id="submit", files=str(vcf), **PARAMS, **kwargs)


def fill_the_slots(vcf, count=3) -> list[str]:
    """Jobs submitted outside Airflow take the user's slots."""
    return [TisHook().submit_job([vcf], PARAMS) for _ in range(count)]


def event_of(trigger: TisCapacityTrigger) -> dict:
    return asyncio.run(asyncio.wait_for(trigger.run().__anext__(), 30)).payload


def deferred(op, context, **kwargs) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        op.execute_complete(context, **kwargs) if kwargs else op.execute(context)
    return caught.value


def test_a_full_server_defers_and_the_trigger_fires_when_a_slot_frees(tis_simulator, vcf):
    tis_simulator.config.run_seconds = 1.0
    outside = fill_the_slots(vcf)
    op, context = make(vcf, deferrable=True), make_context()

    deferral = deferred(op, context)

    assert len(tis_simulator.requests_to("submit")) == 3  # no upload while the slots are taken
    trigger = deferral.trigger
    assert isinstance(trigger, TisCapacityTrigger) and deferral.method_name == "execute_complete"
    classpath, arguments = trigger.serialize()
    assert classpath == "airflow_provider_tis.triggers.tis.TisCapacityTrigger"
    assert arguments["job_name"] == "dag__run-1__submit" and arguments["max_active_jobs"] == 3
    event = event_of(TisCapacityTrigger(**arguments))
    assert event == {"status": "success", "job_id": "dag__run-1__submit", "reuse": None}
    assert any(tis_simulator.job(job_id).state not in RUNNING for job_id in outside)

    job_id = op.execute_complete(context, event=event, **deferral.kwargs)

    assert job_id not in outside and len(tis_simulator.requests_to("submit")) == 4
    assert [r.status for r in tis_simulator.requests_to("submit")] == [200] * 4


def test_a_slot_taken_by_another_client_after_the_event_defers_again(tis_simulator, vcf):
    tis_simulator.config.run_seconds = 30
    fill_the_slots(vcf, 2)
    op, context = make(vcf, deferrable=True), make_context()
    event = {"status": "success", "job_id": "dag__run-1__submit", "reuse": None}
    fill_the_slots(vcf, 1)  # between the trigger's event and the task's resume

    again = deferred(op, context, event=event)

    assert isinstance(again.trigger, TisCapacityTrigger)
    assert len(tis_simulator.requests_to("submit")) == 3  # still no upload of ours


def test_maintenance_defers_too_and_the_trigger_waits_it_out(tis_simulator, vcf):
    tis_simulator.maintenance = True
    op = make(vcf, deferrable=True)
    deferral = deferred(op, make_context())
    assert not tis_simulator.requests_to("submit") and not tis_simulator.requests_to("app")
    trigger = TisCapacityTrigger(**deferral.trigger.serialize()[1])

    async def wait_then_end_maintenance() -> dict:
        waiting = asyncio.ensure_future(trigger.run().__anext__())
        await asyncio.sleep(0.3)
        assert not waiting.done()
        tis_simulator.maintenance = False
        return (await asyncio.wait_for(waiting, 10)).payload

    assert asyncio.run(wait_then_end_maintenance())["status"] == "success"


def test_the_trigger_finds_the_job_of_an_earlier_try_to_reuse(tis_simulator, vcf):
    tis_simulator.config.run_seconds = 30
    earlier = TisHook().submit_job([vcf], {**PARAMS, "job-name": "dag__run-1__submit"})
    fill_the_slots(vcf, 2)
    op, context = make(vcf, deferrable=True), make_context()
    trigger = TisCapacityTrigger("dag__run-1__submit", "tis_default", 3, 0.05, time.time() + 30)

    event = event_of(trigger)

    assert event["reuse"] == earlier
    assert op.execute_complete(context, event=event) == earlier
    assert len(tis_simulator.requests_to("submit")) == 3


def test_a_timeout_event_fails_the_task_saying_what_it_waited_for(tis_simulator, vcf):
    fill_the_slots(vcf)
    tis_simulator.config.run_seconds = 30
    trigger = TisCapacityTrigger("dag__run-1__submit", "tis_default", 3, 0.05, time.time() + 0.3)
    event = event_of(trigger)
    assert (
        event["status"] == "timeout" and "3 of your jobs are queued or running (limit 3)" in event["message"]
    )
    with pytest.raises(Exception, match="Waiting to submit TIS job dag__run-1__submit ended"):
        make(vcf, deferrable=True).execute_complete(make_context(), event=event)


def test_an_event_about_another_job_name_is_refused(tis_simulator, vcf):
    with pytest.raises(Exception, match="not 'dag__run-1__submit'"):
        make(vcf, deferrable=True).execute_complete(
            make_context(), event={"status": "success", "job_id": "other", "reuse": None}
        )


def test_reschedule_mode_frees_the_worker_between_checks(tis_simulator, vcf):
    tis_simulator.config.run_seconds = 1.0
    fill_the_slots(vcf)
    op = make(vcf, capacity_mode="reschedule", capacity_poll_interval=30)
    assert op.reschedule is True

    with pytest.raises(AirflowRescheduleException) as caught:
        op.execute(make_context())
    assert 25 < (caught.value.reschedule_date.timestamp() - time.time()) <= 30
    assert len(tis_simulator.requests_to("submit")) == 3

    while not op.hook.list_jobs() or sum(job.state.is_active for job in op.hook.list_jobs()) >= 3:
        time.sleep(0.1)
    job_id = make(vcf, capacity_mode="reschedule").execute(make_context())  # the next poke uploads
    assert job_id in tis_simulator.jobs.jobs and len(tis_simulator.requests_to("submit")) == 4


def test_capacity_mode_must_be_poke_or_reschedule(vcf):
    with pytest.raises(TisConfigError, match="capacity_mode is 'poke' or 'reschedule', not 'defer'"):
        make(vcf, capacity_mode="defer")
    assert make(vcf).reschedule is False
    assert make(vcf, capacity_mode="reschedule", deferrable=True).reschedule is False


def test_submits_waiting_for_a_slot_poll_together_and_all_see_it_free(tis_simulator, vcf):
    """Twenty deferred submits of one connection: one server read and one job list per interval for all of
    them while nothing changes; each reads for itself once a job ends."""
    tis_simulator.config.run_seconds = 3.0
    fill_the_slots(vcf)
    names = [f"dag__run-{i}__submit" for i in range(20)]

    async def wait_all() -> tuple[list[dict], int]:
        triggers = [TisCapacityTrigger(name, "tis_default", 3, 0.2, time.time() + 60) for name in names]
        runs = [asyncio.ensure_future(t.run().__anext__()) for t in triggers]
        await asyncio.sleep(1.5)  # the slots stay taken: the group polls
        quiet = len(tis_simulator.requests)
        await asyncio.sleep(1.0)
        assert not any(run.done() for run in runs)
        polls = [record.route for record in list(tis_simulator.requests)[quiet:]]
        events = [(await asyncio.wait_for(run, 30)).payload for run in runs]
        return events, polls

    events, polls = asyncio.run(wait_all())

    assert {e["status"] for e in events} == {"success"} and sorted(e["job_id"] for e in events) == sorted(
        names
    )
    # in one second at 0.2 s: about five rounds of (server, list) for the twenty, not a hundred of each
    assert 1 <= polls.count("jobs") <= 7 and polls.count("server") <= 7
