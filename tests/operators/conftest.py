"""Running operators, the sensor and the trigger in-process against the simulator (the tis_simulator
fixture comes from our plugin). The plain helpers are imported by tests elsewhere too."""

from __future__ import annotations

import asyncio
import time
from unittest import mock


def make_context(*, run_id: str = "run-1", map_index: int = -1, try_number: int = 1, task_id: str = "submit"):
    ti = mock.MagicMock()
    ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number = (
        "dag",
        run_id,
        task_id,
        map_index,
        try_number,
    )
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, "task_instance": ti}


class StateStore(dict):
    """What ``context["task_state_store"]`` offers on Airflow >= 3.3: it survives reschedules."""

    def set(self, key, value):
        self[key] = value


def download(job_id, destination, **kwargs):
    from airflow_provider_tis.operators import DownloadResultsOperator

    return DownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def sensor(job_id, **kwargs):
    from airflow_provider_tis.sensors import JobStateSensor

    kwargs.setdefault("poke_interval", 0.05)
    kwargs.setdefault("failed_settle_seconds", 0.4)
    return JobStateSensor(task_id="wait", job_id=job_id, **kwargs)


def run_sensor(op, context=None):
    """Poke until done, as poke mode would, without the scheduler."""
    context = context or make_context(task_id="wait")
    while True:
        result = op.poke(context)
        if result:
            return result.xcom_value
        time.sleep(op.poke_interval)


def make_trigger(job_id, **kwargs):
    from airflow_provider_tis.triggers import JobStateTrigger

    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("end_time", time.time() + 60)
    kwargs.setdefault("failed_settle_seconds", 0.4)
    return JobStateTrigger(job_id=job_id, tis_conn_id="tis_default", **kwargs)


async def first_event(trigger):
    return (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload
