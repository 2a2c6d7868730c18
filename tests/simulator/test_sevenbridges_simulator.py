"""The Seven Bridges simulator over real HTTP (plain ``requests``): tokens, error bodies, pagination and
``fields``, folders, the multipart upload flow, the task lifecycle, validation errors, abort, batch
tasks, bulk get, download links and their expiry, the rate limit and maintenance."""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid

import pytest
import requests

from airflow_provider_tis.testing.sevenbridges import (
    FAST,
    AppInput,
    AppOutput,
    SevenBridgesSimulator,
    add_cli_arguments,
    describe,
    from_cli_args,
)

ERROR_KEYS = {"status", "code", "message", "more_info"}


@pytest.fixture
def sim():
    """Fast runs, and 8-byte upload parts so a small file needs several."""
    with SevenBridgesSimulator(**FAST, min_part_size=8) as simulator:
        yield simulator


@pytest.fixture
def slow():
    """Runs that only move when the test shifts the clock: 10 s queued, 30 s running (3 steps of 10 s)."""
    with SevenBridgesSimulator(queue_seconds=10, run_seconds=30, abort_seconds=5) as simulator:
        yield simulator


def call(sim, method: str, path: str, *, token: str | None = "default", **kwargs) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["X-SBG-Auth-Token"] = sim.token if token == "default" else token
    return requests.request(method, f"{sim.url}{path}", headers=headers, timeout=10, **kwargs)


def ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def error(response: requests.Response, status: int, code: int) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == ERROR_KEYS and body["status"] == status and body["code"] == code, body
    return body


def file_input(file_id: str) -> dict:
    return {"class": "File", "path": file_id}


def demo_inputs(sim, **extra) -> dict:
    reads = sim.add_file(f"reads-{uuid.uuid4().hex[:6]}.fq", b"ACGTACGT\n")
    reference = sim.add_file(f"ref-{uuid.uuid4().hex[:6]}.fa", b">chr1\nNNNN\n")
    return {"reads": file_input(reads), "reference": file_input(reference), "threads": 4, **extra}


def create(sim, *, app: str | None = None, params: dict | None = None, **body) -> requests.Response:
    body = {"name": "t", "project": sim.project, "app": app or sim.demo_app, **body}
    return call(sim, "POST", "/tasks", json=body, params=params or {})


# -- tokens and errors --------------------------------------------------------------------------------


def test_user_answers_for_the_token_in_x_sbg_auth_token_or_bearer(sim):
    assert ok(call(sim, "GET", "/user"))["username"] == "alice"
    bearer = {"Authorization": f"Bearer {sim.token}"}
    assert ok(call(sim, "GET", "/user", token=None, headers=bearer))["username"] == "alice"
    record = sim.requests_to("user")[-1]
    assert record.auth_ok is True and sim.token not in repr(record) and record in sim.token_seen(sim.token)


def test_missing_unknown_revoked_and_regenerated_tokens_get_the_platforms_401(sim):
    error(call(sim, "GET", "/user", token=None), 401, 90001)
    error(call(sim, "GET", "/user", token="0" * 32), 401, 90001)
    old = sim.token
    new = sim.regenerate_token()
    error(call(sim, "GET", "/user", token=old), 401, 90001)
    assert ok(call(sim, "GET", "/user", token=new))["username"] == "alice"
    sim.revoke(new)
    unauthorized = call(sim, "GET", "/user", token=new)
    error(unauthorized, 401, 90001)
    assert "X-RateLimit-Remaining" not in unauthorized.headers  # no user, no budget
    assert sim.requests_to("user")[-1].auth_ok is False


def test_errors_are_the_platform_body_with_its_codes(sim):
    error(call(sim, "GET", f"/tasks/{uuid.uuid4()}"), 404, 7002)
    error(call(sim, "GET", "/tasks/not-a-uuid"), 400, 7005)
    error(call(sim, "GET", "/files/0123456789abcdef01234567"), 404, 5002)
    error(call(sim, "GET", "/projects/alice/nope"), 404, 3002)
    error(call(sim, "GET", "/apps/alice/demo/nope"), 404, 6002)
    error(call(sim, "GET", "/nowhere"), 404, 90003)
    not_allowed = call(sim, "PUT", "/tasks")
    error(not_allowed, 405, 90006)
    assert not_allowed.headers["Allow"] == "GET, POST"
    error(call(sim, "POST", "/tasks", data=b"{not json"), 400, 90009)
    bob = sim.add_user("bob")
    error(call(sim, "GET", f"/projects/{sim.project}", token=bob), 403, 3001)


def test_an_armed_fault_answers_the_platform_body_with_the_statuss_general_code(sim):
    sim.faults.fail("user", status=500)
    error(call(sim, "GET", "/user"), 500, 90004)
    assert ok(call(sim, "GET", "/user"))["username"] == "alice"


# -- projects, files, pagination and fields -------------------------------------------------------------


def test_projects_and_the_default_project(sim):
    listing = ok(call(sim, "GET", "/projects"))
    assert [p["id"] for p in listing["items"]] == ["alice/demo"]
    project = ok(call(sim, "GET", f"/projects/{sim.project}"))
    assert project["root_folder"] and project["href"] == f"{sim.url}/projects/alice/demo"


def test_file_listing_pages_follow_next_links_and_report_the_total_in_a_header(sim):
    names = [f"f{i}.txt" for i in range(7)]
    for name in names:
        sim.add_file(name, name)
    first = call(sim, "GET", "/files", params={"project": sim.project, "limit": 3})
    assert first.headers["X-Total-Matching-Query"] == "7"
    seen, body, pages = [], ok(first), 1
    assert [link["rel"] for link in body["links"]] == ["next"]
    while True:
        seen += [item["name"] for item in body["items"]]
        following = [link["href"] for link in body["links"] if link["rel"] == "next"]
        if not following:
            break
        body = ok(requests.get(following[0], headers={"X-SBG-Auth-Token": sim.token}, timeout=10))
        pages += 1
    assert seen == names and pages == 3
    assert [link["rel"] for link in body["links"]] == ["prev"]
    assert "offset=6" in body["href"] and f"project={sim.project.replace('/', '%2F')}" in body["href"]


def test_limit_defaults_and_is_capped(sim):
    for i in range(5):
        sim.add_file(f"f{i}.txt", "x")
    sim.config.default_limit, sim.config.max_limit = 2, 4
    assert len(ok(call(sim, "GET", "/files", params={"project": sim.project}))["items"]) == 2
    assert len(ok(call(sim, "GET", "/files", params={"project": sim.project, "limit": 100}))["items"]) == 4


def test_fields_selects_or_excludes_and_listings_are_short_without_it(sim):
    sim.add_file("a.txt", "abc", metadata={"sample_id": "S1"})
    params = {"project": sim.project}
    short = ok(call(sim, "GET", "/files", params=params))["items"][0]
    assert "size" not in short and {"id", "name", "href"} <= set(short)
    full = ok(call(sim, "GET", "/files", params={**params, "fields": "_all"}))["items"][0]
    assert full["size"] == 3 and full["metadata"] == {"sample_id": "S1"}
    assert ok(call(sim, "GET", "/files", params={**params, "fields": "id,name"}))["items"][0].keys() == {
        "id",
        "name",
    }
    single = ok(call(sim, "GET", f"/files/{full['id']}", params={"fields": "!metadata,!tags"}))
    assert "metadata" not in single and "tags" not in single and single["size"] == 3


def test_files_are_looked_up_by_name_with_the_name_filter(sim):
    for name in ("a.txt", "b.txt", "c.txt"):
        sim.add_file(name, name)
    found = ok(call(sim, "GET", "/files", params={"project": sim.project, "name": "b.txt"}))
    assert [f["name"] for f in found["items"]] == ["b.txt"]
    both = ok(
        call(sim, "GET", "/files", params=[("project", sim.project), ("name", "a.txt"), ("name", "c.txt")])
    )
    assert sorted(f["name"] for f in both["items"]) == ["a.txt", "c.txt"]
    assert ok(call(sim, "GET", "/files", params={"project": sim.project, "name": "zzz"}))["items"] == []
    error(call(sim, "GET", "/files"), 400, 5005)


def test_folders_nest_and_list_and_cannot_be_downloaded_or_deleted_when_full(sim):
    made = call(sim, "POST", "/files", json={"name": "runs", "type": "folder", "project": sim.project})
    folder = ok(made, 201)
    assert folder["type"] == "folder"
    inner = ok(
        call(sim, "POST", "/files", json={"name": "inner", "type": "folder", "parent": folder["id"]}), 201
    )
    sim.add_file("x.txt", "x", parent=inner["id"])
    listed = ok(call(sim, "GET", "/files", params={"parent": folder["id"]}))
    assert [f["name"] for f in listed["items"]] == ["inner"]
    assert [f["name"] for f in ok(call(sim, "GET", f"/files/{inner['id']}/list"))["items"]] == ["x.txt"]
    error(
        call(sim, "POST", "/files", json={"name": "runs", "type": "folder", "project": sim.project}),
        409,
        5030,
    )
    error(call(sim, "GET", f"/files/{folder['id']}/download_info"), 400, 5017)
    error(call(sim, "DELETE", f"/files/{folder['id']}"), 400, 5021)


# -- multipart upload ----------------------------------------------------------------------------------


def init_upload(sim, name: str, size: int, **extra) -> requests.Response:
    body = {"project": sim.project, "name": name, "size": size, "part_size": 4, **extra}
    params = {"overwrite": "true"} if extra.pop("overwrite", False) else {}
    return call(sim, "POST", "/upload/multipart", json=body, params=params)


def put_part(sim, upload_id: str, number: int, data: bytes) -> str:
    info = ok(call(sim, "GET", f"/upload/multipart/{upload_id}/part/{number}"))
    assert info["method"] == "PUT" and info["url"].startswith(sim.store_url)
    stored = requests.put(info["url"], data=data, timeout=10)
    assert stored.status_code == 200, stored.text
    return stored.headers["ETag"]


def report(sim, upload_id: str, number: int, etag: str) -> requests.Response:
    body = {"part_number": number, "response": {"headers": {"ETag": etag}}}
    return call(sim, "POST", f"/upload/multipart/{upload_id}/part/", json=body)


def test_multipart_upload_parts_go_to_presigned_urls_and_complete_into_a_file(sim):
    data = b"0123456789abcdefXYZ"  # 19 bytes: parts of 8, 8 and 3
    upload = ok(init_upload(sim, "reads.fq", len(data)))
    assert upload["part_size"] == 8  # the server raised the 4 asked for to its minimum
    etags = {n: put_part(sim, upload["upload_id"], n, data[(n - 1) * 8 : n * 8]) for n in (1, 2, 3)}
    assert etags[1] == f'"{hashlib.md5(data[:8]).hexdigest()}"'
    for number, etag in etags.items():
        ok(report(sim, upload["upload_id"], number, etag))
    made = ok(call(sim, "POST", f"/upload/multipart/{upload['upload_id']}/complete", data=b"null"))
    assert made["name"] == "reads.fq" and made["size"] == 19 and made["project"] == sim.project
    assert sim.read_file(made["id"]) == data
    error(call(sim, "GET", f"/upload/multipart/{upload['upload_id']}"), 404, 8003)
    error(init_upload(sim, "reads.fq", 3), 409, 8004)
    assert ok(init_upload(sim, "reads.fq", 3, overwrite=True))["name"] == "reads.fq"


def test_completion_fails_with_8007_for_a_missing_part_or_a_wrong_etag_and_abort_ends_the_upload(sim):
    upload = ok(init_upload(sim, "x.bin", 12))["upload_id"]
    first = put_part(sim, upload, 1, b"A" * 8)
    ok(report(sim, upload, 1, first))
    body = error(call(sim, "POST", f"/upload/multipart/{upload}/complete"), 400, 8007)
    assert "Part 2" in body["more_info"]
    put_part(sim, upload, 2, b"B" * 4)
    ok(report(sim, upload, 2, '"0000"'))
    assert "ETag" in error(call(sim, "POST", f"/upload/multipart/{upload}/complete"), 400, 8007)["more_info"]
    error(report(sim, upload, 9, first), 400, 8012)
    assert call(sim, "DELETE", f"/upload/multipart/{upload}").status_code == 204
    error(call(sim, "GET", f"/upload/multipart/{upload}/part/1"), 404, 8003)


def test_a_dropped_part_upload_gets_no_answer_and_the_part_can_be_sent_again(sim):
    upload = ok(init_upload(sim, "x.bin", 4))["upload_id"]
    url = ok(call(sim, "GET", f"/upload/multipart/{upload}/part/1"))["url"]
    sim.faults.drop_upload_after(2)
    with pytest.raises(requests.ConnectionError):
        requests.put(url, data=b"abcd", timeout=10)
    assert requests.put(url, data=b"abcd", timeout=10).status_code == 200
    assert [r.status for r in sim.requests_to("part_upload")] == [0, 200]


def test_part_urls_only_write_and_expire(sim):
    upload = ok(init_upload(sim, "x.bin", 4))["upload_id"]
    url = ok(call(sim, "GET", f"/upload/multipart/{upload}/part/1"))["url"]
    assert requests.get(url, timeout=10).status_code == 403  # a PUT URL does not read
    sim.shift_clock(sim.config.upload_url_ttl + 1)
    expired = requests.put(url, data=b"abcd", timeout=10)
    assert expired.status_code == 403 and "expired" in expired.text


# -- tasks ---------------------------------------------------------------------------------------------


def test_a_task_goes_draft_queued_running_completed_with_step_progress_and_real_outputs(slow):
    task = ok(create(slow, inputs=demo_inputs(slow, sample="s1")), 201)
    assert task["status"] == "DRAFT" and "errors" not in task
    assert task["execution_status"]["steps_total"] == 3
    task = ok(call(slow, "POST", f"/tasks/{task['id']}/actions/run"))
    assert task["status"] == "QUEUED" and task["executed_by"] == "alice"
    slow.shift_clock(10 + 15)  # halfway through the second step
    running = ok(call(slow, "GET", f"/tasks/{task['id']}"))
    assert running["status"] == "RUNNING" and running["execution_status"]["steps_completed"] == 1
    assert running["execution_status"]["message"] and running["outputs"] == {}
    slow.shift_clock(20)
    done = ok(call(slow, "GET", f"/tasks/{task['id']}"))
    assert done["status"] == "COMPLETED" and done["execution_status"]["steps_completed"] == 3
    assert done["start_time"] and done["end_time"] and done["price"]["currency"] == "USD"
    outputs = done["outputs"]
    assert outputs["merged"]["class"] == "File" and outputs["qc"]["class"] == "Directory"
    assert slow.read_file(outputs["merged"]["path"]) == b"ACGTACGT\n>chr1\nNNNN\n"
    report_body = json.loads(slow.read_file(outputs["report"]["path"]))
    assert report_body["inputs"]["threads"] == 4 and report_body["inputs"]["reads"]["size"] == 9
    merged = ok(call(slow, "GET", f"/files/{outputs['merged']['path']}"))
    assert merged["origin"] == {"task": task["id"]} and merged["name"] == "s1.merged.bin"
    qc = ok(call(slow, "GET", f"/files/{outputs['qc']['path']}/list"))["items"]
    assert sorted((f["name"], f["type"]) for f in qc) == [("details", "folder"), ("summary.json", "file")]
    details = next(f for f in qc if f["name"] == "details")
    assert [f["name"] for f in ok(call(slow, "GET", f"/files/{details['id']}/list"))["items"]] == [
        "inputs.tsv"
    ]
    assert [r.job_state for r in slow.requests_to("task")] == ["RUNNING", "COMPLETED"]


def test_outputs_with_a_taken_name_get_a_prefix(sim):
    first = ok(create(sim, inputs=demo_inputs(sim, sample="s"), params={"action": "run"}), 201)
    second = ok(create(sim, inputs=demo_inputs(sim, sample="s"), params={"action": "run"}), 201)
    sim.wait_for_status(first["id"], timeout=5)
    sim.wait_for_status(second["id"], timeout=5)
    names = {sim.task(t["id"]).outputs["report"]["name"] for t in (first, second)}
    assert names == {"s.report.json", "_1_s.report.json"}


def test_invalid_inputs_keep_the_task_draft_with_an_errors_list_not_an_http_error(sim):
    inputs = demo_inputs(sim, threads="many")
    del inputs["reference"]
    task = ok(create(sim, inputs=inputs, params={"action": "run"}), 201)
    assert task["status"] == "DRAFT"
    codes = {e["code"]: e for e in task["errors"]}
    assert set(codes) == {7012, 90000} and "reference" in codes[7012]["more_info"]
    assert all(set(e) == ERROR_KEYS for e in task["errors"])
    again = ok(call(sim, "POST", f"/tasks/{task['id']}/actions/run"))  # §1.2: answered, still DRAFT
    assert again["status"] == "DRAFT" and again["errors"] == task["errors"]
    sim.config.refuse_invalid_run = True
    error(call(sim, "POST", f"/tasks/{task['id']}/actions/run"), 400, 7024)
    fixed = demo_inputs(sim)
    patched = ok(call(sim, "PATCH", f"/tasks/{task['id']}", json={"inputs": fixed}))
    assert "errors" not in patched and patched["inputs"]["reference"]["name"].startswith("ref-")
    assert ok(call(sim, "POST", f"/tasks/{task['id']}/actions/run"))["status"] == "QUEUED"


def test_run_true_also_runs_on_create_and_only_drafts_run_and_only_running_tasks_abort(sim):
    task = ok(create(sim, inputs=demo_inputs(sim), params={"run": "true"}), 201)
    assert task["status"] == "QUEUED"
    error(call(sim, "POST", f"/tasks/{task['id']}/actions/run"), 400, 7007)
    error(call(sim, "PATCH", f"/tasks/{task['id']}", json={"inputs": {}}), 400, 7026)
    draft = ok(create(sim, inputs=demo_inputs(sim)), 201)
    error(call(sim, "POST", f"/tasks/{draft['id']}/actions/abort"), 400, 7011)
    error(call(sim, "POST", f"/tasks/{draft['id']}/actions/pause"), 400, 7013)
    error(create(sim, app="alice/demo/nope"), 404, 6002)


def test_abort_goes_through_aborting_to_aborted_without_outputs(slow):
    task = ok(create(slow, inputs=demo_inputs(slow), params={"action": "run"}), 201)
    slow.shift_clock(15)
    aborting = ok(call(slow, "POST", f"/tasks/{task['id']}/actions/abort"))
    assert aborting["status"] == "ABORTING"
    slow.shift_clock(5)
    aborted = ok(call(slow, "GET", f"/tasks/{task['id']}"))
    assert aborted["status"] == "ABORTED" and aborted["outputs"] == {}
    jobs = ok(call(slow, "GET", f"/tasks/{task['id']}/execution_details"))["jobs"]
    assert [(j["name"], j["status"]) for j in jobs] == [("prepare", "ABORTED")]


def test_a_failed_task_has_a_message_and_a_failed_job_with_a_downloadable_log(slow):
    reads = file_input(slow.add_file("r.fq", "ACGT"))
    task = ok(create(slow, app=slow.failing_app, inputs={"reads": reads}, params={"action": "run"}), 201)
    slow.shift_clock(60)
    failed = ok(call(slow, "GET", f"/tasks/{task['id']}"))
    assert failed["status"] == "FAILED" and "exited with code 137" in failed["execution_status"]["message"]
    assert failed["outputs"] == {} and failed["execution_status"]["steps_completed"] == 1
    details = ok(call(slow, "GET", f"/tasks/{task['id']}/execution_details"))
    assert [(j["name"], j["status"]) for j in details["jobs"]] == [
        ("validate", "COMPLETED"),
        ("crash", "FAILED"),
    ]
    log_info = ok(
        requests.get(details["jobs"][1]["logs"]["job.err.log"], headers={"X-SBG-Auth-Token": slow.token})
    )
    assert "exited with code 137" in requests.get(log_info["url"], timeout=10).text


def test_an_input_can_make_the_demo_app_fail(sim):
    task = ok(create(sim, inputs=demo_inputs(sim, threads=65), params={"action": "run"}), 201)
    assert sim.wait_for_status(task["id"], timeout=5).status == "FAILED"
    assert "64 CPUs" in ok(call(sim, "GET", f"/tasks/{task['id']}"))["execution_status"]["message"]


def test_a_custom_app_declares_its_inputs_and_writes_its_outputs(sim):
    inputs = (AppInput("files", "File[]"), AppInput("label", "string"), AppInput("n", "int", required=False))
    outputs = (AppOutput("copies", "per_file"),)
    app_id = sim.add_app("copier", inputs, outputs, steps=("copy",))
    assert sim.add_app("copier", inputs, outputs, steps=("copy", "check")) == app_id  # revision 1
    latest = ok(call(sim, "GET", f"/apps/{app_id}"))
    assert latest["revision"] == 1 and latest["id"] == f"{app_id}/1"
    raw = ok(call(sim, "GET", f"/apps/{app_id}/1"))["raw"]
    assert raw["inputs"] == [
        {"id": "files", "type": "File[]"},
        {"id": "label", "type": "string"},
        {"id": "n", "type": "int?"},
    ]
    assert raw["outputs"] == [{"id": "copies", "type": "File[]"}] and raw["class"] == "Workflow"
    listed = ok(call(sim, "GET", "/apps", params={"project": sim.project}))["items"]
    assert sorted(a["name"] for a in listed) == ["copier", "demo-workflow", "failing-tool"]
    files = [file_input(sim.add_file(name, name.upper())) for name in ("a.txt", "b.txt")]
    missing = ok(create(sim, app=f"{app_id}/0", inputs={"files": files}), 201)
    assert [e["code"] for e in missing["errors"]] == [7012] and "label" in missing["errors"][0]["more_info"]
    task = ok(create(sim, app=app_id, inputs={"files": files, "label": "x"}, params={"action": "run"}), 201)
    assert task["app"] == f"{app_id}/1" and task["execution_status"]["steps_total"] == 2
    copies = sim.wait_for_status(task["id"], timeout=5).outputs["copies"]
    assert [sim.read_file(c["path"]) for c in copies] == [b"A.TXT", b"B.TXT"]


def test_bulk_get_answers_each_id_in_order_with_a_resource_or_an_error(sim):
    ids = [ok(create(sim, inputs=demo_inputs(sim)), 201)["id"] for _ in range(2)]
    missing = str(uuid.uuid4())
    body = ok(call(sim, "POST", "/bulk/tasks/get", json={"task_ids": [ids[0], missing, ids[1]]}))
    items = body["items"]
    assert [i.get("resource", {}).get("id") for i in items] == [ids[0], None, ids[1]]
    assert items[1]["error"]["code"] == 7002 and set(items[1]["error"]) == ERROR_KEYS
    slim = ok(call(sim, "POST", "/bulk/tasks/get", params={"fields": "id,status"}, json={"task_ids": ids}))
    assert slim["items"][0]["resource"].keys() == {"id", "status"}
    error(call(sim, "POST", "/bulk/tasks/get", json={"task_ids": [missing] * 101}), 400, 90000)


def test_batch_tasks_run_one_child_per_item_or_criteria_group(sim):
    reads = [
        file_input(sim.add_file(f"r{i}.fq", f"R{i}", metadata={"sample_id": f"S{i % 2}"})) for i in range(3)
    ]
    reference = file_input(sim.add_file("ref.fa", "REF"))
    inputs = {"reads": reads, "reference": reference}
    parent = ok(create(sim, inputs=inputs, batch_input="reads", batch_by={"type": "item"}), 201)
    assert parent["batch"] is True
    running = ok(call(sim, "POST", f"/tasks/{parent['id']}/actions/run"))
    assert running["execution_status"]["queued"] == 3
    children = ok(call(sim, "GET", "/tasks", params={"parent": parent["id"], "fields": "_all"}))["items"]
    assert len(children) == 3 and {c["batch_group"]["value"] for c in children} == {"r0.fq", "r1.fq", "r2.fq"}
    assert sim.wait_for_status(parent["id"], timeout=5).status == "COMPLETED"
    assert all(sim.task(c["id"]).outputs["merged"] for c in children)
    by_sample = ok(
        create(
            sim,
            inputs=inputs,
            batch_input="reads",
            batch_by={"type": "criteria", "criteria": ["metadata.sample_id"]},
        ),
        201,
    )
    ok(call(sim, "POST", f"/tasks/{by_sample['id']}/actions/run"))
    groups = ok(call(sim, "GET", "/tasks", params={"parent": by_sample["id"], "fields": "batch_group"}))[
        "items"
    ]
    assert sorted(g["batch_group"]["fields"]["sample_id"] for g in groups) == ["S0", "S1"]
    error(create(sim, inputs=inputs, batch_input="reads"), 400, 7023)


def test_task_listing_filters_and_clone_and_delete(sim):
    done = ok(create(sim, inputs=demo_inputs(sim), params={"action": "run"}), 201)
    draft = ok(create(sim, inputs=demo_inputs(sim)), 201)
    sim.wait_for_status(done["id"], timeout=5)
    params = {"project": sim.project, "status": "DRAFT"}
    assert [t["id"] for t in ok(call(sim, "GET", "/tasks", params=params))["items"]] == [draft["id"]]
    error(call(sim, "GET", "/tasks", params={"status": "DONE"}), 400, 7006)
    clone = ok(call(sim, "POST", f"/tasks/{done['id']}/actions/clone"), 201)
    assert clone["status"] == "DRAFT" and clone["inputs"] == done["inputs"] and clone["id"] != done["id"]
    assert call(sim, "DELETE", f"/tasks/{clone['id']}").status_code == 204
    error(call(sim, "GET", f"/tasks/{clone['id']}"), 404, 7002)


# -- downloads -----------------------------------------------------------------------------------------


def test_download_info_links_are_presigned_serve_ranges_and_expire_with_a_403(sim):
    file_id = sim.add_file("data.bin", bytes(range(100)))
    url = ok(call(sim, "GET", f"/files/{file_id}/download_info"))["url"]
    assert url.startswith(sim.store_url) and "X-Amz-Signature=" in url
    assert requests.get(url, timeout=10).content == bytes(range(100))
    part = requests.get(url, headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == bytes(range(10, 20))
    assert requests.get(url.replace("Signature=", "Signature=0"), timeout=10).status_code == 403
    sim.shift_clock(sim.config.url_ttl + 1)
    expired = requests.get(url, timeout=10)
    assert expired.status_code == 403 and "Request has expired" in expired.text
    fresh = ok(call(sim, "GET", f"/files/{file_id}/download_info"))["url"]
    assert requests.get(fresh, timeout=10).status_code == 200


# -- rate limit and maintenance ------------------------------------------------------------------------


def test_the_rate_limit_counts_down_in_three_headers_then_answers_429_until_the_reset(sim):
    sim.config.rate_limit, sim.config.rate_window = 3, 60
    answers = [call(sim, "GET", "/user") for _ in range(3)]
    assert [r.headers["X-RateLimit-Remaining"] for r in answers] == ["2", "1", "0"]
    assert {r.headers["X-RateLimit-Limit"] for r in answers} == {"3"}
    reset = int(answers[0].headers["X-RateLimit-Reset"])
    assert abs(reset - (sim.now() + 60)) < 3  # a Unix time in seconds
    limited = call(sim, "GET", "/user")
    error(limited, 429, 1000)
    assert (
        limited.headers["X-RateLimit-Remaining"] == "0" and int(limited.headers["X-RateLimit-Reset"]) == reset
    )
    status = ok(call(sim, "GET", "/rate_limit"))  # not counted, and answered while limited
    assert status["rate"] == {"limit": 3, "remaining": 0, "reset": reset}
    sim.shift_clock(61)
    assert call(sim, "GET", "/user").headers["X-RateLimit-Remaining"] == "2"


def test_the_reset_header_can_be_in_milliseconds_and_each_user_has_a_budget(sim):
    sim.config.reset_in_ms = True
    reset = int(call(sim, "GET", "/user").headers["X-RateLimit-Reset"])
    assert abs(reset / 1000 - (sim.now() + 300)) < 3
    sim.config.rate_limit = 1
    bob = sim.add_user("bob")
    error(call(sim, "GET", "/user"), 429, 1000)
    assert call(sim, "GET", "/user", token=bob).status_code == 200


def test_armed_maintenance_answers_503_with_code_0_as_json_then_recovers(sim):
    sim.arm_maintenance(times=2)
    for _ in range(2):
        body = error(call(sim, "GET", "/user"), 503, 0)
        assert "maintenance" in body["message"]
    assert ok(call(sim, "GET", "/user"))["username"] == "alice"
    sim.set_maintenance(True)
    error(call(sim, "GET", "/tasks"), 503, 0)
    sim.set_maintenance(False)
    assert call(sim, "GET", "/tasks").status_code == 200


# -- helpers for users ---------------------------------------------------------------------------------


def test_connection_json_cli_and_describe():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--run-seconds", type=float, default=2.0)
    add_cli_arguments(parser.add_argument_group("Seven Bridges"))
    args = parser.parse_args(["--sbg-username", "carol", "--sbg-project", "p1", "--sbg-rate-limit", "7"])
    with from_cli_args(args) as sim:
        assert sim.config.rate_limit == 7 and sim.config.run_seconds == 2.0
        conn = json.loads(sim.connection_json())
        assert conn == {
            "conn_type": "sevenbridges",
            "host": sim.url,
            "password": sim.token,
            "extra": {"project": "carol/p1"},
        }
        assert sim.url.endswith("/v2")
        lines = describe(sim)
        assert sim.url in lines[0] and any(sim.token in line for line in lines)
        assert any("carol/p1" in line for line in lines)
        assert ok(call(sim, "GET", "/user"))["username"] == "carol"
