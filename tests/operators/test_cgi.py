"""The CGI operators, sensor and trigger against the CGI simulator: submit, wait, download, delete."""

from __future__ import annotations

import asyncio
import importlib
import io
import json
import time
import zipfile

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks import cgi as cgi_hook_module
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.hooks.cgi_models import (
    CgiConfigError,
    CgiError,
    CgiJobFailedError,
    CgiNotFoundError,
    CgiTransferError,
)
from airflow_provider_tis.operators.cgi import (
    CgiDeleteJobOperator,
    CgiDownloadResultsOperator,
    CgiSubmitOperator,
)
from airflow_provider_tis.sensors.cgi import CgiJobSensor
from airflow_provider_tis.testing import write_cnas, write_mutations, write_translocations
from airflow_provider_tis.triggers.cgi import CgiJobTrigger
from airflow_provider_tis.version_compat import AirflowSensorTimeout, ObjectStoragePath, TaskDeferred
from tests.operators.conftest import make_context

MEMBERS = {"alterations.tsv", "biomarkers.tsv", "input01.tsv", "summary.txt"}


@pytest.fixture(autouse=True)
def waits(recorded_waits: list[float]) -> list[float]:
    """The waits the retry policy chose (it sleeps at most 10 ms); see tests/conftest.py."""
    return recorded_waits


@pytest.fixture
def mutations(tmp_path):
    return write_mutations(tmp_path / "in" / "variants.tsv")


def submit(context=None, **kwargs) -> str:
    kwargs.setdefault("cancer_type", "CANCER")
    return CgiSubmitOperator(task_id="submit", **kwargs).execute(context or make_context())


def sensor(job_id: str, **kwargs) -> CgiJobSensor:
    kwargs.setdefault("poke_interval", 0.05)
    return CgiJobSensor(task_id="wait", job_id=job_id, **kwargs)


def run_sensor(op: CgiJobSensor, limit: float = 20):
    """Poke until done, as poke mode would, without the scheduler."""
    context = make_context(task_id="wait")
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        result = op.poke(context)
        if result:
            return result.xcom_value
        time.sleep(op.poke_interval)
    raise AssertionError("the sensor never finished")


def download(job_id: str, destination, **kwargs) -> list[str]:
    return CgiDownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def done_job(sim, mutations, **kwargs) -> str:
    job_id = submit(mutations=str(mutations), **kwargs)
    sim.shift_clock(60)
    sim.wait_for_status(job_id, "Done", timeout=5)
    return job_id


def zip_members(data: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def files_under(folder) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- the whole flow ------------------------------------------------------------------------------


def test_submit_wait_download_delete(cgi_simulator, mutations, tmp_path, logs):
    context = make_context()
    job_id = submit(context, mutations=str(mutations), reference="hg38")
    assert list(cgi_simulator.jobs.jobs) == [job_id]
    context["ti"].xcom_push.assert_called_once()
    pushed = context["ti"].xcom_push.call_args
    assert pushed.kwargs["key"] == "job_url" and job_id in pushed.kwargs["value"]
    assert pushed.kwargs["value"].startswith(cgi_simulator.url)

    summary = run_sensor(sensor(job_id))
    assert summary["id"] == job_id and summary["status"] == "Done"
    assert (summary["cancer_type"], summary["reference"]) == ("CANCER", "hg38")
    assert json.loads(json.dumps(summary)) == summary
    served = cgi_simulator.job(job_id).zip_path.read_bytes()

    out = tmp_path / "out"
    written = download(job_id, out)
    assert written == [f"file://{out}/cgi_{job_id}.zip"]
    assert (out / f"cgi_{job_id}.zip").read_bytes() == served
    (entry,) = (out / MANIFEST_FOLDER).iterdir()
    recorded = json.loads(entry.read_text())
    assert (recorded["job_id"], recorded["size"]) == (job_id, len(served))
    assert files_under(out) == sorted([f"cgi_{job_id}.zip", f"{MANIFEST_FOLDER}/{entry.name}"])
    # deleted from the account once the results were safe
    assert cgi_simulator.jobs.jobs == {} and len(cgi_simulator.requests_to("delete")) == 1
    assert any("Deleted CGI job" in line for line in logs())


def test_all_three_inputs_title_and_reference_reach_the_server(cgi_simulator, tmp_path, mutations):
    cnas = write_cnas(tmp_path / "in" / "cnas.tsv")
    fusions = write_translocations(tmp_path / "in" / "fus.tsv")
    job_id = submit(
        mutations=str(mutations),
        cnas=f"file://{cnas}",
        translocations=str(fusions),
        reference="hg38",
        title="my study",
        cancer_type=" LUAD ",
    )
    (sent,) = cgi_simulator.requests_to("submit")
    assert sent.files == ("mutations", "cnas", "translocations")
    assert sent.fields["cancer_type"] == "LUAD" and sent.fields["reference"] == "hg38"
    assert sent.fields["title"].startswith("my study-") and len(sent.fields["title"]) == len("my study-") + 10
    assert cgi_simulator.job(job_id).inputs.keys() == {"mutations", "cnas", "translocations"}


def test_input_from_object_storage_is_uploaded(cgi_simulator, mutations, memory_fs):
    memory_fs.pipe("/bucket/study/variants.tsv", mutations.read_bytes())
    job_id = submit(mutations="memory://bucket/study/variants.tsv")
    assert cgi_simulator.job(job_id).inputs["mutations"].read_bytes() == mutations.read_bytes()


def test_templated_fields():
    assert {"cancer_type", "mutations", "cnas", "translocations", "reference", "title"} <= set(
        CgiSubmitOperator.template_fields
    )
    assert {"job_id", "destination"} <= set(CgiDownloadResultsOperator.template_fields)
    assert "job_id" in CgiDeleteJobOperator.template_fields and "job_id" in CgiJobSensor.template_fields


# -- one job per task instance -------------------------------------------------------------------


def test_titles_are_unique_per_run_task_and_map_index(cgi_simulator, mutations):
    contexts = [
        make_context(run_id="run-1"),
        make_context(run_id="run-2"),
        make_context(run_id="run-1", task_id="submit_other"),
        make_context(run_id="run-1", map_index=0),
        make_context(run_id="run-1", map_index=1),
    ]
    ids = [submit(context, mutations=str(mutations)) for context in contexts]
    assert len(set(ids)) == 5 and len(cgi_simulator.jobs.jobs) == 5
    titles = [r.fields["title"] for r in cgi_simulator.requests_to("submit")]
    assert len(set(titles)) == 5


def test_explicit_title_is_still_unique_per_run(cgi_simulator, mutations):
    first = submit(make_context(run_id="run-1"), mutations=str(mutations), title="study")
    second = submit(make_context(run_id="run-2"), mutations=str(mutations), title="study")
    assert first != second
    titles = [r.fields["title"] for r in cgi_simulator.requests_to("submit")]
    assert titles[0] != titles[1] and all(t.startswith("study-") for t in titles)


def test_a_retry_after_a_lost_submit_answer_reuses_the_job(cgi_simulator, mutations, logs):
    cgi_simulator.faults.drop_submit_response()
    with pytest.raises(CgiError):
        submit(make_context(try_number=1), mutations=str(mutations))
    (created,) = cgi_simulator.jobs.jobs  # the server made the job; the task never heard its id
    job_id = submit(make_context(try_number=2), mutations=str(mutations))
    assert job_id == created and list(cgi_simulator.jobs.jobs) == [created]
    assert len(cgi_simulator.requests_to("submit")) == 1
    assert any("Reusing CGI job" in line and created in line for line in logs())


def test_a_retry_of_a_finished_try_reuses_its_job(cgi_simulator, mutations):
    first = submit(make_context(try_number=1), mutations=str(mutations))
    cgi_simulator.wait_for_status(first, "Done", timeout=5)
    assert submit(make_context(try_number=2), mutations=str(mutations)) == first
    assert len(cgi_simulator.requests_to("submit")) == 1


def test_a_later_dag_run_submits_a_new_job(cgi_simulator, mutations):
    first = submit(make_context(run_id="run-1"), mutations=str(mutations))
    cgi_simulator.wait_for_status(first, "Done", timeout=5)
    second = submit(make_context(run_id="run-2"), mutations=str(mutations))
    assert second != first and set(cgi_simulator.jobs.jobs) == {first, second}


def test_a_retry_after_an_error_job_submits_again(cgi_simulator, tmp_path):
    bad = write_mutations(tmp_path / "bad.tsv", [("chr7", "x", "A", "T")])
    first = submit(make_context(try_number=1), mutations=str(bad))
    cgi_simulator.wait_for_status(first, "Error", timeout=5)
    second = submit(make_context(try_number=2), mutations=str(bad))
    assert second != first and len(cgi_simulator.requests_to("submit")) == 2


# -- sensor --------------------------------------------------------------------------------------


def test_sensor_logs_each_new_log_line_once(cgi_simulator, mutations, logs):
    cgi_simulator.config.run_seconds = 0.6
    job_id = submit(mutations=str(mutations))
    run_sensor(sensor(job_id, poke_interval=0.1))
    job_lines = [line for line in logs() if f"CGI job {job_id}: " in line]
    assert any("Analysis done" in line for line in job_lines)
    assert any("Running VEP" in line for line in job_lines)
    assert len(cgi_simulator.requests_to("logs")) > 1  # several pokes, yet ...
    messages = [line.split(f"CGI job {job_id}: ", 1)[1] for line in job_lines]
    assert len(messages) == len(set(messages))  # ... every line logged once


def test_sensor_fails_on_error_with_the_tail_of_the_logs(cgi_simulator, tmp_path):
    bad = write_mutations(tmp_path / "bad.tsv", [("chr7", "140453136", "A", "Z")])
    job_id = submit(mutations=str(bad))
    with pytest.raises(CgiJobFailedError) as err:
        run_sensor(sensor(job_id))
    text = str(err.value)
    assert job_id in text and "ended in Error" in text
    assert "alt allele 'Z' is not valid" in text and "Analysis failed" in text


def test_sensor_fails_on_a_deleted_job(cgi_simulator, mutations):
    job_id = submit(mutations=str(mutations))
    cgi_simulator.delete_job(job_id)
    with pytest.raises(CgiJobFailedError, match="does not exist any more"):
        run_sensor(sensor(job_id))


def test_sensor_waits_out_temporary_troubles(cgi_simulator, mutations, logs):
    job_id = submit(mutations=str(mutations))
    cgi_simulator.faults.fail("status", times=20, status=503)  # more than one poke's retries
    op = sensor(job_id)
    assert op.poke(make_context(task_id="wait")) is False
    assert any("will look again" in line for line in logs())
    cgi_simulator.faults.clear()
    assert run_sensor(op)["status"] == "Done"


def test_sensor_does_not_wait_out_a_wrong_token(cgi_simulator, mutations, monkeypatch):
    from airflow_provider_tis.hooks.cgi_models import CgiAuthError

    job_id = submit(mutations=str(mutations))
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", cgi_simulator.connection_json(token="0" * 20))
    with pytest.raises(CgiAuthError):
        sensor(job_id).poke(make_context(task_id="wait"))


def test_reschedule_is_the_default_mode(cgi_simulator):
    op = CgiJobSensor(task_id="wait", job_id="c22ecf2af788d65ec257")
    assert op.mode == "reschedule" and op.poke_interval == 60


def test_deferrable_defers_with_an_absolute_deadline(cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    op = sensor(job_id, deferrable=True, timeout=600, poke_interval=5, cancel_on_kill=True)
    before = time.time()
    with pytest.raises(TaskDeferred) as deferred:
        op.execute(make_context(task_id="wait"))
    trigger = deferred.value.trigger
    assert isinstance(trigger, CgiJobTrigger) and deferred.value.method_name == "execute_complete"
    assert before + 600 <= trigger.end_time <= time.time() + 600
    assert (trigger.job_id, trigger.conn_id, trigger.poll_interval) == (job_id, "cgi_default", 5.0)
    assert trigger.cancel_on_kill is True


def test_deferrable_finished_job_does_not_defer(cgi_simulator, mutations):
    job_id = done_job(cgi_simulator, mutations)
    assert sensor(job_id, deferrable=True).execute(make_context(task_id="wait"))["status"] == "Done"


@pytest.mark.parametrize(
    ("event", "error"),
    [
        (None, "unexpected trigger event"),
        ({"status": "running", "job_id": "a1"}, "unexpected trigger event"),
        ({"status": "success", "job_id": "b2", "job": {}}, "is about job 'b2'"),
        ({"status": "success", "job_id": "a1"}, "incomplete trigger event"),
        ({"status": "error", "job_id": "a1", "message": "boom"}, "boom"),
    ],
)
def test_execute_complete_fails_closed(cgi_simulator, event, error):
    with pytest.raises(CgiError, match=error):
        sensor("a1").execute_complete(make_context(), event)


def test_execute_complete_outcomes(cgi_simulator, mutations):
    op = sensor("a1")
    assert op.execute_complete({}, {"status": "success", "job_id": "a1", "job": {"status": "Done"}}) == {
        "status": "Done"
    }
    with pytest.raises(CgiJobFailedError, match="Last log lines: boom"):
        op.execute_complete({}, {"status": "failed", "job_id": "a1", "message": "Last log lines: boom"})
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_id).execute_complete({}, {"status": "timeout", "job_id": job_id, "message": "t"})
    assert cgi_simulator.requests_to("delete") == []
    with pytest.raises(AirflowSensorTimeout):
        sensor(job_id, cancel_on_kill=True).execute_complete(
            {}, {"status": "timeout", "job_id": job_id, "message": "t"}
        )
    assert cgi_simulator.jobs.jobs == {}  # gave up waiting: deleted when asked to


def test_on_kill_deletes_only_when_asked(cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    sensor(job_id).on_kill()
    assert cgi_simulator.requests_to("delete") == [] and job_id in cgi_simulator.jobs.jobs
    sensor(job_id, cancel_on_kill=True).on_kill()
    assert job_id not in cgi_simulator.jobs.jobs


# -- trigger -------------------------------------------------------------------------------------


def make_trigger(job_id: str, **kwargs) -> CgiJobTrigger:
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("end_time", time.time() + 30)
    return CgiJobTrigger(job_id=job_id, cgi_conn_id="cgi_default", **kwargs)


async def first_event(trigger: CgiJobTrigger) -> dict:
    return (await asyncio.wait_for(trigger.run().__anext__(), 30)).payload


def test_trigger_serialises_to_json_primitives_and_back():
    trigger = make_trigger("a1", end_time=1234.5, cancel_on_kill=True)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_provider_tis.triggers.cgi.CgiJobTrigger"
    assert kwargs == {
        "job_id": "a1",
        "cgi_conn_id": "cgi_default",
        "poll_interval": 0.05,
        "end_time": 1234.5,
        "cancel_on_kill": True,
    }
    module, name = classpath.rsplit(".", 1)
    assert getattr(importlib.import_module(module), name)(**kwargs).serialize() == (classpath, kwargs)


async def test_trigger_success(cgi_simulator, mutations):
    job_id = submit(mutations=str(mutations))
    event = await first_event(make_trigger(job_id))
    assert (event["status"], event["job_id"]) == ("success", job_id)
    assert event["job"]["status"] == "Done" and event["job"]["id"] == job_id


async def test_trigger_failure_carries_the_log_tail(cgi_simulator, tmp_path):
    bad = write_mutations(tmp_path / "bad.tsv", [("chr7", "x", "A", "T")])
    job_id = submit(mutations=str(bad))
    event = await first_event(make_trigger(job_id))
    assert event["status"] == "failed" and "is not a number" in event["message"]
    assert "Analysis failed" in event["message"]


async def test_trigger_timeout_and_deleted(cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    timeout = await first_event(make_trigger(job_id, end_time=time.time() + 1.0))
    assert timeout["status"] == "timeout" and f"Gave up waiting for CGI job {job_id}" in timeout["message"]
    cgi_simulator.delete_job(job_id)
    deleted = await first_event(make_trigger(job_id))
    assert deleted["status"] == "failed" and "does not exist" in deleted["message"]


async def test_trigger_waits_out_5xx_and_reports_a_wrong_token(cgi_simulator, mutations, monkeypatch):
    # the async client sleeps with asyncio.sleep: short waits keep the test fast
    monkeypatch.setattr(
        cgi_hook_module, "RetryPolicy", lambda: RetryPolicy(initial_delay=0.01, max_delay=0.05)
    )
    job_id = submit(mutations=str(mutations))
    cgi_simulator.faults.fail("status", times=2, status=502)
    assert (await first_event(make_trigger(job_id)))["status"] == "success"
    assert [r.status for r in cgi_simulator.requests_to("status")][:3] == [502, 502, 200]
    bad = "1" * 20
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", cgi_simulator.connection_json(token=bad))
    event = await first_event(make_trigger(job_id))
    assert event["status"] == "error" and "email and token were refused" in event["message"]
    assert bad not in json.dumps(event)


async def test_trigger_keeps_waiting_while_running(cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    task = asyncio.ensure_future(make_trigger(submit(mutations=str(mutations))).run().__anext__())
    await asyncio.sleep(0.4)
    assert not task.done()
    task.cancel()


async def test_trigger_on_kill_deletes_only_when_asked(cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    await make_trigger(job_id).on_kill()
    assert job_id in cgi_simulator.jobs.jobs
    await make_trigger(job_id, cancel_on_kill=True).on_kill()
    assert job_id not in cgi_simulator.jobs.jobs


# -- download ------------------------------------------------------------------------------------


def test_extract_unpacks_every_member_next_to_the_zip(cgi_simulator, mutations, tmp_path):
    job_id = done_job(cgi_simulator, mutations)
    served = zip_members(cgi_simulator.job(job_id).zip_path.read_bytes())
    out = tmp_path / "out"
    written = download(job_id, out, extract=True)
    assert written[0] == f"file://{out}/cgi_{job_id}.zip"
    assert sorted(written[1:]) == sorted(f"file://{out}/{name}" for name in MEMBERS)
    for name, data in served.items():
        assert (out / name).read_bytes() == data
    assert not [p for p in out.rglob("*.part")]
    (entry,) = (out / MANIFEST_FOLDER).iterdir()
    assert set(json.loads(entry.read_text())["unpacked"]) == MEMBERS


def test_delete_job_runs_only_after_the_files_are_written(cgi_simulator, mutations, tmp_path, monkeypatch):
    job_id = done_job(cgi_simulator, mutations)
    out = tmp_path / "out"
    seen = []
    real_delete = CgiHook.delete_job

    def delete_job(self, deleted):
        seen.append(
            (
                deleted,
                (out / f"cgi_{job_id}.zip").is_file(),
                (out / "summary.txt").is_file(),
                len(list((out / MANIFEST_FOLDER).glob("*.json"))) if (out / MANIFEST_FOLDER).is_dir() else 0,
                [p.name for p in out.rglob("*.part")],
            )
        )
        return real_delete(self, deleted)

    monkeypatch.setattr(CgiHook, "delete_job", delete_job)
    download(job_id, out, extract=True)
    assert seen == [(job_id, True, True, 1, [])]


def test_delete_job_false_keeps_the_job(cgi_simulator, mutations, tmp_path):
    job_id = done_job(cgi_simulator, mutations)
    download(job_id, tmp_path / "out", delete_job=False)
    assert job_id in cgi_simulator.jobs.jobs and cgi_simulator.requests_to("delete") == []


def test_a_retry_does_not_download_again_unless_overwrite(cgi_simulator, mutations, tmp_path):
    job_id = done_job(cgi_simulator, mutations)
    out = tmp_path / "out"
    download(job_id, out, delete_job=False)
    assert download(job_id, out, delete_job=False, extract=True)[0] == f"file://{out}/cgi_{job_id}.zip"
    assert len(cgi_simulator.requests_to("download")) == 1 and (out / "summary.txt").is_file()
    download(job_id, out, delete_job=False, overwrite=True)
    assert len(cgi_simulator.requests_to("download")) == 2


def test_a_damaged_zip_at_the_destination_is_downloaded_again(cgi_simulator, mutations, tmp_path):
    job_id = done_job(cgi_simulator, mutations)
    out = tmp_path / "out"
    download(job_id, out, delete_job=False)
    (out / f"cgi_{job_id}.zip").write_bytes(b"PK truncated")
    download(job_id, out, delete_job=False)
    assert len(cgi_simulator.requests_to("download")) == 2
    assert zipfile.is_zipfile(out / f"cgi_{job_id}.zip")


def test_a_retry_after_the_job_was_deleted_keeps_the_results(cgi_simulator, mutations, tmp_path):
    """The first try wrote the results and deleted the job, then the worker died before the task was
    marked successful. The retry finds the results proven by the manifest: it must succeed, not fail on
    the job that it deleted itself."""
    job_id = done_job(cgi_simulator, mutations)
    out = tmp_path / "out"
    first = download(job_id, out)
    assert cgi_simulator.jobs.jobs == {}
    assert download(job_id, out) == first
    assert len(cgi_simulator.requests_to("download")) == 1


def test_memory_destination(cgi_simulator, mutations, memory_fs):
    job_id = done_job(cgi_simulator, mutations)
    served = cgi_simulator.job(job_id).zip_path.read_bytes()
    written = download(job_id, "memory://results/run-1", extract=True)
    assert written[0] == str(ObjectStoragePath(f"memory://results/run-1/cgi_{job_id}.zip"))
    assert memory_fs.cat(f"/results/run-1/cgi_{job_id}.zip") == served
    assert memory_fs.cat("/results/run-1/summary.txt") == zip_members(served)["summary.txt"]
    assert not [p for p in memory_fs.find("/results") if p.endswith(".part")]


def test_a_running_job_is_not_downloaded(cgi_simulator, mutations, tmp_path):
    cgi_simulator.config.run_seconds = 60
    job_id = submit(mutations=str(mutations))
    with pytest.raises(CgiJobFailedError, match="is Running: only a Done job has results"):
        download(job_id, tmp_path / "out")
    assert cgi_simulator.requests_to("download") == [] and cgi_simulator.requests_to("delete") == []
    assert not (tmp_path / "out").exists() or files_under(tmp_path / "out") == []


def test_a_zip_with_a_member_outside_the_destination_is_refused(cgi_simulator, mutations, tmp_path):
    job_id = done_job(cgi_simulator, mutations)
    with zipfile.ZipFile(cgi_simulator.job(job_id).zip_path, "w") as archive:
        archive.writestr("summary.txt", "ok\n")
        archive.writestr("../escaped.txt", "outside\n")
    out = tmp_path / "out"
    with pytest.raises(CgiTransferError, match=r"contains '\.\.'"):
        download(job_id, out, extract=True)
    assert not (tmp_path / "escaped.txt").exists()
    assert job_id in cgi_simulator.jobs.jobs  # not deleted: the results are not all safe


# -- delete --------------------------------------------------------------------------------------


def test_delete_operator(cgi_simulator, mutations, logs):
    job_id = submit(mutations=str(mutations))
    assert CgiDeleteJobOperator(task_id="delete", job_id=job_id).execute(make_context()) is None
    assert cgi_simulator.jobs.jobs == {}
    CgiDeleteJobOperator(task_id="delete", job_id=job_id).execute(make_context())  # already gone: fine
    assert [r.status for r in cgi_simulator.requests_to("delete")] == [200, 404]
    assert any("nothing to delete" in line for line in logs())


def test_delete_operator_refuses_a_bad_id_without_a_request(cgi_simulator):
    with pytest.raises(CgiConfigError, match="is not a CGI job id"):
        CgiDeleteJobOperator(task_id="delete", job_id="../x").execute(make_context())
    assert cgi_simulator.requests == []


def test_delete_operator_does_not_hide_a_wrong_token(cgi_simulator, mutations, monkeypatch):
    job_id = submit(mutations=str(mutations))
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", cgi_simulator.connection_json(token="2" * 20))
    with pytest.raises(CgiError, match="email and token were refused"):
        CgiDeleteJobOperator(task_id="delete", job_id=job_id).execute(make_context())
    assert job_id in cgi_simulator.jobs.jobs


def test_not_found_is_a_not_found_error(cgi_simulator):
    with pytest.raises(CgiNotFoundError):
        CgiHook().get_job("c22ecf2af788d65ec257")
