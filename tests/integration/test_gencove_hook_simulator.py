"""GencoveHook (and its async client) against the Gencove simulator over real HTTP on 127.0.0.1: the user and
the key's expiry, projects, every page of a sample list, an import from URLs run to its end, cancel,
archive and restore, downloads (SHA-256, an expired link resumed), 429 and maintenance, and the coalesced
fingerprint listing (one request per page, not per sample)."""

from __future__ import annotations

import asyncio
import functools
import http.server
import os
import threading
import time
from datetime import datetime, timedelta, timezone

import pytest

from airflow_provider_tis.core.coalesce import poll_group
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.gencove import GencoveHook
from airflow_provider_tis.hooks.gencove_async import fingerprint_lister
from airflow_provider_tis.hooks.gencove_errors import (
    GencoveArchivedError,
    GencoveAuthError,
    GencoveIpNotAllowedError,
    GencoveMaintenanceError,
    GencoveNotFoundError,
    GencoveTransferError,
    GencoveValidationError,
)
from airflow_provider_tis.hooks.gencove_models import SampleStatus
from airflow_provider_tis.testing.gencove import GencoveSimulator
from airflow_provider_tis.testing.gencove.config import FAST

FAST_RETRY = RetryPolicy(
    max_attempts=4,
    initial_delay=0.01,
    max_delay=5.0,
    max_elapsed=30.0,
    maintenance_delay=5.0,
    max_maintenance=10.0,
)
UNKNOWN = "00000000-0000-4000-8000-000000000000"


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with GencoveSimulator(**FAST) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture
def hook(sim) -> GencoveHook:
    return GencoveHook(retry_policy=FAST_RETRY)


@pytest.fixture
def fastq_server(tmp_path):
    """A tiny HTTP server on 127.0.0.1 serving tmp_path (the simulator fetches only local URLs)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield tmp_path, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def statuses(sim, route: str) -> list[int]:
    return [r.status for r in sim.requests_to(route)]


def leaks(lines: list[str], sim) -> list[str]:
    ours = [line for line in lines if not line.startswith("DEBUG urllib3")]
    return [line for line in ours if "Signature" in line or sim.api_key in line]


def wait_terminal(hook: GencoveHook, sample_id: str, timeout: float = 10):
    deadline = time.monotonic() + timeout
    while True:
        sample = hook.get_sample(sample_id)
        if sample.status.is_terminal or time.monotonic() > deadline:
            return sample
        time.sleep(0.05)


# -- the account ---------------------------------------------------------------------------------------


def test_test_connection_names_the_user(hook, sim):
    ok, message = hook.test_connection()
    assert ok and "as Alice Example <alice@example.org>" in message and sim.api_key not in message


def test_a_key_expiring_within_7_days_is_warned_about(sim, monkeypatch, logs):
    soon = datetime.now(timezone.utc).date() + timedelta(days=3)
    key = sim.add_api_key(name="soon", expiry_date=soon)
    monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", sim.connection_json(api_key=key))
    ok, message = GencoveHook(retry_policy=FAST_RETRY).test_connection()
    assert (
        ok
        and f"works until {soon}" in message
        and "3 more day(s)" in message
        and "Create a new key" in message
    )
    assert any("expires in 3 days" in line for line in logs())


def test_an_expired_key_and_an_address_outside_the_allow_list_say_which(hook, sim):
    sim.restrict_key(["10.0.0.0/8"])
    ok, message = hook.test_connection()
    assert not ok and "allow-list" in message and "HTTP 403" in message
    with pytest.raises(GencoveIpNotAllowedError):
        hook.get_user()
    sim.restrict_key(None)
    sim.expire_key()
    with pytest.raises(GencoveAuthError, match="expired") as caught:
        hook.get_user()
    assert "gencove_default" in str(caught.value) and "allow-list" not in str(caught.value)
    assert sim.api_key not in str(caught.value)


def test_projects_are_listed_and_read_and_an_unknown_one_is_not_found(hook, sim):
    other = sim.add_project("Second")
    assert {p.id for p in hook.list_projects()} == {sim.project_id, other}
    assert hook.get_project(other).name == "Second"
    with pytest.raises(GencoveNotFoundError, match="does not exist"):
        hook.get_project(UNKNOWN)


def test_samples_are_read_across_every_page(hook, sim):
    ids = [sim.add_sample(f"S{i}") for i in range(8)]
    sim.config.max_page_size = 3  # the hook asks 200 a page; the service gives 3
    samples = hook.list_project_samples(sim.project_id)
    assert [s.id for s in samples] == ids  # oldest first, none skipped or repeated
    assert len(sim.requests_to("project_samples")) == 3
    assert all(s.status is SampleStatus.SUCCEEDED for s in samples)
    failed = hook.list_project_samples(sim.project_id, status="failed")
    assert failed == []
    with pytest.raises(ValueError, match="status must be one of"):
        hook.list_project_samples(sim.project_id, status="done")


# -- imports, analysis, cancel ------------------------------------------------------------------------


def test_fastqs_imported_from_urls_are_assigned_and_run_to_their_end(hook, sim, fastq_server):
    folder, url = fastq_server
    for name in ("a_R1.fq.gz", "a_R2.fq.gz", "b_R1.fq.gz"):
        (folder / name).write_bytes(os.urandom(64))
    created = hook.import_from_urls(
        sim.project_id,
        {"NA12878": [f"{url}/a_R1.fq.gz", f"{url}/a_R2.fq.gz"], "S2-failqc": [f"{url}/b_R1.fq.gz"]},
        poll_interval=0.05,
        timeout=10,
    )
    assert set(created) == {"NA12878", "S2-failqc"}
    destinations = [i["destination_path"] for i in sim.imports]
    assert all(d.startswith("gncv://airflow-") for d in destinations)
    assert sorted(d.rsplit("/", 1)[1] for d in destinations) == [
        "NA12878_R1.fastq.gz",
        "NA12878_R2.fastq.gz",
        "S2-failqc_R1.fastq.gz",
    ]
    done = wait_terminal(hook, created["NA12878"])
    assert done.status is SampleStatus.SUCCEEDED and done.last_status.status == "succeeded"
    qc = wait_terminal(hook, created["S2-failqc"])
    assert qc.status is SampleStatus.FAILED and qc.last_status.status == "failed qc" and qc.last_status.note
    assert {f.file_type for f in qc.files} == {"fastq-r1"}  # a failed sample keeps its inputs only


def test_an_assignment_the_service_refuses_shows_its_field_errors(hook, sim):
    rows = [{"client_id": "x", "fastq": {"r1": {"upload": UNKNOWN}}}]
    with pytest.raises(
        GencoveValidationError, match=r"uploads\[0\]\.fastq\.r1\.upload: Invalid pk"
    ) as caught:
        hook.assign_samples(sim.project_id, rows)
    assert "uploads" in caught.value.fields


def test_running_samples_are_cancelled(hook, sim):
    sim.config.stage_seconds = 30  # still running when cancelled
    ids = [sim.add_sample(f"C{i}", finished=False) for i in range(3)]
    assert hook.cancel_samples(sim.project_id, ids) == ids
    for sample_id in ids:
        sample = hook.get_sample(sample_id)
        assert sample.status is SampleStatus.CANCELED and sample.status.is_terminal
        assert not sample.status.is_success
    assert statuses(sim, "cancel") == [201]


# -- archive, restore, downloads ------------------------------------------------------------------------


def test_an_archived_sample_is_refused_then_restored_and_downloaded(hook, sim, tmp_path):
    sample_id = sim.add_sample("A1")
    sim.archive(sample_id)
    with pytest.raises(GencoveArchivedError, match="restore_samples"):
        hook.download_sources(sample_id)
    archived = hook.list_project_samples(sim.project_id, archive_status="archived")
    assert [s.id for s in archived] == [sample_id]
    group_id = hook.restore_samples(sim.project_id, [sample_id])
    assert statuses(sim, "restore") == [202]
    deadline = time.monotonic() + 10
    while not (group := hook.get_restore_group(group_id)).restored and time.monotonic() < deadline:
        time.sleep(0.05)
    assert group.restored and [s.archive_status for s in group.samples] == ["restored"]
    sources = hook.download_sources(sample_id, ["impute-vcf"])
    written = {source.file.file_type: tmp_path / source.name for source in sources}
    for source in sources:
        hook.download_file(source, written[source.file.file_type])
    assert list(written) == ["impute-vcf"] and written["impute-vcf"].read_bytes()[:2] == b"\x1f\x8b"


def test_a_download_is_verified_by_size_and_sha256(hook, sim, tmp_path, logs):
    sample_id = sim.add_sample("D1")
    (source,) = hook.download_sources(sample_id, ["bam"])
    assert hook.download_file(source, tmp_path / "x.bam") == source.file.size
    stored = next(f for f in sim.sample(sample_id).files if f.file_type == "bam")
    assert (tmp_path / "x.bam").read_bytes() == stored.path.read_bytes()
    stored.path.write_bytes(b"BAM\x01" + os.urandom(stored.size - 4))  # same size, other bytes
    with pytest.raises(GencoveTransferError, match="SHA-256"):
        hook.download_file(source, tmp_path / "y.bam")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.bam"]  # nothing left of the corrupt one
    assert not leaks(logs(), sim)


def test_a_download_broken_after_its_link_expired_continues_on_a_new_link(hook, sim, tmp_path, logs):
    sim.config.bam_size = 300_000
    sim.config.link_ttl = 1.0
    sample_id = sim.add_sample("E1")
    (source,) = hook.download_sources(sample_id, ["bam"])
    reads = len(sim.requests_to("sample"))
    sim.faults.drop_download_after(100_000)  # the first transfer breaks ...
    sim.faults.slow("store", 1.5, times=1, after=1)  # ... and its resume arrives after the link expired
    assert hook.download_file(source, tmp_path / "e.bam") == 300_000
    assert statuses(sim, "store") == [200, 403, 206]
    assert len(sim.requests_to("sample")) - reads == 2  # a fresh link per open: the first, and after the 403
    ranges = [r.range for r in sim.requests_to("store")]
    assert ranges[0] is None and ranges[2] is not None and ranges[2].startswith("bytes=")
    lines = logs()
    assert any("link expired" in line for line in lines) and not leaks(lines, sim)


# -- 429 and maintenance ----------------------------------------------------------------------------------


def test_a_429_is_retried_after_its_retry_after(hook, sim):
    sim.faults.fail("user", times=2, status=429, retry_after=0.2)
    started = time.monotonic()
    assert hook.get_user().email == "alice@example.org"
    assert statuses(sim, "user") == [429, 429, 200] and time.monotonic() - started >= 0.4


def test_a_creation_throttled_by_429_is_sent_again(hook, sim):
    sim.config.stage_seconds = 30
    sample_id = sim.add_sample("T1", finished=False)
    sim.faults.fail("cancel", status=429, retry_after=0.05)
    hook.cancel_samples(sim.project_id, [sample_id])
    assert statuses(sim, "cancel") == [429, 201]


def test_maintenance_is_waited_out_until_its_eta(hook, sim, logs):
    sim.start_maintenance(seconds=0.6)
    started = time.monotonic()
    assert hook.get_user().email == "alice@example.org"
    elapsed = time.monotonic() - started
    # the ETA, not maintenance_delay (5 s), sets the wait
    assert 0.4 < elapsed < 4 and statuses(sim, "user")[-1] == 200 and 503 in statuses(sim, "user")
    assert any("down for maintenance" in line for line in logs())


def test_maintenance_longer_than_the_policy_waits_fails_with_its_eta(sim):
    policy = RetryPolicy(max_attempts=2, max_delay=0.2, maintenance_delay=0.1, max_maintenance=0.5)
    sim.start_maintenance(seconds=600)
    started = time.monotonic()
    with pytest.raises(GencoveMaintenanceError, match="under maintenance until about") as caught:
        GencoveHook(retry_policy=policy).get_user()
    assert caught.value.eta is not None and 0.4 < time.monotonic() - started < 5


# -- the async client ------------------------------------------------------------------------------------


def test_fingerprints_cost_one_request_per_page_not_per_sample(hook, sim):
    ids = [sim.add_sample(f"F{i}") for i in range(5)]
    sim.config.max_page_size = 2

    async def main():
        async with await hook.async_client() as client:
            lister = fingerprint_lister(sim.project_id)
            assert lister is fingerprint_lister(sim.project_id)  # one poll group per project
            direct = await lister(client, ids[:2])
            group = poll_group(client, lister)
            waits = [group.changed(i, ("running", "available", ""), 0.01) for i in ids]
            await asyncio.wait_for(asyncio.gather(*waits), 10)
            one = await client.get_sample(ids[0])
            return direct, group.listings, one

    direct, listings, one = asyncio.run(main())
    assert direct == {i: ("succeeded", "available", "") for i in ids[:2]}
    assert listings == 1 and len(sim.requests_to("project_samples")) == 6  # 2 listings of 3 pages
    assert one.id == ids[0] and len(one.files) == 7
