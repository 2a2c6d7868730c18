"""`python -m airflow_provider_tis.testing serve --service NAME` serves every service and prints a ready
connection."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import requests

# service -> (path under the connection's host that needs the token, the header carrying it)
SERVICES = {
    "sevenbridges": ("/user", lambda token: {"X-SBG-Auth-Token": token}),
    "gencove": ("/api/v2/user/", lambda token: {"Authorization": f"Api-Key {token}"}),
}


@pytest.mark.parametrize("service", sorted(SERVICES))
def test_serve_prints_a_connection_that_works(service, tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_tis.testing",
            "serve",
            "--service",
            service,
            "--request-log",
            str(tmp_path / "requests.jsonl"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = []
        while not lines or not lines[-1].startswith("export "):
            lines.append(process.stdout.readline())
            assert lines[-1], f"serve ended early: {lines}"
        conn = json.loads(lines[-1].split("=", 1)[1].strip().strip("'"))
        assert conn["conn_type"] == service and conn["host"].startswith("http://127.0.0.1:")
        path, headers = SERVICES[service]
        answer = requests.get(
            f"{conn['host'].rstrip('/')}{path}", headers=headers(conn["password"]), timeout=5
        )
        assert answer.status_code == 200, answer.text
    finally:
        process.terminate()
        assert process.wait(10) == 0
    logged = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [r["status"] for r in logged] == [200]
    assert conn["password"] not in (tmp_path / "requests.jsonl").read_text()
