"""The Gencove example DAG runs for real: `airflow dags test` on SQLite, against the Gencove simulator over
HTTP: import two samples from URLs (served on 127.0.0.1), wait (deferred or not), download their VCFs."""

from __future__ import annotations

import functools
import hashlib
import json
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.testing.gencove import FAST, GencoveSimulator


@pytest.fixture
def fastq_server(tmp_path):
    """The FASTQs on a local web server (the simulator fetches URLs on 127.0.0.1 only)."""
    folder = tmp_path / "fastq"
    folder.mkdir()
    for client in ("NA12878", "NA12891"):
        for read in ("R1", "R2"):
            (folder / f"{client}_{read}.fastq.gz").write_bytes(f"@{client}/{read}\nACGT\n+\nIIII\n".encode())
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_import_wait_and_download(sandbox, tmp_path, fastq_server, deferrable):
    samples = {
        c: [f"{fastq_server}/{c}_R1.fastq.gz", f"{fastq_server}/{c}_R2.fastq.gz"]
        for c in ("NA12878", "NA12891")
    }
    with GencoveSimulator(**FAST) as sim:
        conf = {"project_id": sim.project_id, "samples": samples, "results": str(tmp_path / "results")}
        environment = {
            "GENCOVE_EXAMPLE_POLL_SECONDS": "0.5",
            "GENCOVE_EXAMPLE_RETRY_SECONDS": "1",
            "GENCOVE_EXAMPLE_DEFERRABLE": deferrable,
            "AIRFLOW_CONN_GENCOVE_DEFAULT": sim.connection_json(),
        }
        result = sandbox.dags_test("gencove_samples", conf, env=environment, timeout=240)
        output = result.stdout + result.stderr
        assert result.returncode == 0, output[-4000:]
        created = sim.samples()
        assert sorted(s.client_id for s in created) == ["NA12878", "NA12891"]
        assert all(s.status == "succeeded" for s in created), [(s.client_id, s.status) for s in created]
        assert len([i for i in sim.imports if i.get("kind") == "url"]) == 4  # each FASTQ imported once
        if deferrable == "true":
            assert "GencoveSampleTrigger" in output or "[DAG TEST] running trigger in line" in output
        expected = {
            sample.client_id: {
                f.filename: f.sha256 for f in sample.files if f.file_type in ("impute-vcf", "impute-tbi")
            }
            for sample in created
        }
        key = sim.api_key
    results = tmp_path / "results"
    got = {
        client: {
            p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in (results / client).iterdir()
            if p.is_file()
        }
        for client in expected
    }
    assert got == expected
    leftovers = [p for p in results.rglob("*") if p.is_file() and MANIFEST_FOLDER not in p.parts]
    assert len(leftovers) == 4
    assert key not in output and key not in json.dumps(conf)
