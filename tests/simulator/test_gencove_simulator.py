"""The Gencove simulator's v2 API over real HTTP, as a client of the real service sees it: API keys,
projects, paginated and filtered samples, imports and assignment, statuses on the clock, cancel,
archive and restore, pre-signed links (expiry, Range, SHA-256), 429 and maintenance."""

from __future__ import annotations

import argparse
import hashlib
import re
import time
from datetime import timedelta

import pytest
import requests

from airflow_provider_tis.testing.gencove import (
    FAST,
    GencoveSimulator,
    add_cli_arguments,
    describe,
    from_cli_args,
)
from airflow_provider_tis.testing.gencove.keys import utc_day

STAGE = 100.0  # seconds per stage: the clock only moves when a test shifts it


@pytest.fixture
def sim():
    with GencoveSimulator(
        stage_seconds=STAGE, restore_stage_seconds=STAGE, upload_seconds=STAGE
    ) as simulator:
        yield simulator


def call(
    sim: GencoveSimulator, method: str, path: str, *, key: str | None = "", **kwargs
) -> requests.Response:
    """``method`` on ``/api/v2{path}`` with the account's key (``key=None``: no Authorization header)."""
    headers = kwargs.pop("headers", {})
    if key is not None:
        headers["Authorization"] = f"Api-Key {key or sim.api_key}"
    return requests.request(
        method, f"{sim.api_url}{path}", headers=headers, timeout=10, allow_redirects=False, **kwargs
    )


def ok(response: requests.Response, status: int = 200) -> dict:
    assert response.status_code == status, response.text
    return response.json()


def detail(sim: GencoveSimulator, sample_id: str) -> dict:
    return ok(call(sim, "GET", f"/samples/{sample_id}"))


def files_of(sim: GencoveSimulator, sample_id: str) -> dict[str, dict]:
    return {f["file_type"]: f for f in detail(sim, sample_id)["files"]}


# -- API keys ---------------------------------------------------------------------------------------


def test_a_request_without_a_key_gets_drf_401_and_the_key_is_logged_only_hashed(sim):
    response = call(sim, "GET", "/projects/", key=None)
    assert response.status_code == 401
    assert response.json() == {"detail": "Authentication credentials were not provided."}
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="api"'
    assert ok(call(sim, "GET", "/user/"))["email"] == "alice@example.org"
    record = sim.requests_to("user")[-1]
    assert (
        record.auth_ok is True and sim.api_key not in repr(record) and sim.token_seen(sim.api_key) == [record]
    )


@pytest.mark.parametrize("header", ["Api-Key nope.nope", "Token {key}", "Bearer abc.def.ghi"])
def test_a_wrong_key_or_scheme_is_401(sim, header):
    response = call(sim, "GET", "/user/", key=None, headers={"Authorization": header.format(key=sim.api_key)})
    assert response.status_code == 401 and "detail" in response.json()


def test_an_expired_key_is_401_while_a_key_whose_last_day_is_today_still_works(sim):
    today = sim.add_api_key(name="today", expiry_date=utc_day(sim.now()))
    assert ok(call(sim, "GET", "/user/", key=today))
    sim.expire_key()
    response = call(sim, "GET", "/projects/")
    assert response.status_code == 401 and response.json() == {"detail": "This API key has expired."}
    sim.shift_clock(86400)  # the next UTC day: "today" has expired too
    assert call(sim, "GET", "/user/", key=today).status_code == 401


def test_a_key_whose_ip_range_excludes_127_0_0_1_is_403(sim):
    sim.restrict_key(["10.0.0.0/8", "192.168.1.0/24"])
    response = call(sim, "GET", "/projects/")
    assert response.status_code == 403
    assert response.json() == {"detail": "This API key is not allowed from your IP address."}
    assert sim.requests_to("projects")[-1].auth_ok is False
    sim.restrict_key(["127.0.0.0/8"])
    assert call(sim, "GET", "/projects/").status_code == 200


def test_keys_are_listed_with_expiry_and_a_created_key_works_and_can_be_revoked(sim):
    expiry = (utc_day(sim.now()) + timedelta(days=30)).isoformat()
    created = ok(call(sim, "POST", "/user-api-keys/", json={"name": "airflow", "expiry_date": expiry}), 201)
    assert created["key"].startswith(created["prefix"] + ".") and created["expiry_date"] == expiry
    listed = ok(call(sim, "GET", "/user-api-keys/"))["results"]
    assert {k["name"]: k["has_expired"] for k in listed} == {"airflow": False, "default": False}
    assert all("key" not in k for k in listed)
    assert ok(call(sim, "GET", "/user/", key=created["key"]))
    sim.revoke_key(created["key"])
    assert call(sim, "GET", "/user/", key=created["key"]).json() == {
        "detail": "This API key has been revoked."
    }
    bad = call(sim, "POST", "/user-api-keys/", json={"name": "x", "expiry_date": "30/01/2030"})
    assert bad.status_code == 400 and list(bad.json()) == ["expiry_date"]


# -- projects -------------------------------------------------------------------------------------


def test_projects_list_detail_and_pipeline_capabilities(sim):
    other = sim.add_project("Second", description="more")
    page = ok(call(sim, "GET", "/projects/", params={"limit": 1}))
    assert page["meta"]["count"] == 2 and page["results"][0]["id"] == other  # newest first
    assert page["meta"]["next"] == f"{sim.api_url}/projects/?limit=1&offset=1"
    second = ok(
        requests.get(page["meta"]["next"], headers={"Authorization": f"Api-Key {sim.api_key}"}, timeout=10)
    )
    assert (
        second["results"][0]["id"] == sim.project_id
        and second["meta"]["previous"] == f"{sim.api_url}/projects/?limit=1"
    )
    project = ok(call(sim, "GET", f"/projects/{sim.project_id}"))
    assert project["files"] == [] and project["sample_count"] == 0
    capability = ok(call(sim, "GET", f"/pipeline-capabilities/{project['pipeline_capabilities']}"))
    assert capability["key"] == "human_lowpass_v1"
    search = ok(call(sim, "GET", "/pipeline-capabilities/", params={"search": capability["id"]}))
    assert [c["id"] for c in search["results"]] == [capability["id"]]
    types = ok(call(sim, "GET", "/file-types/", params={"project_id": sim.project_id}))["results"]
    assert {"fastq-r1", "bam", "impute-vcf"} <= {t["key"] for t in types}


def test_unknown_objects_are_drf_404s_and_unknown_paths_django_404_pages(sim):
    missing = "00000000-0000-4000-8000-000000000000"
    for path in (f"/projects/{missing}", f"/samples/{missing}", f"/sample-restore-group/{missing}"):
        response = call(sim, "GET", path)
        assert response.status_code == 404 and response.json() == {"detail": "Not found."}
    response = call(sim, "GET", "/samples/not-a-uuid")
    assert response.status_code == 404 and response.headers["Content-Type"].startswith("text/html")
    assert call(sim, "GET", "/projects").headers["Location"] == "/api/v2/projects/"  # APPEND_SLASH
    response = call(sim, "PUT", "/projects/")
    assert response.status_code == 405 and response.json() == {"detail": 'Method "PUT" not allowed.'}


# -- samples: pages and filters -------------------------------------------------------------------


def test_project_samples_come_in_pages_with_absolute_next_links(sim):
    ids = {sim.add_sample(f"S{i:02d}") for i in range(25)}
    first = ok(call(sim, "GET", f"/project-samples/{sim.project_id}", params={"status": "all", "search": ""}))
    meta = first["meta"]
    assert meta["count"] == 25 and len(first["results"]) == 20 and meta["previous"] is None
    assert meta["next"] == (
        f"{sim.api_url}/project-samples/{sim.project_id}?limit=20&offset=20&search=&status=all"
    )  # DRF: absolute, query keys sorted
    second = ok(requests.get(meta["next"], headers={"Authorization": f"Api-Key {sim.api_key}"}, timeout=10))
    assert len(second["results"]) == 5 and second["meta"]["next"] is None
    assert (
        second["meta"]["previous"]
        == f"{sim.api_url}/project-samples/{sim.project_id}?limit=20&search=&status=all"
    )
    assert {s["id"] for s in first["results"] + second["results"]} == ids
    capped = ok(call(sim, "GET", f"/project-samples/{sim.project_id}", params={"limit": 5000}))
    assert len(capped["results"]) == 25  # max_page_size 200
    row = first["results"][0]
    assert set(row) >= {"id", "client_id", "last_status", "archive_last_status", "failed_qc", "modified"}


def test_sample_filters_status_archive_status_and_search(sim):
    good = sim.add_sample("alpha")
    qc = sim.add_sample("beta-FAILQC")
    failed = sim.add_sample("gamma-FAIL")
    running = sim.add_sample("delta", finished=False)
    sim.archive(good)

    def listed(**params: str) -> set[str]:
        return {
            s["id"]
            for s in ok(call(sim, "GET", f"/project-samples/{sim.project_id}", params=params))["results"]
        }

    assert listed(status="succeeded") == {good}
    assert listed(status="failed") == {qc, failed}
    assert listed(status="completed") == {good, qc, failed}
    assert listed(status="running") == {running}
    assert listed(archive_status="archived") == {good}
    assert listed(archive_status="available") == {qc, failed, running}
    assert listed(search="GAMMA") == {failed} and listed(search=qc[:8]) == {qc}
    plated = sim.add_sample("epsilon", metadata={"plate": "P-77"})
    assert listed(search="p-77") == {plated} and listed(search="null") == set()  # metadata content
    response = call(sim, "GET", f"/project-samples/{sim.project_id}", params={"status": "done"})
    assert response.status_code == 400
    assert response.json() == {"status": ["Select a valid choice. done is not one of the available choices."]}


# -- statuses on the clock ------------------------------------------------------------------------


def test_samples_move_through_the_statuses_on_the_clock_and_failures_keep_only_their_inputs(sim):
    ids = {c: sim.add_sample(c, finished=False) for c in ("ok-1", "lowcov-failqc", "broken-fail")}
    assert {detail(sim, i)["last_status"]["status"] for i in ids.values()} == {"scheduled"}
    sim.shift_clock(STAGE)
    assert {detail(sim, i)["last_status"]["note"] for i in ids.values()} == {"alignment"}
    sim.shift_clock(STAGE)
    assert detail(sim, ids["broken-fail"])["last_status"]["status"] == "failed"  # fails while imputing
    assert detail(sim, ids["ok-1"])["last_status"]["status"] == "running"
    sim.shift_clock(STAGE)
    assert detail(sim, ids["ok-1"])["last_status"]["status"] == "succeeded"
    assert set(files_of(sim, ids["ok-1"])) == {
        "fastq-r1",
        "fastq-r2",
        "bam",
        "bai",
        "impute-vcf",
        "impute-tbi",
        "ancestry-json",
    }
    assert detail(sim, ids["lowcov-failqc"])["last_status"]["status"] == "failed qc"
    for failed in (ids["lowcov-failqc"], ids["broken-fail"]):
        assert set(files_of(sim, failed)) == {"fastq-r1", "fastq-r2"}
    rows = ok(call(sim, "GET", f"/project-samples/{sim.project_id}"))["results"]
    assert {r["client_id"]: bool(r["failed_qc"]) for r in rows} == {
        "ok-1": False,
        "lowcov-failqc": True,
        "broken-fail": False,
    }
    history = ok(call(sim, "GET", f"/sample-statuses/{ids['ok-1']}"))["results"]
    assert [h["status"] for h in history] == ["succeeded", "running", "running", "scheduled"]
    qc = ok(call(sim, "GET", f"/sample-quality-controls/{ids['lowcov-failqc']}"))["results"]
    assert "fail" in {q["quality_control"]["status"] for q in qc}
    assert sim.sample(ids["ok-1"]).status == "succeeded"


# -- imports and assignment -----------------------------------------------------------------------


def test_a_local_url_import_is_fetched_assigned_and_becomes_a_sample_with_those_bytes(sim):
    source = sim.add_sample("source")
    r1, r2 = (files_of(sim, source)[f"fastq-{r}"] for r in ("r1", "r2"))
    for read, link in (("R1", r1["download_url"]), ("R2", r2["download_url"])):
        created = ok(
            call(
                sim,
                "POST",
                "/uploads-url/",
                json={"destination_path": f"gncv://run7/NA12878_{read}.fastq.gz", "source_url": link},
            ),
            201,
        )
        assert created["source"] == "cli url" and created["last_status"]["status"] == "started"
    deadline = time.monotonic() + 10
    while True:  # the service fetches in the background
        rows = ok(call(sim, "GET", "/sample-sheet/", params={"search": "gncv://run7/"}))["results"]
        if rows and set(rows[0]["fastq"]) == {"r1", "r2"}:
            break
        assert time.monotonic() < deadline, f"the local URLs were never fetched: {rows}"
        time.sleep(0.05)
    assert len(rows) == 1 and rows[0]["client_id"] == "NA12878"
    answer = ok(
        call(
            sim,
            "POST",
            f"/project-samples/{sim.project_id}",
            json={"uploads": rows, "metadata": {"batch": 7}},
        ),
        201,
    )
    sample_id = answer["uploads"][0]["sample"]
    assert answer["metadata"] == {"batch": 7}
    assert (
        ok(call(sim, "GET", "/sample-sheet/", params={"status": "unassigned", "search": "gncv://run7/"}))[
            "results"
        ]
        == []
    )
    sample = detail(sim, sample_id)
    assert sample["client_id"] == "NA12878" and sample["last_status"]["status"] == "scheduled"
    got = {f["file_type"]: f["checksum_sha256"] for f in sample["files"]}
    assert got == {"fastq-r1": r1["checksum_sha256"], "fastq-r2": r2["checksum_sha256"]}
    assert ok(call(sim, "GET", f"/sample-metadata/{sample_id}")) == {"metadata": {"batch": 7}}
    again = call(sim, "POST", f"/project-samples/{sim.project_id}", json={"uploads": rows})
    assert again.status_code == 400 and "already assigned" in str(again.json()["uploads"][0])


def test_a_remote_url_is_only_recorded_and_bad_imports_are_400(sim):
    url = "https://example.org/data/S1_R1.fastq.gz"
    upload = ok(
        call(
            sim,
            "POST",
            "/uploads-url/",
            json={"destination_path": "gncv://x/S1_R1.fastq.gz", "source_url": url},
        ),
        201,
    )
    assert sim.imports[-1] == {
        "kind": "url",
        "destination_path": "gncv://x/S1_R1.fastq.gz",
        "source_url": url,
    }
    assert sim.requests_to("uploads_url")[-1].fields["source_url"] == url
    assert ok(call(sim, "GET", "/sample-sheet/"))["results"] == []  # not fetched
    sim.shift_clock(STAGE)  # upload_seconds: the service "fetched" it
    row = ok(call(sim, "GET", "/sample-sheet/"))["results"][0]
    assert row["fastq"]["r1"]["upload"] == upload["id"] and row["fastq"]["r1"]["source_url"] == url
    bad_path = call(
        sim, "POST", "/uploads-url/", json={"destination_path": "/tmp/x.fastq.gz", "source_url": url}
    )
    assert bad_path.status_code == 400 and list(bad_path.json()) == ["destination_path"]
    missing = call(sim, "POST", "/uploads-url/", json={"destination_path": "gncv://x/y_R1.fastq.gz"})
    assert missing.json() == {"source_url": ["This field is required."]}
    unknown = call(
        sim,
        "POST",
        f"/project-samples/{sim.project_id}",
        json={"uploads": [{"client_id": "c", "fastq": {"r1": {"upload": "nope"}}}]},
    )
    assert unknown.status_code == 400
    assert unknown.json() == {
        "uploads": [{"fastq": {"r1": {"upload": ['Invalid pk "nope" - object does not exist.']}}}]
    }


def test_upload_credentials_post_data_and_s3_uri_imports_are_recorded(sim):
    credentials = ok(call(sim, "POST", "/upload-credentials/"))
    assert set(credentials) == {"version", "access_key", "secret_key", "token", "expiry_time"}
    first = ok(
        call(sim, "POST", "/uploads-post-data/", json={"destination_path": "gncv://own/A_R1.fastq.gz"}), 201
    )
    again = ok(
        call(sim, "POST", "/uploads-post-data/", json={"destination_path": "gncv://own/A_R1.fastq.gz"}), 201
    )
    assert first["id"] == again["id"] and first["s3"]["bucket"] == sim.config.upload_bucket
    sim.complete_upload(first["id"], b"@r\nACGT\n+\nIIII\n")
    assert ok(call(sim, "GET", "/sample-sheet/"))["results"][0]["client_id"] == "A"
    sim.add_s3_objects("s3://lab-bucket/run9/", ["P1", "P2"])
    body = {"s3_uri": "s3://lab-bucket/run9", "project_id": sim.project_id, "metadata": None}
    assert ok(call(sim, "POST", "/s3-uri-import/", json=body), 202)["s3_uri"] == "s3://lab-bucket/run9"
    assert sorted(s.client_id for s in sim.samples()) == ["P1", "P2"]
    assert [i["kind"] for i in sim.imports] == ["credentials", "post_data", "post_data", "s3"]
    bad = call(sim, "POST", "/s3-uri-import/", json={**body, "s3_uri": "https://x"})
    assert bad.status_code == 400 and list(bad.json()) == ["s3_uri"]


# -- cancel ---------------------------------------------------------------------------------------


def test_cancel_takes_at_most_20_ids_and_only_samples_still_running(sim):
    running = [sim.add_sample(f"run-{i}", finished=False) for i in range(21)]
    path = f"/project-cancel-samples/{sim.project_id}"
    too_many = call(sim, "POST", path, json={"sample_ids": running})
    assert too_many.status_code == 400
    assert too_many.json() == {"sample_ids": ["Ensure this field has no more than 20 elements."]}
    assert ok(call(sim, "POST", path, json={"sample_ids": running[:20]}), 201) == {"sample_ids": running[:20]}
    assert {sim.sample(i).status for i in running[:20]} == {"canceled"}
    assert call(sim, "POST", path, json={"sample_ids": []}).json() == {
        "sample_ids": ["This list may not be empty."]
    }
    done = sim.add_sample("done")
    refused = call(sim, "POST", path, json={"sample_ids": [done]})
    assert refused.status_code == 400 and "cannot be canceled" in refused.json()["sample_ids"][0]
    sim.shift_clock(10 * STAGE)
    assert sim.sample(running[0]).status == "canceled" and sim.sample(running[20]).status == "succeeded"


# -- archive and restore --------------------------------------------------------------------------


def test_an_archived_sample_has_no_links_its_old_link_is_refused_and_a_restore_brings_them_back(sim):
    sample_id = sim.add_sample("cold")
    old_link = files_of(sim, sample_id)["impute-vcf"]["download_url"]
    sim.archive(sample_id)
    archived = detail(sim, sample_id)
    assert archived["archive_last_status"]["status"] == "archived"
    assert {f["download_url"] for f in archived["files"]} == {None}
    refused = requests.get(old_link, timeout=10)
    assert refused.status_code == 403 and "InvalidObjectState" in refused.text
    response = call(
        sim, "POST", f"/project-restore-samples/{sim.project_id}", json={"sample_ids": [sample_id]}
    )
    group_id = ok(response, 202)["restore_group_id"]
    seen = []
    for _ in range(4):
        group = ok(call(sim, "GET", f"/sample-restore-group/{group_id}"))
        seen.append(group["results"][0]["archive_last_status"]["status"])
        sim.shift_clock(STAGE)
    assert seen == ["restore_requested", "restore_accepted", "restore_started", "restored"]
    assert requests.get(files_of(sim, sample_id)["impute-vcf"]["download_url"], timeout=10).status_code == 200
    again = call(sim, "POST", f"/project-restore-samples/{sim.project_id}", json={"sample_ids": [sample_id]})
    assert again.status_code == 400 and again.json() == {
        "sample_ids": [f"Sample {sample_id} is not archived."]
    }


def test_archive_after_archives_finished_samples_on_the_clock():
    with GencoveSimulator(**FAST, archive_after=500, restore_period=50) as sim:
        sample_id = sim.add_sample("x")
        status = detail(sim, sample_id)["archive_last_status"]
        assert status["status"] == "available" and status["transition_cutoff"]
        sim.shift_clock(500)
        assert detail(sim, sample_id)["archive_last_status"]["status"] == "archived"
        ok(call(sim, "POST", f"/project-restore-samples/{sim.project_id}", json={"sample_ids": []}), 202)
        sim.shift_clock(1)
        assert detail(sim, sample_id)["archive_last_status"]["status"] == "restored"
        sim.shift_clock(50)
        assert detail(sim, sample_id)["archive_last_status"]["status"] == "archived"
        organization = ok(call(sim, "GET", "/organization/"))
        assert organization["archive_period_days"] == 0  # 500 s rounds to no whole day


# -- downloads ------------------------------------------------------------------------------------


def test_links_carry_the_sha256_of_their_bytes_honour_range_and_expire(sim):
    sample_id = sim.add_sample("dl")
    vcf = files_of(sim, sample_id)["impute-vcf"]
    body = requests.get(vcf["download_url"], timeout=10)
    assert body.status_code == 200 and len(body.content) == vcf["size"]
    assert hashlib.sha256(body.content).hexdigest() == vcf["checksum_sha256"]
    assert body.headers["Content-Disposition"] == f"attachment; filename={sample_id}.vcf.gz"
    checksum = call(sim, "GET", f"/files/{vcf['id']}.sha256")
    assert checksum.text == f"{vcf['checksum_sha256']}  {sample_id}.vcf.gz\n"
    part = requests.get(vcf["download_url"], headers={"Range": "bytes=10-19"}, timeout=10)
    assert part.status_code == 206 and part.content == body.content[10:20]
    assert part.headers["Content-Range"] == f"bytes 10-19/{vcf['size']}"
    assert sim.requests_to("store")[-1].range == "bytes=10-19"
    sim.shift_clock(sim.config.link_ttl + 1)
    expired = requests.get(vcf["download_url"], timeout=10)
    assert expired.status_code == 403 and "Request has expired" in expired.text
    fresh = files_of(sim, sample_id)["impute-vcf"]["download_url"]
    assert fresh != vcf["download_url"] and requests.get(fresh, timeout=10).content == body.content


# -- faults ---------------------------------------------------------------------------------------


def test_429_with_retry_after_then_normal_answers(sim):
    sim.faults.fail("project_samples", times=2, status=429, retry_after=3)
    for _ in range(2):
        response = call(sim, "GET", f"/project-samples/{sim.project_id}")
        assert response.status_code == 429 and response.headers["Retry-After"] == "3"
        assert response.json() == {"detail": "Request was throttled. Expected available in 3 seconds."}
    assert call(sim, "GET", f"/project-samples/{sim.project_id}").status_code == 200


def test_maintenance_is_503_with_an_eta_for_every_call_until_the_eta(sim):
    sim.start_maintenance(600, message="Back soon")
    for key in ("", None):
        response = call(sim, "GET", "/projects/", key=key)
        assert response.status_code == 503
        body = response.json()
        assert body["maintenance"] is True and body["maintenance_message"] == "Back soon"
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", body["maintenance_eta"])
    sim.shift_clock(601)
    assert call(sim, "GET", "/projects/").status_code == 200


def test_jwt_refresh_refuses_as_simplejwt_does(sim):
    response = call(sim, "POST", "/jwt-refresh/", key=None, json={"refresh": None})
    assert response.status_code == 400 and response.json() == {"refresh": ["This field may not be null."]}
    response = call(sim, "POST", "/jwt-refresh/", key=None, json={"refresh": "abc"})
    assert response.status_code == 401 and response.json()["code"] == "token_not_valid"


# -- tools ----------------------------------------------------------------------------------------


def test_the_cli_pieces_build_describe_and_connect_a_simulator():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--run-seconds", type=float, default=3.0)
    parser.add_argument("--workdir")
    add_cli_arguments(parser.add_argument_group("Gencove only"))
    args = parser.parse_args(
        ["--api-key", "AbCdEfGh.fixedfixedfixedfixedfixedfixed12", "--demo-samples", "2"]
    )
    with from_cli_args(args) as sim:
        lines = describe(sim)
        assert sim.url in lines[0] and sim.api_key in lines[1] and sim.project_id in lines[2]
        assert sim.config.stage_seconds == 1.0 and len(sim.samples()) == 2
        assert '"conn_type": "gencove"' in sim.connection_json()
        assert ok(call(sim, "GET", "/user/", key="AbCdEfGh.fixedfixedfixedfixedfixedfixed12"))
    assert FAST["stage_seconds"] < 1
