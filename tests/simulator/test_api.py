"""The simulator's endpoints, auth rules and submission rules, over real HTTP."""

from __future__ import annotations

import json

import pytest

from airflow_provider_tis.testing import TisSimulator
from tests.simulator.conftest import api, job, submit, submit_ok


def test_server_description_with_and_without_token(sim):
    anonymous = api(sim, "/api/v2/server", token=None).json()
    assert anonymous["name"] == "TOPMed Imputation Server" and "user" not in anonymous
    assert anonymous["maintenance"] is False and anonymous["apps"][0]["id"] == "imputationserver2"
    assert api(sim, "/api/v2/server").json()["user"]["username"] == "alice"


def test_tis_sends_its_typed_server_record_and_michigan_its_ad_hoc_one():
    typed = {
        "background": str,
        "foreground": str,
        "emailRequired": bool,
        "userEmailDescription": str,
        "userWithoutEmailDescription": str,
        "oauth": list,
        "deprecatedApps": list,
        "experimentalApps": list,
    }
    with TisSimulator() as sim:
        sim.maintenance = True
        body = api(sim, "/api/v2/server").json()
        assert {key: type(body.get(key)) for key in typed} == typed
        assert body["maintenanceMessage"] and body["loggedIn"] is True
    with TisSimulator(profile="michigan") as sim:
        body = api(sim, "/api/v2/server").json()
        assert not set(typed) & set(body)
        assert body["user"]["name"] == "alice"  # upstream's user has a name, not a username


def test_michigan_profile_keeps_the_upstream_maintenance_typo():
    with TisSimulator(profile="michigan") as sim:
        sim.maintenance = True
        body = api(sim, "/api/v2/server").json()
        assert body["maintenace"] is True and body["maintenaceMessage"]
        assert body["name"] == "Michigan Imputation Server 2"
        app = api(sim, "/api/v2/server/apps/imputationserver2")
        assert app.status_code == 503


def test_app_description_needs_a_token(sim):
    app = api(sim, "/api/v2/server/apps/imputationserver2").json()
    population = next(p for p in app["params"] if p["id"] == "population")
    assert population["type"] == "binded_list" and population["bind"] == "refpanel"
    assert [v["key"] for v in population["values"][0]["values"]] == ["all", "off"]
    refpanel = next(p for p in app["params"] if p["id"] == "refpanel")
    assert refpanel["values"][0]["key"] == "apps@topmed-r3@1.0.0"
    anonymous = api(sim, "/api/v2/server/apps/imputationserver2", token=None)
    assert anonymous.status_code == 404 and "requires user authentication" in anonymous.json()["message"]


def test_michigan_panels_and_populations():
    with TisSimulator(profile="michigan") as sim:
        app = api(sim, "/api/v2/server/apps/imputationserver2").json()
        panels = {v["key"]: [p["key"] for p in v["values"]] for v in app["params"][2]["values"]}
        assert panels["apps@1000g-phase-3-v5@2.0.0"] == ["afr", "amr", "eas", "sas", "eur", "mixed"]
        assert panels["apps@hrc-r1.1@2.0.0"] == ["eur", "mixed"]
        phasing = next(p for p in app["params"] if p["id"] == "phasing")
        assert [v["key"] for v in phasing["values"]] == ["eagle", "beagle", "no_phasing"]


def test_token_verification(sim):
    valid = api(sim, "/api/v2/tokens/verify", token=None, method="POST", data={"token": sim.token}).json()
    assert valid["valid"] is True and valid["username"] == "alice" and valid["expire"].endswith("Z")
    invalid = api(sim, "/api/v2/tokens/verify", token=None, method="POST", data={"token": "x.y.z"}).json()
    assert invalid == {"valid": False, "message": "Invalid API Token."}


@pytest.mark.parametrize("token", [None, "garbage", "a.b.c"])
def test_missing_or_invalid_token_is_401_with_empty_body(sim, token):
    response = api(sim, "/api/v2/jobs", token=token)
    assert response.status_code == 401 and response.content == b""


def test_expired_token_is_401(sim):
    expired = sim.issue_token("bob", lifetime=-10)
    response = api(sim, "/api/v2/jobs", token=expired)
    assert response.status_code == 401 and response.content == b""


def test_revoked_and_superseded_tokens_are_403_with_empty_body(sim):
    old = sim.token
    new = sim.issue_token()
    superseded = api(sim, "/api/v2/jobs", token=old)
    assert superseded.status_code == 403 and superseded.content == b""
    assert api(sim, "/api/v2/jobs", token=new).status_code == 200
    assert [r.auth_ok for r in sim.requests_to("jobs")[-2:]] == [False, True]
    sim.revoke_token()
    assert api(sim, "/api/v2/jobs", token=new).status_code == 403


def test_other_users_job_and_unknown_job(sim, vcf):
    job_id = submit_ok(sim, [vcf])
    bob = sim.issue_token("bob")
    denied = api(sim, f"/api/v2/jobs/{job_id}", token=bob)
    assert denied.status_code == 403
    assert denied.text == '{"message": "Access denied.", "success": false}'
    assert list(json.loads(denied.text)) == ["message", "success"]
    missing = api(sim, "/api/v2/jobs/job-20000101-000000-000")
    assert (
        missing.status_code == 404 and missing.json()["message"] == "Job job-20000101-000000-000 not found."
    )


def test_job_and_status_return_the_same_job_info(sim, vcf):
    job_id = submit_ok(sim, [vcf])
    status = api(sim, f"/api/v2/jobs/{job_id}/status").json()
    info = job(sim, job_id)
    assert status["id"] == info["id"] == job_id
    assert (
        set(status)
        == set(info)
        >= {"state", "positionInQueue", "steps", "outputParams", "deletedOn", "currentTime"}
    )


def test_delete_with_an_api_token_is_forbidden(sim, vcf):
    job_id = submit_ok(sim, [vcf])
    assert api(sim, f"/api/v2/jobs/{job_id}", method="DELETE").status_code == 403


def test_submit_success_body(sim, vcf):
    body = submit(sim, [vcf]).json()
    assert body["success"] is True and body["message"] == "Your job was successfully added to the job queue."
    assert body["id"].startswith("job-") and len(body["id"]) == len("job-20251016-224029-866")


def test_checkboxes_turn_on_for_any_value(sim, vcf):
    job_id = submit_ok(sim, [vcf], aesEncryption="false", meta="no")
    params = sim.job(job_id).params
    assert params["aesEncryption"] == "true" and params["meta"] == "true"
    plain = submit_ok(sim, [vcf])
    assert "aesEncryption" not in sim.job(plain).params


def test_unknown_field_is_400_after_the_body(sim, vcf):
    response = submit(sim, [vcf], **{"files-source": "upload"})
    assert response.status_code == 400
    assert response.json() == {"message": "Parameter 'files-source' not found.", "success": False}
    assert sim.requests_to("submit")[-1].files == ("chr20.vcf.gz",)  # the whole upload arrived first
    assert sim.jobs.jobs == {}


def test_input_prefix_is_stripped_and_text_is_html_escaped(sim, vcf):
    job_id = submit_ok(sim, [vcf], **{"input-build": "hg19", "job-name": 'A&B <x> "q" é', "password": "p&w"})
    sim_job = sim.job(job_id)
    assert sim_job.params["build"] == "hg19"
    assert sim_job.params["password"] == "p&amp;w"
    assert job(sim, job_id)["name"] == "A&amp;B &lt;x&gt; &quot;q&quot; &#233;"


def test_unknown_app_is_404(sim, vcf):
    response = submit(sim, [vcf], app="minimac4")
    assert response.status_code == 404 and response.json()["message"] == "Application 'minimac4' not found."


def test_job_limit_is_checked_after_the_whole_upload(vcf):
    with TisSimulator(run_seconds=30, max_active_jobs=2) as sim:
        submit_ok(sim, [vcf])
        submit_ok(sim, [vcf])
        rejected = submit(sim, [vcf])
        assert rejected.status_code == 400
        assert rejected.json()["message"] == "Only 2 jobs per user can be executed simultaneously."
        assert sim.requests_to("submit")[-1].files == ("chr20.vcf.gz",)
        assert len(sim.jobs.jobs) == 2


def test_maintenance_is_checked_after_the_whole_upload(sim, vcf):
    sim.maintenance = True
    response = submit(sim, [vcf])
    assert response.status_code == 503
    assert response.json()["message"] == "This functionality is currently under maintenance."
    assert sim.requests_to("submit")[-1].files == ("chr20.vcf.gz",)
    assert api(sim, "/api/v2/jobs").status_code == 503
    assert api(sim, "/api/v2/server").json()["maintenance"] is True


def test_duplicate_file_names_overwrite_each_other(sim, tmp_path):
    from airflow_provider_tis.testing import write_vcf

    first = write_vcf(tmp_path / "a" / "data.vcf.gz", chromosomes=("20",))
    second = write_vcf(tmp_path / "b" / "data.vcf.gz", chromosomes=("21",))
    job_id = submit_ok(sim, [first, second])
    assert [p.name for p in sim.job(job_id).input_dir.iterdir()] == ["data.vcf.gz"]


def test_bad_refpanel_fails_the_job_at_once(sim, vcf):
    job_id = submit_ok(sim, [vcf], refpanel="apps@topmed-r2")
    info = job(sim, job_id)
    assert (info["state"], info["startTime"], info["steps"]) == (5, 0, [])


def test_job_list_pages_and_hides_details_of_finished_jobs(vcf):
    with TisSimulator(run_seconds=0.05, export_seconds=0.01, max_active_jobs=100) as sim:
        ids = [submit_ok(sim, [vcf]) for _ in range(17)]
        for job_id in ids:
            sim.wait_for_state(job_id, 4)
        everything = api(sim, "/api/v2/jobs").json()
        assert everything["count"] == 17 and everything["pageSize"] == 17 and len(everything["data"]) == 17
        assert [j["id"] for j in everything["data"]] == sorted(ids, reverse=True)
        first = api(sim, "/api/v2/jobs", params={"page": 1}).json()
        second = api(sim, "/api/v2/jobs", params={"page": 2}).json()
        assert (
            len(first["data"]),
            len(second["data"]),
            first["pageSize"],
            first["next"],
            second["next"],
        ) == (15, 2, 15, 2, None)
        listed = first["data"][0]
        assert (listed["steps"], listed["outputParams"], listed["username"]) == ([], [], None)
        assert job(sim, listed["id"])["outputParams"]


def test_empty_job_list(sim):
    assert api(sim, "/api/v2/jobs", params={"page": 1}).json()["page"] == 0
    assert api(sim, "/api/v2/jobs").json()["data"] == []
