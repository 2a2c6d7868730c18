"""Downloads, the object store, fault injection, the request log, the CLI and the pytest fixture."""

from __future__ import annotations

import hashlib
import io
import json
import os
import subprocess
import sys
import time
import tracemalloc

import pytest
import requests

from airflow_provider_tis.testing import TisSimulator
from airflow_provider_tis.testing.multipart import read_multipart
from tests.simulator.conftest import api, job, submit, submit_ok


@pytest.fixture
def finished(sim, vcf):
    job_id = submit_ok(sim, [vcf], password="pw")
    sim.wait_for_state(job_id, 4)
    return job(sim, job_id)


def _entry(info, name="chr_20.zip"):
    return next(f for f in info["outputParams"][0]["files"] if f["name"] == name)


def _share(sim, entry, **kwargs):
    return requests.get(f"{sim.url}/share/results/{entry['hash']}/{entry['name']}", timeout=5, **kwargs)


def test_download_needs_no_token_and_redirects_to_the_object_store(sim, finished):
    entry = _entry(finished)
    first = _share(sim, entry, allow_redirects=False)
    assert first.status_code == 301
    location = first.headers["Location"]
    assert location.startswith(sim.store_url) and sim.store_url != sim.url
    body = requests.get(location, timeout=5)
    assert body.status_code == 200 and body.headers["Accept-Ranges"] == "bytes"
    assert int(body.headers["Content-Length"]) == len(body.content)
    assert body.headers["ETag"] == f'"{hashlib.md5(body.content).hexdigest()}"'
    assert [r.server for r in sim.requests[-2:]] == ["api", "store"]
    assert all(r.token_sha256 is None for r in sim.requests[-2:])


def test_every_hit_spends_one_download_and_the_eleventh_is_refused(sim, finished):
    entry = _entry(finished)
    for expected_left in range(9, -1, -1):
        assert _share(sim, entry, allow_redirects=False).status_code == 301
        assert _entry(job(sim, finished["id"]))["count"] == expected_left
    refused = _share(sim, entry)
    assert refused.status_code == 400
    assert refused.json() == {"message": "number of max downloads exceeded.", "success": False}


def test_download_limit_is_configurable(vcf):
    with TisSimulator(run_seconds=0.05, export_seconds=0.01, download_limit=1) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 4)
        entry = _entry(job(sim, job_id))
        assert entry["count"] == 1
        assert _share(sim, entry).status_code == 200
        assert _share(sim, entry).status_code == 400


def test_unknown_hash_is_404(sim):
    response = requests.get(f"{sim.url}/share/results/{'0' * 64}/x.zip", timeout=5)
    assert response.status_code == 404 and response.json()["message"] == "download not found."


def test_range_requests_and_head_on_the_presigned_url(sim, finished):
    location = _share(sim, _entry(finished), allow_redirects=False).headers["Location"]
    whole = requests.get(location, timeout=5).content
    part = requests.get(location, headers={"Range": "bytes=100-"}, timeout=5)
    assert part.status_code == 206 and part.content == whole[100:]
    assert part.headers["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    middle = requests.get(location, headers={"Range": "bytes=10-19"}, timeout=5)
    assert middle.content == whole[10:20]
    assert requests.get(location, headers={"Range": f"bytes={len(whole)}-"}, timeout=5).status_code == 416
    head = requests.head(location, timeout=5)
    assert (
        head.status_code == 200 and int(head.headers["Content-Length"]) == len(whole) and head.content == b""
    )
    assert _entry(job(sim, finished["id"]))["count"] == 9  # reusing the URL spends nothing


def test_presigned_url_expires_and_is_tamper_proof(vcf):
    with TisSimulator(run_seconds=0.05, export_seconds=0.01, url_ttl=60) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 4)
        location = _share(sim, _entry(job(sim, job_id)), allow_redirects=False).headers["Location"]
        assert requests.get(location.replace("chr_20", "chr_21"), timeout=5).status_code == 403
        assert requests.get(location, timeout=5).status_code == 200
        sim.shift_clock(61)
        expired = requests.get(location, timeout=5)
        assert expired.status_code == 403 and b"Request has expired" in expired.content


def test_injected_errors_with_retry_after(sim):
    sim.faults.fail("server", times=2, status=429, retry_after=3)
    first, second, third = (api(sim, "/api/v2/server") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (429, 429, 200)
    assert first.headers["Retry-After"] == "3"
    sim.faults.fail("job", status=502)
    assert api(sim, "/api/v2/jobs/job-1").status_code == 502
    with pytest.raises(ValueError, match="unknown route"):
        sim.faults.fail("nope")


def test_slow_responses(sim):
    sim.faults.slow("server", 0.5, times=1)
    started = time.monotonic()
    api(sim, "/api/v2/server")
    assert time.monotonic() - started >= 0.5
    with pytest.raises(requests.ReadTimeout):
        sim.faults.slow("jobs", 2, times=1)
        requests.get(f"{sim.url}/api/v2/jobs", headers={"X-Auth-Token": sim.token}, timeout=0.5)


def test_download_connection_dropped_after_k_bytes(sim, finished):
    sim.faults.drop_download_after(500)
    location = _share(sim, _entry(finished), allow_redirects=False).headers["Location"]
    received = bytearray()
    with (
        pytest.raises(requests.exceptions.ChunkedEncodingError),
        requests.get(location, stream=True, timeout=5) as r,
    ):
        for chunk in r.iter_content(100):
            received.extend(chunk)
    assert len(received) == 500
    rest = requests.get(location, headers={"Range": "bytes=500-"}, timeout=5).content
    assert bytes(received) + rest == requests.get(location, timeout=5).content


def test_submit_response_dropped_after_the_job_was_created(sim, vcf):
    sim.faults.drop_submit_response()
    with pytest.raises(requests.ConnectionError):
        submit(sim, [vcf], **{"job-name": "lost-answer"})
    assert [j.name for j in sim.jobs.jobs.values()] == ["lost-answer"]


def test_upload_dropped_midway_creates_no_job(sim, vcf):
    sim.faults.drop_upload_after(100)
    with pytest.raises(requests.ConnectionError):
        submit(sim, [vcf])
    assert sim.jobs.jobs == {}


def test_request_log_hashes_tokens_and_redacts_passwords(sim, vcf):
    submit_ok(sim, [vcf], password="TopSecret1", build="hg19")
    record = sim.requests_to("submit")[-1]
    assert record.fields["password"] == "<redacted>" and record.fields["build"] == "hg19"
    assert record.token_sha256 == hashlib.sha256(sim.token.encode()).hexdigest()
    assert sim.token not in repr(sim.requests) and "TopSecret1" not in repr(sim.requests)
    assert sim.token_seen(sim.token)


def test_multipart_reader_memory_is_bounded(tmp_path):
    size = 64 << 20
    boundary = b"sim-boundary"
    head = (
        b"--" + boundary + b'\r\nContent-Disposition: form-data; name="files"; filename="big.vcf.gz"\r\n\r\n'
    )
    tail = b"\r\n--" + boundary + b"--\r\n"

    class Body(io.RawIOBase):
        def __init__(self):
            self.parts = [head, None, tail]
            self.left = size

        def readable(self):
            return True

        def read(self, n=-1):
            while self.parts:
                if self.parts[0] is None:
                    if self.left:
                        take = min(n, self.left, 1 << 20)
                        self.left -= take
                        return b"\x00" * take
                    self.parts.pop(0)
                    continue
                return self.parts.pop(0)
            return b""

    tracemalloc.start()
    form = read_multipart(Body(), len(head) + size + len(tail), boundary, tmp_path)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert (tmp_path / "big.vcf.gz").stat().st_size == size and form.files[0][1] == "big.vcf.gz"
    assert peak < 8 << 20, f"peak {peak / 2**20:.1f} MiB for a 64 MiB upload"


def test_cli_serves_and_prints_a_ready_connection(tmp_path):
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "airflow_provider_tis.testing",
            "serve",
            "--profile",
            "michigan",
            "--run-seconds",
            "0.1",
            "--request-log",
            str(tmp_path / "requests.jsonl"),
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        lines = [process.stdout.readline() for _ in range(3)]
        url = lines[0].split(" at ")[1].strip()
        token = lines[1].split(": ", 1)[1].strip()
        conn = json.loads(lines[2].split("=", 1)[1].strip().strip("'"))
        assert conn["host"] == url and conn["password"] == token and url.startswith("http://127.0.0.1:")
        server = requests.get(f"{url}/api/v2/server", headers={"X-Auth-Token": token}, timeout=5).json()
        assert server["user"]["name"] == "alice" and server["name"] == "Michigan Imputation Server 2"
    finally:
        process.terminate()
        assert process.wait(10) == 0
    logged = [json.loads(line) for line in (tmp_path / "requests.jsonl").read_text().splitlines()]
    assert [(r["route"], r["method"], r["path"], r["status"]) for r in logged] == [
        ("server", "GET", "/api/v2/server", 200)
    ]
    assert logged[0]["token_sha256"] == hashlib.sha256(token.encode()).hexdigest()
    assert token not in (tmp_path / "requests.jsonl").read_text()
    vcf = subprocess.run(
        [
            sys.executable,
            "-m",
            "airflow_provider_tis.testing",
            "vcf",
            str(tmp_path / "x.vcf.gz"),
            "--chromosomes",
            "1,2",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    assert (tmp_path / "x.vcf.gz").read_bytes()[:4] == b"\x1f\x8b\x08\x04" and vcf.stdout.strip().endswith(
        "x.vcf.gz"
    )


@pytest.mark.tis_simulator(profile="michigan", download_limit=4)
def test_pytest_fixture_sets_the_connection(tis_simulator):
    conn = json.loads(os.environ["AIRFLOW_CONN_TIS_DEFAULT"])
    assert conn["host"] == tis_simulator.url and conn["password"] == tis_simulator.token
    assert tis_simulator.profile.name == "michigan" and tis_simulator.config.download_limit == 4
