"""The official client, ``sevenbridges-python`` (SBPY), runs its main workflow against the simulator:
upload (the multipart API), create and run a task, ``task.wait()``, outputs, downloads, paginated
queries, bulk get, abort, validation errors, and its handlers for maintenance and the rate limit.

SBPY refuses ``http:`` URLs unless ``debug=True`` (§1.1), so every ``Api`` here has it.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import sevenbridges
from sevenbridges.errors import TaskValidationError, TooManyRequests
from sevenbridges.http import error_handlers

from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator

POLL = 0.05  # Task.wait(period=...) takes any float; its default is 10 s


@pytest.fixture
def sim():
    with SevenBridgesSimulator(**FAST, min_part_size=1024) as simulator:
        yield simulator


@pytest.fixture
def api(sim):
    return sevenbridges.Api(url=sim.url, token=sim.token, debug=True)


@pytest.fixture
def uploaded(api, sim, tmp_path: Path):
    """Two files uploaded with SBPY: reads (5 parts of 1 KiB) and a reference (one part)."""
    reads = tmp_path / "reads.fq"
    reads.write_bytes(bytes(range(256)) * 18 + b"tail")  # 4612 bytes
    reference = tmp_path / "ref.fa"
    reference.write_bytes(b">chr1\nACGTNNNN\n")
    files = {}
    for path in (reads, reference):
        upload = api.files.upload(str(path), project=sim.project, part_size=1024)
        assert upload.status == "COMPLETED"
        files[path.name] = upload.result()
    return files


def test_upload_goes_through_the_multipart_api_in_parts(sim, uploaded, tmp_path):
    reads = uploaded["reads.fq"]
    assert reads.name == "reads.fq" and reads.size == 4612 and reads.project == sim.project
    assert sim.read_file(reads.id) == (tmp_path / "reads.fq").read_bytes()
    assert len([r for r in sim.requests_to("part_upload") if r.status == 200]) == 5 + 1
    assert len(sim.requests_to("upload_report")) == 6 and len(sim.requests_to("upload_complete")) == 2


def test_a_dropped_part_is_sent_again_by_the_clients_transport_retries(api, sim, tmp_path):
    path = tmp_path / "x.bin"
    path.write_bytes(b"x" * 3000)
    sim.faults.drop_upload_after(100)
    upload = api.files.upload(str(path), project=sim.project, part_size=1024)
    assert upload.status == "COMPLETED" and sim.read_file(upload.result().id) == b"x" * 3000
    assert [r.status for r in sim.requests_to("part_upload")].count(0) == 1


def test_create_run_wait_read_outputs_and_download(api, sim, uploaded, tmp_path):
    task = api.tasks.create(
        "demo run",
        sim.project,
        sim.demo_app,
        inputs={"reads": uploaded["reads.fq"], "reference": uploaded["ref.fa"], "threads": 8, "sample": "s1"},
        run=True,
    )
    assert task.status == "QUEUED"
    task.wait(period=POLL)
    assert task.status == "COMPLETED"
    assert task.execution_status.steps_completed == task.execution_status.steps_total == 3
    merged, report, qc = task.outputs["merged"], task.outputs["report"], task.outputs["qc"]
    assert merged.name == "s1.merged.bin" and report.name == "s1.report.json"
    merged.download(str(tmp_path / "merged.bin"))
    expected = (tmp_path / "reads.fq").read_bytes() + (tmp_path / "ref.fa").read_bytes()
    assert (tmp_path / "merged.bin").read_bytes() == expected
    assert '"threads": 8' in report.content()
    assert qc.is_folder()
    listing = {f.name: f for f in api.files.query(parent=qc)}
    assert set(listing) == {"summary.json", "details"} and listing["details"].is_folder()
    (inner,) = api.files.query(parent=listing["details"])
    inner.download(str(tmp_path / "inputs.tsv"))
    assert "reads.fq\t4612" in (tmp_path / "inputs.tsv").read_text()
    jobs = task.get_execution_details().jobs
    assert [(j.name, j.status) for j in jobs] == [
        ("prepare", "COMPLETED"),
        ("align", "COMPLETED"),
        ("package", "COMPLETED"),
    ]
    assert "package" in jobs[2].logs["job.err.log"].content()


def test_files_query_paginates_by_links_and_reports_the_total(api, sim):
    for i in range(7):
        sim.add_file(f"f{i}.txt", f"{i}")
    page = api.files.query(project=sim.project, limit=3)
    assert page.total == 7 and [f.name for f in page] == ["f0.txt", "f1.txt", "f2.txt"]
    assert [f.name for f in page.all()] == [f"f{i}.txt" for i in range(7)]
    assert (
        len(sim.requests_to("files")) == 1 + 3
    )  # the first page, then all() loads it again and follows next
    (found,) = api.files.query(project=sim.project, names=["f4.txt"])
    assert found.size == 1


def test_missing_inputs_raise_task_validation_error_and_the_task_stays_draft(api, sim, uploaded):
    with pytest.raises(TaskValidationError) as raised:
        api.tasks.create("bad", sim.project, sim.demo_app, inputs={"reads": uploaded["reads.fq"]}, run=True)
    draft = raised.value.task
    assert draft.status == "DRAFT" and draft.errors[0]["code"] == 7012
    assert api.tasks.get(draft.id).status == "DRAFT"


def test_a_failed_task_and_its_failed_job(api, sim, uploaded):
    task = api.tasks.create(
        "f", sim.project, sim.failing_app, inputs={"reads": uploaded["reads.fq"]}, run=True
    )
    task.wait(period=POLL)
    assert task.status == "FAILED" and "exited with code 137" in task.execution_status.message
    assert [j.status for j in task.get_execution_details().jobs] == ["COMPLETED", "FAILED"]


def test_abort_and_bulk_get(api, sim, uploaded):
    sim.config.queue_seconds = 30  # the second task stays QUEUED; the first is aborted in the queue
    inputs = {"reads": uploaded["reads.fq"], "reference": uploaded["ref.fa"]}
    tasks = [api.tasks.create(f"t{i}", sim.project, sim.demo_app, inputs=inputs, run=True) for i in range(2)]
    tasks[0].abort()
    assert tasks[0].status == "ABORTING"
    tasks[0].wait(period=POLL)
    assert tasks[0].status == "ABORTED"
    records = api.tasks.bulk_get([t.id for t in tasks] + ["00000000-0000-4000-8000-000000000000"])
    assert [r.valid for r in records] == [True, True, False]
    assert [r.resource.status for r in records[:2]] == ["ABORTED", "QUEUED"]
    assert records[2].error.code == 7002


def record_sleeps(monkeypatch, then=None) -> list[float]:
    """Replace ``time.sleep`` (SBPY's handlers call it through the global module) by a recorder of
    waits longer than 0 (the simulator's own zero-second waits pass through)."""
    slept: list[float] = []
    real = time.sleep

    def sleep(seconds: float) -> None:
        if seconds <= 0:
            return real(seconds)
        slept.append(seconds)
        if then is not None:
            then(seconds)
        return None

    monkeypatch.setattr(error_handlers.time, "sleep", sleep)
    return slept


def test_maintenance_makes_the_client_sleep_300_s_and_retry(api, sim, monkeypatch):
    slept = record_sleeps(monkeypatch)
    sim.arm_maintenance(times=2)
    assert api.users.me().username == "alice"
    assert slept == [300, 300]
    assert [r.status for r in sim.requests_to("user")] == [503, 503, 200]


def test_429_is_an_error_by_default_and_rate_limit_sleeper_waits_for_the_reset(sim, monkeypatch):
    sim.config.rate_limit, sim.config.rate_window = 2, 120
    plain = sevenbridges.Api(url=sim.url, token=sim.token, debug=True)
    plain.users.me()
    assert plain.users.me().username == "alice"
    with pytest.raises(TooManyRequests):
        plain.users.me()
    slept = record_sleeps(monkeypatch, then=sim.shift_clock)  # the clock moves instead of the test waiting
    patient = sevenbridges.Api(
        url=sim.url, token=sim.token, debug=True, error_handlers=[error_handlers.rate_limit_sleeper]
    )
    assert patient.users.me().username == "alice"
    assert len(slept) == 1 and 110 <= slept[0] <= 121


@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_an_expired_download_url_is_not_refreshed_and_the_failure_stays_in_the_download_thread(
    api, sim, tmp_path
):
    file_id = sim.add_file("data.bin", b"z" * 100)
    sim.config.url_ttl = -1  # every link is already expired when the client uses it
    api.files.get(file_id).download(str(tmp_path / "data.bin"))  # returns: the SbgError is the thread's
    assert not (tmp_path / "data.bin").exists()
    assert [r.status for r in sim.requests_to("store")] == [403, 403]  # the size probe, then the part
    assert len(sim.requests_to("download_info")) == 1
