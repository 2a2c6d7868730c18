"""SevenBridgesHook (and its async client) against the Seven Bridges simulator over real HTTP: the user and
the budget, every page of a listing, the multipart upload (parallel parts within a memory bound, abort on
failure), task creation with invalid inputs, a run to COMPLETED, a FAILED task's details, bulk reads, the
rate limit (429 and the reset), maintenance, and download links (expiry included)."""

from __future__ import annotations

import asyncio
import os
import threading
import time

import pytest
import requests

from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgApiError,
    SbgAuthError,
    SbgMaintenanceError,
    SbgNotFoundError,
    SbgTaskValidationError,
    SbgUploadError,
)
from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator

PART = 1024  # the simulator's smallest part here, so small files take several parts
FAST_RETRY = RetryPolicy(
    max_attempts=4,
    initial_delay=0.01,
    max_delay=5.0,
    max_elapsed=30.0,
    maintenance_delay=0.05,
    max_maintenance=2.0,
)


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with SevenBridgesSimulator(**FAST, min_part_size=PART) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture
def hook(sim) -> SevenBridgesHook:
    return SevenBridgesHook(retry_policy=FAST_RETRY)


def file_input(file_id: str) -> dict:
    return {"class": "File", "path": file_id}


def demo_inputs(sim, **extra) -> dict:
    reads = sim.add_file(f"reads-{os.urandom(3).hex()}.fq", b"ACGTACGT\n")
    reference = sim.add_file(f"ref-{os.urandom(3).hex()}.fa", b">chr1\nNNNN\n")
    return {"reads": file_input(reads), "reference": file_input(reference), **extra}


def wait_until_terminal(hook: SevenBridgesHook, task_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        task = hook.get_task(task_id, fields="id,status,execution_status,errors,outputs")
        if task.status.is_terminal or time.monotonic() > deadline:
            return task
        time.sleep(0.1)


def leaks(lines: list[str], sim) -> list[str]:
    """Log lines of this provider with the token or a link's signature (urllib3's own DEBUG lines, which
    show request lines, are the library's and off in production)."""
    ours = [line for line in lines if not line.startswith("DEBUG urllib3")]
    return [line for line in ours if "Signature" in line or sim.token in line]


def statuses(sim, route: str) -> list[int]:
    return [r.status for r in sim.requests_to(route)]


# -- connection, users, files -----------------------------------------------------------------------


def test_test_connection_names_the_user_and_the_budget_left(hook, sim):
    ok, message = hook.test_connection()
    assert ok, message
    assert "as alice <alice@example.org>" in message and "999 of 1000 requests left" in message
    assert sim.token not in message
    assert hook.rate_limit.remaining == 999 and hook.rate_limit.limit == 1000


def test_a_revoked_token_fails_the_test_with_what_to_do(hook, sim):
    sim.revoke()
    ok, message = hook.test_connection()
    assert not ok and "Developer > Auth token" in message and "sevenbridges_default" in message
    with pytest.raises(SbgAuthError):
        hook.get_user()


def test_listing_files_reads_every_page_with_fields(hook, sim):
    names = [f"f{i}.txt" for i in range(8)]
    for name in names:
        sim.add_file(name, name, metadata={"sample": name[:2]})
    sim.config.max_limit = 3  # the hook asks 100 a page; the server gives 3
    files = hook.list_files()
    assert [f.name for f in files] == names and len(sim.requests_to("files")) == 3
    assert files[0].size == 6 and files[0].metadata == {"sample": "f0"}  # fields=_all
    slim = hook.list_files(sim.project, fields="id,name")
    assert [f.name for f in slim] == names and slim[0].size is None


def test_a_file_is_found_by_name_in_a_project_or_a_folder(hook, sim):
    for name in ("a.txt", "b.txt", "c.txt"):
        sim.add_file(name, name)
    folder = sim.add_folder("runs")
    inner = sim.add_file("b.txt", "inner", parent=folder)
    found = hook.find_file("b.txt")
    assert found is not None and found.id != inner and found.project == sim.project
    assert hook.find_file("b.txt", parent=folder).id == inner
    assert hook.find_file("zzz.txt") is None
    assert hook.get_project().root_folder and hook.list_projects()[0].id == sim.project


# -- multipart upload --------------------------------------------------------------------------------


def test_a_multipart_upload_sends_parts_in_parallel_within_the_memory_bound(hook, sim, tmp_path):
    data = os.urandom(5 * PART + 300)  # 6 parts
    source = tmp_path / "reads.bam"
    source.write_bytes(data)
    sim.faults.slow("part_upload", 0.2)  # parts overlap, so the gauge sees the parallelism
    progress: list[tuple[int, int]] = []
    made = hook.upload_file(
        source, part_size=PART, parallel=3, progress=lambda sent, total: progress.append((sent, total))
    )
    assert made.name == "reads.bam" and made.size == len(data) and sim.read_file(made.id) == data
    assert statuses(sim, "part_upload") == [200] * 6 and len(sim.requests_to("upload_report")) == 6
    assert 2 <= sim.store_gauge.peak <= 3
    assert progress[-1] == (len(data), len(data))
    assert all(r.auth_ok is None for r in sim.requests_to("part_upload"))  # the store never sees the token


def test_the_memory_bound_limits_the_parts_in_flight(hook, sim, tmp_path):
    source = tmp_path / "x.bin"
    source.write_bytes(os.urandom(6 * PART))
    sim.faults.slow("part_upload", 0.15)
    hook.upload_file(source, part_size=PART, parallel=8, max_memory=2 * PART)
    assert sim.store_gauge.peak == 2


def test_a_failed_part_aborts_the_upload_and_leaves_no_file(hook, sim, tmp_path, logs):
    source = tmp_path / "x.bin"
    source.write_bytes(os.urandom(4 * PART))
    sim.faults.fail("part_upload", status=400, after=1)  # the second part is refused for good
    with pytest.raises(SbgUploadError, match=r"did not take part \d of x.bin \(HTTP 400") as caught:
        hook.upload_file(source, part_size=PART, parallel=1)
    assert "X-Amz-Signature" not in str(caught.value)
    assert statuses(sim, "upload_abort") == [204] and sim.uploads.uploads == {}
    assert hook.find_file("x.bin") is None and not sim.requests_to("upload_complete")
    assert not leaks(logs(), sim)


def test_a_part_whose_store_hiccups_is_sent_again(hook, sim, tmp_path):
    source = tmp_path / "x.bin"
    source.write_bytes(os.urandom(2 * PART + 1))
    sim.faults.fail("part_upload", status=503, after=1)
    made = hook.upload_file(source, part_size=PART, parallel=1)
    assert sim.read_file(made.id) == source.read_bytes()
    assert statuses(sim, "part_upload") == [200, 503, 200, 200]


# -- tasks --------------------------------------------------------------------------------------------


def test_a_draft_with_invalid_inputs_surfaces_its_errors_and_does_not_run(hook, sim):
    inputs = demo_inputs(sim, threads="many")
    del inputs["reference"]
    app = hook.get_app(sim.demo_app)
    assert app.required_inputs == ("reads", "reference")
    draft = hook.create_task(sim.demo_app, inputs, name="bad")
    assert draft.status is SevenBridgesTaskStatus.DRAFT
    assert {e.code for e in draft.errors} == {7012, 90000}
    assert "reference" in draft.describe_errors() and "threads" in draft.describe_errors()
    with pytest.raises(SbgTaskValidationError, match="stays a DRAFT") as caught:
        hook.run_task(draft.id)
    assert caught.value.task_id == draft.id and len(caught.value.errors) == 2
    with pytest.raises(SbgTaskValidationError, match="Missing inputs"):
        hook.create_task(sim.demo_app, inputs, run=True)
    assert len(sim.requests_to("task_create")) == 2  # sent once each


def test_a_task_runs_to_completed_and_its_outputs_download(hook, sim, tmp_path):
    task = hook.create_task(sim.demo_app, demo_inputs(sim, sample="s1"), name="good", run=True)
    assert task.status is SevenBridgesTaskStatus.QUEUED and not task.errors
    done = wait_until_terminal(hook, task.id)
    assert done.status is SevenBridgesTaskStatus.COMPLETED and done.status.is_success
    assert done.execution_status.steps_completed == done.execution_status.steps_total == 3
    outputs = {o.key: o for o in done.output_files()}
    assert outputs["merged"].kind == "File" and outputs["qc"].kind == "Directory"
    size = hook.download_file(outputs["merged"].id, tmp_path / "out" / "merged.bin")
    assert (tmp_path / "out" / "merged.bin").read_bytes() == b"ACGTACGT\n>chr1\nNNNN\n" and size == 20
    assert [f.name for f in hook.list_files(parent=outputs["qc"].id)] == ["summary.json", "details"]


def test_a_failed_task_explains_itself_in_its_execution_details(hook, sim):
    reads = file_input(sim.add_file("r.fq", "ACGT"))
    task = hook.create_task(sim.failing_app, {"reads": reads}, run=True)
    failed = wait_until_terminal(hook, task.id)
    assert failed.status is SevenBridgesTaskStatus.FAILED and not failed.status.is_success
    assert "exited with code 137" in failed.execution_status.message
    details = hook.execution_details(task.id)
    assert details.status == "FAILED" and [j.name for j in details.failed_jobs] == ["crash"]
    assert "job.err.log" in details.failed_jobs[0].logs


def test_abort_a_running_task_and_an_aborting_one_needs_none(hook, sim):
    sim.config.run_seconds = 30
    task = hook.create_task(sim.demo_app, demo_inputs(sim), run=True)
    assert hook.abort_task(task.id).status is SevenBridgesTaskStatus.ABORTING
    sim.config.abort_seconds = 30  # still aborting: a second abort (a retried on_kill) is no error
    assert hook.abort_task(task.id).status in (
        SevenBridgesTaskStatus.ABORTING,
        SevenBridgesTaskStatus.ABORTED,
    )
    draft = hook.create_task(sim.demo_app, demo_inputs(sim))
    with pytest.raises(SbgApiError, match="code 7011"):
        hook.abort_task(draft.id)


def drafts(sim, count: int) -> list[str]:
    """DRAFT tasks made straight in the simulator's table (150 creations over HTTP take seconds)."""
    body = {"project": sim.project, "app": sim.demo_app, "inputs": {}}
    with sim.lock:
        return [sim.jobs.create(sim.username, {**body, "name": f"t{i}"}, run=False).id for i in range(count)]


def test_bulk_get_of_150_tasks_costs_two_requests(hook, sim):
    ids = drafts(sim, 150)
    missing = "00000000-0000-4000-8000-000000000000"
    found = hook.bulk_get_tasks([*ids, missing], fields="id,status")
    assert len(sim.requests_to("bulk_tasks_get")) == 2
    assert [found[i].status for i in ids] == [SevenBridgesTaskStatus.DRAFT] * 150  # type: ignore[union-attr]
    assert isinstance(found[missing], SbgNotFoundError) and "code 7002" in str(found[missing])


def test_the_async_client_reads_in_bulk_gets_and_aborts(hook, sim):
    ids = [hook.create_task(sim.demo_app, demo_inputs(sim), name=f"t{i}", run=True).id for i in range(3)]

    async def main():
        async with await hook.async_client() as client:
            found = await client.bulk_get_tasks(ids * 50, fields="id,status")  # 150 ids
            one = await client.get_task(ids[0])
            aborted = await client.abort_task(ids[1])
            return found, one, aborted

    found, one, aborted = asyncio.run(main())
    assert set(found) == set(ids) and len(sim.requests_to("bulk_tasks_get")) == 2
    assert one.id == ids[0] and aborted.status is SevenBridgesTaskStatus.ABORTING


# -- rate limit and maintenance ------------------------------------------------------------------------


@pytest.mark.parametrize("in_ms", [False, True], ids=["reset-in-seconds", "reset-in-milliseconds"])
def test_a_429_waits_for_the_reset_and_continues_without_a_second_storm(hook, sim, in_ms):
    sim.config.rate_limit, sim.config.rate_window, sim.config.reset_in_ms = 4, 1.0, in_ms
    for _ in range(4):  # another DAG with the same token used up the window
        requests.get(f"{sim.url}/user", headers={"X-SBG-Auth-Token": sim.token}, timeout=10)
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                hook.get_user()
        except BaseException as exc:  # pragma: no cover - shown by the assertion
            errors.append(exc)

    started = time.monotonic()
    threads = [threading.Thread(target=work) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    answered = statuses(sim, "user")[4:]
    assert answered.count(200) == 12
    # only the first wave meets the 429 (each thread once at most); later windows used up by these very
    # calls are waited for before sending
    assert answered.count(429) <= 4 and 429 not in answered[answered.index(200) :]
    assert 1.0 < time.monotonic() - started < 15


def test_a_used_up_budget_holds_the_next_request_until_the_reset(hook, sim, logs):
    sim.config.rate_limit, sim.config.rate_window = 2, 1.0
    hook.get_user()
    hook.get_user()  # the last one of the window: remaining 0
    assert hook.rate_limit.remaining == 0
    hook.get_user()
    assert statuses(sim, "user") == [200, 200, 200]
    assert any("No requests left in the Seven Bridges rate limit" in line for line in logs())


def test_maintenance_is_waited_out_then_the_call_continues(hook, sim, logs):
    sim.arm_maintenance(times=6)  # more answers than max_attempts: maintenance does not count as attempts
    assert hook.get_user().username == "alice"
    assert statuses(sim, "user") == [503] * 6 + [200]
    assert any("down for maintenance" in line for line in logs())


def test_maintenance_longer_than_the_policy_waits_fails_with_what_to_do(sim):
    policy = RetryPolicy(max_attempts=2, maintenance_delay=0.1, max_maintenance=0.5)
    sim.set_maintenance(True)
    started = time.monotonic()
    with pytest.raises(SbgMaintenanceError, match="under maintenance") as caught:
        SevenBridgesHook(retry_policy=policy).get_user()
    assert caught.value.code == 0 and 0.4 < time.monotonic() - started < 5
    assert len(sim.requests_to("user")) == 6  # the first try, then one every 0.1 s for 0.5 s


def test_a_creation_is_sent_again_after_maintenance_but_never_after_a_failure(hook, sim):
    sim.arm_maintenance(times=1)
    task = hook.create_task(sim.demo_app, demo_inputs(sim))
    assert statuses(sim, "task_create") == [503, 201] and len(sim.jobs.jobs) == 1 and task.id
    sim.faults.fail("task_create", status=502)
    with pytest.raises(SbgApiError, match="HTTP 502"):
        hook.create_task(sim.demo_app, demo_inputs(sim))
    assert statuses(sim, "task_create") == [503, 201, 502]


# -- downloads -----------------------------------------------------------------------------------------


def test_download_info_gives_a_working_presigned_link(hook, sim):
    file_id = sim.add_file("data.bin", bytes(range(256)))
    url = hook.download_info(file_id)
    assert url.startswith(sim.store_url) and "X-Amz-Signature=" in url
    assert requests.get(url, timeout=10).content == bytes(range(256))


# a link that expires mid-download: tests/reliability/test_sevenbridges_faults.py (with the Range checked)
