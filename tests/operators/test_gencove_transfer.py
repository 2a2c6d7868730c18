"""GencoveImportSamplesOperator and GencoveDownloadOperator against the Gencove simulator on 127.0.0.1:
imports from local URLs, presigned storage paths and local files (boto3 into a moto S3 server), S3 URI
imports, retries that never import or assign twice; downloads verified by SHA-256, skipped by the manifest,
resumed after an expired link and a dropped connection, and the refusals that come before any byte."""

from __future__ import annotations

import builtins
import functools
import hashlib
import http.server
import json
import threading
from pathlib import Path

import pytest
from fsspec.implementations.memory import MemoryFileSystem

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.hooks.gencove_errors import (
    GencoveApiError,
    GencoveArchivedError,
    GencoveConfigError,
    GencoveTransferError,
)
from airflow_provider_tis.operators.gencove_transfer import (
    GencoveDownloadOperator,
    GencoveImportSamplesOperator,
)
from airflow_provider_tis.testing.gencove import FAST, GencoveSimulator
from airflow_provider_tis.version_compat import ObjectStoragePath
from tests.conftest import attach_memory_fs
from tests.operators.conftest import make_context

UPLOAD_BUCKET = "gencove-sim-uploads"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with GencoveSimulator(**FAST) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture
def fastq_server(tmp_path):
    """Two FASTQs served over http from 127.0.0.1 (the simulator fetches only local URLs)."""
    served = tmp_path / "served"
    served.mkdir()
    for read in ("R1", "R2"):
        (served / f"S1_{read}.fastq.gz").write_bytes(f"@S1 {read}\nACGT\n+\nIIII\n".encode())
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def run_import(run_id: str = "run-1", **kwargs):
    context = make_context(task_id="import", run_id=run_id)
    kwargs.setdefault("poll_interval", 0.05)
    kwargs.setdefault("import_timeout", 20)
    ids = GencoveImportSamplesOperator(task_id="import", **kwargs).execute(context)
    pushed = {c.kwargs["key"]: c.kwargs["value"] for c in context["ti"].xcom_push.call_args_list}
    return ids, pushed.get("samples")


def download(sample_ids, destination, **kwargs) -> list[str]:
    return GencoveDownloadOperator(
        task_id="download", sample_ids=sample_ids, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def calls(sim, route: str) -> int:
    return len(sim.requests_to(route))


# -- imports ------------------------------------------------------------------------------------


def test_import_from_urls_creates_and_assigns_samples(sim, fastq_server):
    served, base = fastq_server
    samples = {"S1": [f"{base}/S1_R1.fastq.gz", f"{base}/S1_R2.fastq.gz"], "S2": f"{base}/S1_R1.fastq.gz"}
    ids, pushed = run_import(project_id=sim.project_id, samples=json.dumps(samples))
    assert pushed is not None and list(pushed) == ["S1", "S2"] and list(pushed.values()) == ids
    for client_id, sample_id in pushed.items():
        sample = sim.sample(sample_id)
        assert sample.client_id == client_id and sample.project_id == sim.project_id
    assert calls(sim, "uploads_url") == 3 and calls(sim, "assign") == 1
    r1 = next(u for u in sim.jobs.uploads.uploads.values() if u.destination_path.endswith("/S1_R1.fastq.gz"))
    assert r1.path is not None and r1.path.read_bytes() == (served / "S1_R1.fastq.gz").read_bytes()


def test_a_retry_after_a_failed_assignment_assigns_the_earlier_uploads(sim, fastq_server):
    _, base = fastq_server
    samples = {"S1": [f"{base}/S1_R1.fastq.gz", f"{base}/S1_R2.fastq.gz"]}
    sim.faults.fail("assign", status=400, message="boom")
    with pytest.raises(GencoveApiError):
        run_import(project_id=sim.project_id, samples=samples)
    assert calls(sim, "uploads_url") == 2 and sim.samples() == []
    ids, pushed = run_import(project_id=sim.project_id, samples=samples)
    assert calls(sim, "uploads_url") == 2  # the uploads of the first try were reused
    assert [s.id for s in sim.samples()] == ids and list(pushed) == ["S1"]


def test_a_retry_after_the_assignment_reuses_the_samples(sim, fastq_server):
    _, base = fastq_server
    samples = {"S1": f"{base}/S1_R1.fastq.gz"}
    sim.add_sample("S1")  # another run's sample of that client id: never taken for this one's
    first, _ = run_import(project_id=sim.project_id, samples=samples)
    second, _ = run_import(project_id=sim.project_id, samples=samples)
    assert first == second and calls(sim, "assign") == 1 and calls(sim, "uploads_url") == 1
    assert len(sim.samples()) == 2
    other_run, _ = run_import(run_id="run-2", project_id=sim.project_id, samples=samples)
    assert other_run != first and calls(sim, "assign") == 2


class SigningMemoryFS(MemoryFileSystem):
    """A memory filesystem that presigns like s3fs: its links point at a tiny local server."""

    base = ""

    def sign(self, path, expiration=100, **kwargs):
        return f"{self.base}/{self._strip_protocol(path).lstrip('/')}?X-Amz-Signature=sekrit{expiration}"


@pytest.fixture
def signing_fs():
    fs = SigningMemoryFS()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            path, _, query = self.path.partition("?")
            if "X-Amz-Signature=sekrit" not in query:
                self.send_error(403)
                return
            data = fs.cat_file("/" + path.lstrip("/"))
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    SigningMemoryFS.base = f"http://127.0.0.1:{server.server_address[1]}"
    cleanup = attach_memory_fs(fs)
    yield fs
    cleanup()
    server.shutdown()
    server.server_close()


def test_a_storage_path_is_presigned_and_its_signature_never_logged(sim, signing_fs, caplog):
    signing_fs.pipe_file("/fq/P1_R1.fastq.gz", b"@P1\nACGT\n+\nIIII\n")
    caplog.set_level("DEBUG")
    ids, _ = run_import(
        project_id=sim.project_id, samples={"P1": [ObjectStoragePath("memory://fq/P1_R1.fastq.gz")]}
    )
    assert len(ids) == 1
    (record,) = [i for i in sim.imports if i["kind"] == "url"]
    assert record["source_url"].startswith(SigningMemoryFS.base + "/fq/P1_R1.fastq.gz?X-Amz-Signature=")
    upload = next(iter(sim.jobs.uploads.uploads.values()))
    assert upload.path is not None and upload.path.read_bytes() == b"@P1\nACGT\n+\nIIII\n"
    assert "sekrit" not in caplog.text


def test_a_storage_that_cannot_presign_is_refused_before_any_request(sim, memory_fs):
    memory_fs.pipe_file("/fq/P1_R1.fastq.gz", b"x")
    with pytest.raises(GencoveConfigError, match=r"memory:// storage .* cannot make presigned links"):
        run_import(project_id=sim.project_id, samples={"P1": "memory://fq/P1_R1.fastq.gz"})
    assert sim.requests_to("uploads_url") == [] and sim.requests_to("sample_sheet") == []


@pytest.mark.parametrize(
    ("samples", "match"),
    [
        ({"a/b": "https://example.org/x.fq"}, "single name"),
        ({"": "https://example.org/x.fq"}, "non-empty"),
        ({"S1": ["https://e.org/1", "https://e.org/2", "https://e.org/3"]}, "has 3 sources"),
        ({"S1": "/no/such/file.fastq.gz"}, "not a file on this worker"),
        ({"S1": "nosuchscheme://bucket/x.fq"}, "Cannot use source"),
        ("{not json", "looks like JSON"),
    ],
)
def test_bad_samples_are_refused_before_any_request(sim, samples, match):
    with pytest.raises(GencoveConfigError, match=match):
        run_import(project_id=sim.project_id, samples=samples)
    assert sim.requests_to("sample_sheet") == [] and sim.requests_to("uploads_url") == []


def test_project_and_one_of_samples_or_s3_uri_are_required(sim):
    with pytest.raises(GencoveConfigError, match="project_id must be a Gencove id"):
        run_import(project_id="nope", samples={"S1": "https://e.org/x"})
    with pytest.raises(GencoveConfigError, match="exactly one"):
        run_import(project_id=sim.project_id, samples={"S1": "https://e.org/x"}, s3_uri="s3://b/p/")
    with pytest.raises(GencoveConfigError, match="exactly one"):
        run_import(project_id=sim.project_id)


@pytest.fixture
def moto_s3(sim, monkeypatch):
    import boto3
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="y", region_name="us-east-1"
    )
    client.create_bucket(Bucket=UPLOAD_BUCKET)
    monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", sim.connection_json(s3_endpoint_url=endpoint))
    yield client
    server.stop()


def test_local_files_go_to_s3_with_the_temporary_credentials(sim, moto_s3, tmp_path, caplog):
    r1, r2 = tmp_path / "L1_R1.fastq.gz", tmp_path / "L1_R2.fastq.gz"
    r1.write_bytes(b"@L1 1\nACGT\n+\nIIII\n" * 100)
    r2.write_bytes(b"@L1 2\nTTTT\n+\nIIII\n" * 100)
    caplog.set_level("DEBUG")
    ids, pushed = run_import(project_id=sim.project_id, samples={"L1": [str(r1), f"file://{r2}"]})
    assert list(pushed) == ["L1"] and sim.sample(ids[0]).client_id == "L1"
    uploads = {u.destination_path.rsplit("_", 1)[-1]: u for u in sim.jobs.uploads.uploads.values()}
    for read, path in (("R1.fastq.gz", r1), ("R2.fastq.gz", r2)):
        got = moto_s3.get_object(Bucket=UPLOAD_BUCKET, Key=uploads[read].object_name)["Body"].read()
        assert got == path.read_bytes()
    assert calls(sim, "upload_credentials") == 1 and calls(sim, "uploads_post_data") == 2
    (credentials,) = [i for i in sim.imports if i["kind"] == "credentials"]
    assert credentials["access_key"] not in caplog.text


def test_missing_boto3_is_named_with_the_extra_before_any_request(sim, tmp_path, monkeypatch):
    local = tmp_path / "L1_R1.fastq.gz"
    local.write_bytes(b"@x\n")
    real_import = builtins.__import__

    def no_boto3(name, *args, **kwargs):
        if name == "boto3" or name.startswith("boto3."):
            raise ImportError("No module named 'boto3'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_boto3)
    with pytest.raises(GencoveConfigError, match=r"pip install 'airflow-provider-tis\[gencove-s3\]'"):
        run_import(project_id=sim.project_id, samples={"L1": str(local)})
    assert sim.requests_to("upload_credentials") == [] and sim.requests_to("sample_sheet") == []


def test_s3_uri_import_returns_its_samples_and_a_retry_does_not_import_again(sim):
    sim.add_s3_objects("s3://bucket/run7/", ["A1", "A2"])
    ids, pushed = run_import(project_id=sim.project_id, s3_uri="s3://bucket/run7/", metadata={"batch": 7})
    assert sorted(pushed) == ["A1", "A2"] and sorted(ids) == sorted(s.id for s in sim.samples())
    (record,) = [i for i in sim.imports if i["kind"] == "s3"]
    assert record["metadata"]["batch"] == 7
    again, _ = run_import(project_id=sim.project_id, s3_uri="s3://bucket/run7/", metadata={"batch": 7})
    assert sorted(again) == sorted(ids) and calls(sim, "s3_uri_import") == 1
    with pytest.raises(GencoveConfigError, match="must be a dict"):
        run_import(run_id="run-3", project_id=sim.project_id, s3_uri="s3://bucket/run7/", metadata=[1])


# -- downloads ----------------------------------------------------------------------------------


def finished(sim, client_id: str) -> str:
    sample_id = sim.add_sample(client_id)
    sim.wait_for_status(sample_id)
    return sample_id


def vcf_of(sim, sample_id: str):
    return next(f for f in sim.sample(sample_id).files if f.file_type == "impute-vcf")


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and MANIFEST_FOLDER not in p.parts
    }


def test_download_two_samples_verified_then_skipped_by_the_manifest(sim, tmp_path):
    ids = {"C1": finished(sim, "C1"), "C2": finished(sim, "C2")}
    written = download(json.dumps(ids), tmp_path / "out", file_types=["impute-vcf"])
    expected = {f"{c}/{vcf_of(sim, s).filename}": vcf_of(sim, s).path.read_bytes() for c, s in ids.items()}
    assert files_under(tmp_path / "out") == expected
    assert sorted(written) == sorted(str(ObjectStoragePath(f"file://{tmp_path}/out/{k}")) for k in expected)
    for client_id, sample_id in ids.items():
        data = expected[f"{client_id}/{vcf_of(sim, sample_id).filename}"]
        assert hashlib.sha256(data).hexdigest() == vcf_of(sim, sample_id).sha256
    store_hits = calls(sim, "store")
    assert download(list(ids.values()), tmp_path / "out", file_types=["impute-vcf"]) == written
    assert calls(sim, "store") == store_hits  # client ids from Gencove give the same folders


def test_links_that_never_last_fail_and_a_dropped_download_resumes(sim, tmp_path):
    sim.config.bam_size = 256 * 1024
    sample_id = finished(sim, "C1")
    sim.config.link_ttl = 0.0  # every link has expired by the time it is used
    with pytest.raises(GencoveApiError):
        download([sample_id], tmp_path / "expired", file_types=["bam"])  # a link that never lasts
    sim.config.link_ttl = 3600.0
    sim.faults.drop_download_after(50_000)
    download([sample_id], tmp_path / "out", file_types=["bam"])
    bam = next(f for f in sim.sample(sample_id).files if f.file_type == "bam")
    assert (tmp_path / "out" / "C1" / bam.filename).read_bytes() == bam.path.read_bytes()
    ranges = [r.range for r in sim.requests_to("store") if r.range]
    assert any(r.startswith("bytes=50000-") for r in ranges)


def test_a_link_that_expires_mid_download_gets_a_fresh_one(sim, tmp_path):
    sim.config.bam_size = 256 * 1024
    sample_id = finished(sim, "C1")
    sim.faults.drop_download_after(10_000)
    sim.faults.fail("store", status=403, message="Request has expired", after=1)
    download([sample_id], tmp_path / "out", file_types=["bam"])
    bam = next(f for f in sim.sample(sample_id).files if f.file_type == "bam")
    assert (tmp_path / "out" / "C1" / bam.filename).read_bytes() == bam.path.read_bytes()
    store = sim.requests_to("store")
    assert [r.status for r in store][:2] == [200, 403] and store[-1].range == "bytes=10000-"
    assert calls(sim, "sample") >= 3  # the plan, the first link, then a fresh one after the 403


def test_an_archived_sample_is_refused_before_any_download(sim, tmp_path):
    ok, archived = finished(sim, "C1"), finished(sim, "C2")
    sim.archive(archived)
    with pytest.raises(GencoveArchivedError, match="GencoveRestoreSamplesOperator"):
        download([ok, archived], tmp_path / "out")
    assert sim.requests_to("store") == [] and not (tmp_path / "out").exists()


def test_a_failed_qc_sample_without_the_file_type_is_refused_naming_its_status(sim, tmp_path):
    ok, failed = finished(sim, "C1"), finished(sim, "C2-fail-qc")
    with pytest.raises(GencoveConfigError, match=rf"{failed} \(failed qc\) has no file of type impute-vcf"):
        download({"C1": ok, "C2": failed}, tmp_path / "out", file_types=["impute-vcf"])
    assert sim.requests_to("store") == []


@pytest.mark.parametrize("client_id", ["..", "a/b", "/abs"])
def test_unsafe_client_ids_are_refused_before_any_download(sim, tmp_path, client_id):
    sample_id = finished(sim, "C1")
    with pytest.raises(GencoveConfigError):
        download({client_id: sample_id}, tmp_path / "out")
    assert sim.requests_to("store") == []


def test_an_unsafe_client_id_from_gencove_is_refused(sim, tmp_path):
    sample_id = finished(sim, "..")
    with pytest.raises(GencoveConfigError, match="not a safe folder name"):
        download([sample_id], tmp_path / "out")
    assert sim.requests_to("store") == []


def test_a_sha256_mismatch_fails_and_leaves_nothing(sim, tmp_path):
    sample_id = finished(sim, "C1")
    vcf = vcf_of(sim, sample_id)
    data = vcf.path.read_bytes()
    vcf.path.write_bytes(bytes([data[0] ^ 0xFF]) + data[1:])  # same size, other bytes
    with pytest.raises(GencoveTransferError, match="SHA-256"):
        download([sample_id], tmp_path / "out", file_types=["impute-vcf"])
    left = [p for p in (tmp_path / "out").rglob("*") if p.is_file()] if (tmp_path / "out").exists() else []
    assert left == []
