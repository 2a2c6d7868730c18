"""The CGI simulator's API over real HTTP: auth, submission rules, listing, the job lifecycle, logs,
results, Range, deletion and the job quota."""

from __future__ import annotations

import gzip
import re

import pytest

from airflow_provider_tis.testing import CgiSimulator, write_cnas, write_mutations, write_translocations
from airflow_provider_tis.testing.cgi import RESULT_MEMBERS
from tests.simulator.cgi_http import auth, call, download, logs, members, status, submit, submit_ok

# -- auth -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "header",
    [None, "", "alice@example.org", "alice@example.org wrongtoken", "bob@example.org {token}", "{token}"],
)
def test_a_missing_or_wrong_email_token_pair_is_401_with_an_html_page(cgi, header):
    headers = {} if header is None else {"Authorization": header.format(token=cgi.token)}
    response = call(cgi, "GET", headers=headers)
    assert response.status_code == 401
    assert response.headers["Content-Type"].startswith("text/html") and "Unauthorized" in response.text
    record = cgi.requests_to("list")[-1]
    assert record.status == 401 and record.auth_ok is False


def test_the_right_pair_is_accepted_and_the_token_is_only_logged_hashed(cgi):
    assert call(cgi, "GET").json() == []
    record = cgi.requests_to("list")[-1]
    assert record.auth_ok is True and record.status == 200
    assert cgi.token not in repr(record) and cgi.token_seen(cgi.token) == [record]


def test_a_rotated_token_is_refused(cgi):
    old = cgi.token
    new = cgi.rotate_token()
    assert call(cgi, "GET", headers=auth(cgi, token=old)).status_code == 401
    assert call(cgi, "GET", headers=auth(cgi, token=new)).status_code == 200


def test_jobs_are_private_to_their_account(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations})
    bob = auth(cgi, token=cgi.add_user("bob@example.org"), email="bob@example.org")
    assert call(cgi, "GET", headers=bob).json() == []
    for params in ({}, {"action": "logs"}, {"action": "download"}):
        assert call(cgi, "GET", f"/{job_id}", headers=bob, params=params).status_code == 404
    assert call(cgi, "DELETE", f"/{job_id}", headers=bob).status_code == 404
    assert call(cgi, "GET", "/0123456789abcdef0123").status_code == 404


# -- submission --------------------------------------------------------------------------------------


def test_submit_answers_the_job_id_as_a_json_string_and_status_has_metadata(cgi, mutations):
    response = submit(
        cgi, {"mutations": mutations}, title="Somatic WP048", reference="hg38", cancer_type="HEMATO"
    )
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    job_id = response.json()
    assert re.fullmatch(r"[0-9a-f]{20}", job_id)
    body = status(cgi, job_id)
    assert body["status"] == "Running"
    meta = body["metadata"]
    assert meta == {
        "id": job_id,
        "user": cgi.email,
        "title": "Somatic WP048",
        "cancertype": "HEMATO",
        "reference": "hg38",
        "dataset": "input.tsv",
        "date": meta["date"],
    }
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", meta["date"])
    record = cgi.requests_to("submit")[-1]
    assert record.files == ("mutations",) and record.fields["title"] == "Somatic WP048"


def test_reference_defaults_to_hg19_and_title_to_empty(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations}, reference=None)
    assert status(cgi, job_id)["metadata"]["reference"] == "hg19"
    assert status(cgi, job_id)["metadata"]["title"] == ""


@pytest.mark.parametrize(
    ("files", "fields", "message"),
    [
        ({}, {}, "at least one file"),
        ({"mutations"}, {"cancer_type": None}, "cancer_type"),
        ({"mutations"}, {"cancer_type": " "}, "cancer_type"),
        ({"mutations"}, {"reference": "GRCh38"}, "reference"),
        ({"other"}, {}, "at least one file"),
    ],
)
def test_submissions_the_service_refuses_at_once_are_400_json_and_create_no_job(
    cgi, mutations, files, fields, message
):
    response = submit(cgi, {name: mutations for name in files}, **fields)
    assert response.status_code == 400
    assert message.lower() in response.json()["message"].lower()
    assert call(cgi, "GET").json() == [] and not list(cgi.workdir.iterdir())


def test_a_form_that_is_not_multipart_is_400(cgi):
    response = call(cgi, "POST", data={"cancer_type": "CANCER"})
    assert response.status_code == 400 and "multipart" in response.json()["message"]


def test_unknown_cancer_type_is_accepted_then_fails_or_is_refused_when_configured(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations}, cancer_type="NOPE")
    assert cgi.wait_for_status(job_id, timeout=5).status == "Error"
    assert any("Unknown cancer type 'NOPE'" in line for line in logs(cgi, job_id)["logs"])
    with CgiSimulator(reject_unknown_cancer_type=True) as strict:
        refused = submit(strict, {"mutations": mutations}, cancer_type="NOPE")
        assert refused.status_code == 400 and "NOPE" in refused.json()["message"]


def test_the_list_is_every_job_of_the_account_sorted_by_id_not_by_submission(cgi, mutations):
    ids = [submit_ok(cgi, {"mutations": mutations}) for _ in range(6)]
    listed = call(cgi, "GET").json()
    assert listed == sorted(ids) and set(listed) == set(ids)
    assert call(cgi, "GET", "/").json() == listed  # with the trailing slash users also write


# -- lifecycle and logs -----------------------------------------------------------------------------


def test_running_then_done_with_growing_logs_ending_in_analysis_done(mutations):
    with CgiSimulator(run_seconds=100) as sim:
        job_id = submit_ok(sim, {"mutations": mutations}, cancer_type="HEMATO", reference="hg38")
        first = logs(sim, job_id)
        assert first == {"status": "Running", "logs": ["# cgi analyze input.tsv -c HEMATO -g hg38"]}
        sim.shift_clock(30)
        middle = logs(sim, job_id)
        assert middle["status"] == "Running" and 1 < len(middle["logs"]) < 10
        assert re.fullmatch(
            r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} INFO     Parsing input01\.tsv\n", middle["logs"][1]
        )
        sim.shift_clock(71)
        done = logs(sim, job_id)
        assert done["status"] == "Done" and status(sim, job_id)["status"] == "Done"
        assert done["logs"][: len(middle["logs"])] == middle["logs"]
        assert done["logs"][-1].endswith("INFO     Analysis done\n")


def test_wait_for_status_and_job_access(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations})
    job = cgi.wait_for_status(job_id, "Done", timeout=5)
    assert job.members == ["alterations.tsv", "input01.tsv", "biomarkers.tsv", "summary.txt"]
    assert cgi.job_ids() == [job_id]
    with pytest.raises(ValueError, match="unknown status"):
        cgi.wait_for_status(job_id, "Finished")


@pytest.mark.parametrize(
    ("kind", "content", "error"),
    [
        ("mutations", b"", "empty"),
        ("mutations", b"\n \n", "empty"),
        ("mutations", bytes(range(256)), "not a text file"),
        ("mutations", gzip.compress(b"chr\tpos\tref\talt\nchr1\t5\tA\tG\n"), "not a text file"),
        ("mutations", b"\xff\xfe broken", "not UTF-8"),
        ("mutations", b"just some words\nmore words\n", "Unrecognised mutations format"),
        ("mutations", b"chr\tpos\tref\talt\n", "no rows"),
        ("mutations", b"chr\tpos\tref\talt\nchr1\tfive\tA\tG\n", "not a number"),
        ("mutations", b"chr\tpos\tref\talt\nchr1\t5\tA\tZ\n", "alt allele"),
        ("cnas", b"gene\tcna\nERBB2\tGAIN\n", "neither AMP nor DEL"),
        ("cnas", b"gene\nERBB2\n", "Unrecognised cnas format"),
        ("translocations", b"fus\nBCR-ABL1\n", "GENE1__GENE2"),
    ],
)
def test_inputs_the_pipeline_cannot_read_send_the_job_to_error_with_log_lines(
    cgi, tmp_path, kind, content, error
):
    path = tmp_path / "input.txt"
    path.write_bytes(content)
    job_id = submit_ok(cgi, {kind: path})
    assert status(cgi, job_id)["status"] == "Running"  # it fails a fifth of the way in, not at submission
    assert cgi.wait_for_status(job_id, timeout=5).status == "Error"
    body = logs(cgi, job_id)
    assert body["status"] == "Error"
    errors = [line for line in body["logs"] if " ERROR " in line]
    assert errors and error in errors[0] and not any("Analysis done" in line for line in body["logs"])
    refused = download(cgi, job_id)
    assert refused.status_code == 400 and "Error" in refused.json()["message"]


def test_other_mutation_layouts_are_accepted(cgi, tmp_path):
    inputs = {
        "protein.tsv": "protein\tsample\nBRAF:p.V600E\tS1\n",
        "gdna.tsv": "gdna\nchr3:g.178936091G>A\n",
        "calls.vcf": "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\nchr7\t140453136\t.\tA\tT,C\n",
        "upper.tsv": "# a comment\nCHR\tPOS\tREF\tALT\tdepth\nchr9\t5073770\tG\tT\t31\n",
    }
    for name, text in inputs.items():
        (tmp_path / name).write_text(text)
        job_id = submit_ok(cgi, {"mutations": tmp_path / name})
        assert cgi.wait_for_status(job_id, timeout=5).status == "Done", name


# -- results -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "kinds", [("mutations",), ("cnas",), ("translocations",), ("mutations", "cnas", "translocations")]
)
def test_the_results_zip_holds_members_per_input_kind_derived_from_the_rows(cgi, tmp_path, kinds):
    writers = {
        "mutations": lambda p: write_mutations(
            p, [("chr7", 140453136, "A", "T", "S1"), ("chr2", 100, "G", "-", "S2")]
        ),
        "cnas": lambda p: write_cnas(p, [("ERBB2", "AMP"), ("PTEN", "DEL"), ("MYC", "AMP")]),
        "translocations": lambda p: write_translocations(p, ["BCR__ABL1"]),
    }
    files = {kind: writers[kind](tmp_path / f"{kind}.txt") for kind in kinds}
    job_id = submit_ok(cgi, files)
    cgi.wait_for_status(job_id, "Done", timeout=5)
    response = download(cgi, job_id)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/zip"
    assert "Accept-Ranges" not in response.headers
    zipped = members(response.content)
    expected = {m for kind in kinds for m in RESULT_MEMBERS[kind]} | {"biomarkers.tsv", "summary.txt"}
    assert set(zipped) == expected
    if "mutations" in kinds:
        rows = [line.split("\t") for line in zipped["alterations.tsv"].splitlines()]
        header = rows[0]
        assert len(rows) == 3 and header[:5] == ["Input ID", "CHROMOSOME", "POSITION", "REF", "ALT"]
        assert [r[header.index("CGI-Sample ID")] for r in rows[1:]] == ["S1", "S2"]
        assert (
            rows[1][header.index("CGI-Gene")] == "BRAF"
            and rows[1][header.index("CGI-Protein Change")] == "V600E"
        )
        assert zipped["input01.tsv"] == files["mutations"].read_text()
        assert "Vemurafenib" in zipped["biomarkers.tsv"] and "Mutations: 2" in zipped["summary.txt"]
    if "cnas" in kinds:
        assert len(zipped["cna_analysis.tsv"].splitlines()) == 4 and "Cnas: 3" in zipped["summary.txt"]
        assert "Trastuzumab" in zipped["biomarkers.tsv"]
    if "translocations" in kinds:
        assert "\tBCR\tABL1\t" in zipped["fusion_analysis.tsv"] and "Imatinib" in zipped["biomarkers.tsv"]


def test_a_download_before_done_is_refused(mutations):
    with CgiSimulator(run_seconds=60) as sim:
        job_id = submit_ok(sim, {"mutations": mutations})
        refused = download(sim, job_id)
        assert refused.status_code == 400 and "Running" in refused.json()["message"]


def test_range_is_ignored_by_default_so_clients_must_cope_with_a_full_200(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations})
    cgi.wait_for_status(job_id, "Done", timeout=5)
    whole = download(cgi, job_id).content
    ranged = download(cgi, job_id, headers={**auth(cgi), "Range": "bytes=10-"})
    assert ranged.status_code == 200 and ranged.content == whole and "Content-Range" not in ranged.headers
    assert cgi.requests_to("download")[-1].range == "bytes=10-"


def test_range_is_honoured_when_configured(mutations):
    with CgiSimulator(run_seconds=0.1, download_ranges=True) as sim:
        job_id = submit_ok(sim, {"mutations": mutations})
        sim.wait_for_status(job_id, "Done", timeout=5)
        whole = download(sim, job_id)
        assert whole.headers["Accept-Ranges"] == "bytes"
        size = len(whole.content)
        part = download(sim, job_id, headers={**auth(sim), "Range": "bytes=10-"})
        assert part.status_code == 206 and part.content == whole.content[10:]
        assert part.headers["Content-Range"] == f"bytes 10-{size - 1}/{size}"
        tail = download(sim, job_id, headers={**auth(sim), "Range": "bytes=-5"})
        assert tail.status_code == 206 and tail.content == whole.content[-5:]
        beyond = download(sim, job_id, headers={**auth(sim), "Range": f"bytes={size}-"})
        assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"


# -- deletion and the quota --------------------------------------------------------------------------


def test_delete_removes_the_job_and_its_files(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations})
    cgi.wait_for_status(job_id, "Done", timeout=5)
    assert (cgi.workdir / job_id).exists()
    deleted = call(cgi, "DELETE", f"/{job_id}")
    assert deleted.status_code == 200
    assert call(cgi, "GET", f"/{job_id}").status_code == 404
    assert call(cgi, "DELETE", f"/{job_id}").status_code == 404
    assert call(cgi, "GET").json() == [] and not (cgi.workdir / job_id).exists()


def test_a_running_job_can_be_deleted(mutations):
    with CgiSimulator(run_seconds=60) as sim:
        job_id = submit_ok(sim, {"mutations": mutations})
        assert call(sim, "DELETE", f"/{job_id}").status_code == 200
        assert call(sim, "GET", f"/{job_id}", params={"action": "logs"}).status_code == 404


def test_the_job_quota_refuses_submissions_until_jobs_are_deleted(mutations):
    with CgiSimulator(run_seconds=0.1, max_jobs=2) as sim:
        first = submit_ok(sim, {"mutations": mutations})
        submit_ok(sim, {"mutations": mutations})
        refused = submit(sim, {"mutations": mutations})
        assert refused.status_code == 400 and "delete" in refused.json()["message"].lower()
        assert len(call(sim, "GET").json()) == 2  # finished jobs count too
        assert call(sim, "DELETE", f"/{first}").status_code == 200
        submit_ok(sim, {"mutations": mutations})


def test_unknown_paths_and_methods(cgi):
    assert call(cgi, "GET", "/a/b").status_code == 404
    assert call(cgi, "PUT").status_code == 405
    assert call(cgi, "POST", "/0123456789abcdef0123").status_code == 405
    assert cgi.requests_to("unknown")[-1].status == 405
    with pytest.raises(ValueError, match="unknown route"):
        cgi.faults.fail("jobs")
