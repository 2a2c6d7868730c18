"""The CGI simulator's fault injection, request log, command line and pytest fixture."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from airflow_provider_tis.testing import CgiSimulator
from tests.simulator.cgi_http import auth, call, download, logs, status, submit, submit_ok


@pytest.fixture
def done_job(cgi, mutations):
    job_id = submit_ok(cgi, {"mutations": mutations})
    cgi.wait_for_status(job_id, "Done", timeout=5)
    return job_id


def test_fail_answers_the_armed_status_then_recovers(cgi, done_job):
    cgi.faults.fail("status", times=2, status=503, retry_after=3)
    for _ in range(2):
        failed = call(cgi, "GET", f"/{done_job}")
        assert failed.status_code == 503 and failed.headers["Retry-After"] == "3"
        assert failed.headers["Content-Type"].startswith("text/html")
    assert status(cgi, done_job)["status"] == "Done"
    assert [r.status for r in cgi.requests_to("status")] == [503, 503, 200]


def test_fail_with_429_is_json_and_a_raw_body_is_sent_as_it_is(cgi, done_job):
    cgi.faults.fail("logs", status=429, message="Too many requests")
    limited = call(cgi, "GET", f"/{done_job}", params={"action": "logs"})
    assert limited.status_code == 429 and limited.json() == {"message": "Too many requests"}
    cgi.faults.fail("list", status=502, body=b"<html>Bad Gateway</html>")
    assert call(cgi, "GET").text == "<html>Bad Gateway</html>"
    cgi.faults.fail("submit", status=500, after=1)
    assert submit(cgi, {}).status_code == 400  # answered normally: the fault waits for the next one
    assert submit(cgi, {}).status_code == 500


def test_slow_delays_answers(cgi, done_job):
    cgi.faults.slow("download", 0.4, times=1)
    started = time.monotonic()
    assert download(cgi, done_job).status_code == 200
    assert time.monotonic() - started >= 0.4
    started = time.monotonic()
    assert download(cgi, done_job).status_code == 200
    assert time.monotonic() - started < 0.4


def test_a_download_dropped_midway_then_served_whole(cgi, done_job):
    whole = download(cgi, done_job).content
    cgi.faults.drop_download_after(100)
    with pytest.raises(requests.exceptions.ChunkedEncodingError):
        download(cgi, done_job)
    assert cgi.requests_to("download")[-1].status == 200  # the answer began, then the connection went
    assert download(cgi, done_job).content == whole


def test_a_dropped_submit_answer_still_creates_the_job(cgi, mutations):
    cgi.faults.drop_submit_response()
    with pytest.raises(requests.exceptions.ConnectionError):
        submit(cgi, {"mutations": mutations}, title="lost answer")
    listed = call(cgi, "GET").json()
    assert len(listed) == 1 and status(cgi, listed[0])["metadata"]["title"] == "lost answer"
    assert cgi.requests_to("submit")[-1].status == 0


def test_a_dropped_upload_creates_no_job(cgi, mutations):
    cgi.faults.drop_upload_after(50)
    with pytest.raises(requests.exceptions.ConnectionError):
        submit(cgi, {"mutations": mutations})
    assert call(cgi, "GET").json() == [] and not list(cgi.workdir.iterdir())


def test_rewrite_and_trickle_work_on_cgi_routes(cgi, done_job):
    cgi.faults.rewrite(
        "status", lambda data: (json.dumps({**data, "status": "Queued"}).encode(), "application/json")
    )
    assert status(cgi, done_job)["status"] == "Queued"
    cgi.faults.trickle("list", 0.01)  # a short answer: ["<20 hex>"] takes a quarter of a second
    started = time.monotonic()
    assert call(cgi, "GET").json() == [done_job]
    assert time.monotonic() - started >= 0.2


def test_the_request_log_names_routes_and_job_states(cgi, done_job):
    status(cgi, done_job)
    logs(cgi, done_job)
    download(cgi, done_job)
    call(cgi, "DELETE", f"/{done_job}")
    seen = [(r.route, r.method, r.status, r.job_state) for r in cgi.requests]
    assert seen[0] == ("submit", "POST", 200, "Running")
    assert seen[-4:] == [
        ("status", "GET", 200, "Done"),
        ("logs", "GET", 200, "Done"),
        ("download", "GET", 200, "Done"),
        ("delete", "DELETE", 200, "Done"),
    ]
    assert all(r.path.startswith("/api/v1") and r.auth_ok for r in cgi.requests)


def test_cli_serves_cgi_and_prints_url_email_token_and_a_ready_connection(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_tis.testing",
            "serve",
            "--service",
            "cgi",
            "--run-seconds",
            "0.1",
            "--max-jobs",
            "1",
            "--email",
            "carol@example.org",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(4)]
        url = lines[0].split(" at ")[1].strip()
        email = lines[1].split(": ", 1)[1].strip()
        token = lines[2].split(": ", 1)[1].strip()
        conn = json.loads(lines[3].split("=", 1)[1].strip().strip("'"))
        assert lines[3].startswith("export AIRFLOW_CONN_CGI_DEFAULT=")
        assert url.startswith("http://127.0.0.1:") and email == "carol@example.org"
        assert conn == {"conn_type": "cgi", "host": url, "login": email, "password": token, "extra": {}}
        listed = requests.get(f"{url}/api/v1", headers={"Authorization": f"{email} {token}"}, timeout=5)
        assert listed.status_code == 200 and listed.json() == []
    finally:
        process.terminate()
        assert process.wait(10) == 0
    written = subprocess.run(
        [sys.executable, "-m", "airflow_provider_tis.testing", "mutations", str(tmp_path / "m.tsv")],
        check=True,
        capture_output=True,
        text=True,
    )
    assert written.stdout.strip().endswith("m.tsv")
    assert (tmp_path / "m.tsv").read_text().startswith("chr\tpos\tref\talt\n")


@pytest.mark.cgi_simulator(max_jobs=1, email="dave@example.org")
def test_the_cgi_simulator_fixture_sets_the_connection_and_takes_marker_options(cgi_simulator, mutations):
    conn = json.loads(os.environ["AIRFLOW_CONN_CGI_DEFAULT"])
    assert conn["host"] == cgi_simulator.url and conn["login"] == "dave@example.org"
    assert conn["password"] == cgi_simulator.token and conn["conn_type"] == "cgi"
    assert cgi_simulator.config.max_jobs == 1 and cgi_simulator.config.run_seconds == 0.3
    job_id = submit_ok(cgi_simulator, {"mutations": mutations})
    assert cgi_simulator.wait_for_status(job_id, timeout=5).status == "Done"


def test_connection_json_carries_extra_and_another_token():
    with CgiSimulator() as sim:
        conn = json.loads(sim.connection_json(token="other", verify="/etc/ca.pem"))
        assert conn["password"] == "other" and conn["extra"] == {"verify": "/etc/ca.pem"}
        assert call(sim, "GET", headers=auth(sim, token="other")).status_code == 401
