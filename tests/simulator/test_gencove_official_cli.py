"""The official Gencove CLI (PyPI ``gencove``) against the simulator: an outside check that what the
simulator answers is what the real service's own client expects (listing with pages, downloads with
parallel Range requests and checksums, URL uploads assigned to a project, restore, cancel, 429 and
maintenance).

The CLI cannot share the project's environment: it pins ``Click<=8.1.8`` (and drags
``python-dateutil`` back), which would downgrade what Airflow installed. So it runs from its own
virtualenv:

- ``GENCOVE_CLI=/path/to/bin/gencove`` uses that executable;
- otherwise the tests make ``$GENCOVE_CLI_VENV`` (default ``<tmp>/airflow-provider-tis-gencove-cli-<v>``)
  once with ``python -m venv`` and ``pip install gencove==<v>`` (``GENCOVE_CLI_VERSION``, default
  4.5.1, the version these tests were written against), which needs PyPI;
- when neither works the tests fail, saying why (a missing outside check is a gap, not a pass).
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from airflow_provider_tis.testing.gencove import FAST, GencoveSimulator

VERSION = os.environ.get("GENCOVE_CLI_VERSION", "4.5.1")


@pytest.fixture(scope="session")
def gencove_cli() -> Path:
    """The ``gencove`` executable, from ``GENCOVE_CLI`` or a virtualenv made for these tests."""
    if os.environ.get("GENCOVE_CLI"):
        executable = Path(os.environ["GENCOVE_CLI"])
        if not executable.exists():
            pytest.fail(f"GENCOVE_CLI={executable} does not exist")
        return executable
    default = Path(tempfile.gettempdir()) / f"airflow-provider-tis-gencove-cli-{VERSION}"
    venv = Path(os.environ.get("GENCOVE_CLI_VENV", default))
    executable = venv / "bin" / "gencove"
    if executable.exists():
        return executable
    steps = (
        [sys.executable, "-m", "venv", str(venv)],
        [str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", f"gencove=={VERSION}"],
    )
    for step in steps:
        try:
            done = subprocess.run(step, capture_output=True, text=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"cannot install the gencove CLI: {exc}")
        if done.returncode != 0:
            pytest.fail(f"cannot install the gencove CLI: {done.stderr[-500:]}")
    return executable


def run(cli: Path, sim: GencoveSimulator, cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``gencove <args> --host <simulator>`` with the simulator's API key, in ``cwd`` (it writes .logs/)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GENCOVE_")}
    env.update(GENCOVE_API_KEY=sim.api_key, NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    return subprocess.run(
        [str(cli), *args, "--host", sim.url],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=env,
        check=False,
    )


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_projects_list_and_list_samples_follow_the_next_links(gencove_cli, tmp_path):
    # The CLI always asks limit=200; a 2-result cap makes it follow a next link to the second page.
    with GencoveSimulator(**FAST, max_page_size=2) as sim:
        ids = {c: sim.add_sample(c) for c in ("NA1", "NA2", "NA3-FAILQC", "NA4")}
        sim.archive(ids["NA4"])
        projects = run(gencove_cli, sim, tmp_path, "projects", "list")
        assert projects.returncode == 0, projects.stderr
        assert (
            f"{sim.project_id}\tSimulated project\tHuman low-pass imputation (simulated) v1"
            in projects.stdout
        )
        listed = run(gencove_cli, sim, tmp_path, "projects", "list-samples", sim.project_id)
        assert listed.returncode == 0, listed.stderr
        rows = {line.split("\t")[1]: line.split("\t")[2:] for line in listed.stdout.splitlines()}
        assert rows == {
            ids["NA1"]: ["NA1", "succeeded", "available"],
            ids["NA2"]: ["NA2", "succeeded", "available"],
            ids["NA3-FAILQC"]: ["NA3-FAILQC", "failed qc", "available"],
            ids["NA4"]: ["NA4", "succeeded", "archived"],
        }
        assert [r.status for r in sim.requests_to("project_samples")] == [200, 200]


def test_download_a_project_with_parallel_ranges_and_checksums(gencove_cli, tmp_path):
    # A 9 MB bam makes the CLI split it into two parallel Range requests (parts of at least 8 MB).
    with GencoveSimulator(**FAST, bam_size=9 * 1024 * 1024) as sim:
        good = sim.add_sample("GOOD")
        qc = sim.add_sample("LOW-FAILQC")
        cold = sim.add_sample("COLD")
        sim.archive(cold)
        target = tmp_path / "out"
        done = run(
            gencove_cli,
            sim,
            tmp_path,
            "download",
            str(target),
            "--project-id",
            sim.project_id,
            "--no-progress",
            "--checksums",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Skipped 1 archived samples" in done.stdout + done.stderr
        for sample_id, client_id in ((good, "GOOD"), (qc, "LOW-FAILQC")):
            folder = target / client_id / sample_id
            files = sim.sample(sample_id).files
            for sample_file in files:
                path = folder / sample_file.filename
                assert sha256(path) == sample_file.sha256
                assert (folder / f"{sample_file.filename}.sha256").read_text().split()[
                    0
                ] == sample_file.sha256
            assert (folder / f"{sample_id}_qc.json").exists() and (
                folder / f"{sample_id}_metadata.json"
            ).exists()
        assert {f.file_type for f in sim.sample(qc).files} == {"fastq-r1", "fastq-r2"}
        assert not (target / "COLD").exists()
        bam = next(f for f in sim.sample(good).files if f.file_type == "bam")
        ranges = sorted(
            r.range for r in sim.requests_to("store") if r.path.endswith(bam.filename) and r.range
        )
        assert ranges == [f"bytes=0-{bam.size // 2 - 1}", f"bytes={bam.size // 2}-{bam.size - 1}"]


def test_upload_a_map_of_local_urls_and_run_them_in_the_project(gencove_cli, tmp_path):
    # The CLI posts each URL to /uploads-url/, waits 10 s, finds the uploads in the sample sheet and
    # assigns them: the whole import path, the simulator fetching the (local) URLs itself.
    with GencoveSimulator(**FAST) as sim:
        source = sim.add_sample("SOURCE")
        links = {f.file_type: sim.presign(f) for f in sim.sample(source).files}
        mapping = tmp_path / "runs.fastq-map.csv"
        mapping.write_text(
            f"client_id,r_notation,path\nNA12878,R1,{links['fastq-r1']}\nNA12878,R2,{links['fastq-r2']}\n"
        )
        done = run(
            gencove_cli,
            sim,
            tmp_path,
            "upload",
            str(mapping),
            "gncv://cli-run",
            "--run-project-id",
            sim.project_id,
            "--no-progress",
        )
        assert done.returncode == 0, done.stdout + done.stderr
        # it asks for S3 credentials up front, then imports the two URLs
        assert [i["kind"] for i in sim.imports] == ["credentials", "url", "url"]
        assert {i["source_url"] for i in sim.imports[1:]} == {links["fastq-r1"], links["fastq-r2"]}
        (sample,) = [s for s in sim.samples() if s.client_id == "NA12878"]
        by_type = {f.file_type: f.sha256 for f in sample.files}
        assert by_type == {
            f.file_type: f.sha256 for f in sim.sample(source).files if f.file_type.startswith("fastq")
        }
        assert sim.wait_for_status(sample.id, timeout=10).status == "succeeded"


def test_restore_and_cancel_samples(gencove_cli, tmp_path):
    with GencoveSimulator(stage_seconds=100, restore_stage_seconds=100) as sim:
        cold = sim.add_sample("COLD")
        sim.archive(cold)
        restored = run(
            gencove_cli, sim, tmp_path, "projects", "restore-samples", sim.project_id, "--sample-ids", cold
        )
        assert (
            restored.returncode == 0
            and "Request to restore samples accepted." in restored.stdout + restored.stderr
        )
        assert sim.sample(cold).archive_status == "restore_requested"
        running = [sim.add_sample(f"RUN{i}", finished=False) for i in range(2)]
        canceled = run(
            gencove_cli,
            sim,
            tmp_path,
            "projects",
            "cancel-samples",
            sim.project_id,
            "--sample-ids",
            ",".join(running),
        )
        assert canceled.returncode == 0, canceled.stdout + canceled.stderr
        assert {sim.sample(i).status for i in running} == {"canceled"}


def test_the_cli_retries_429_and_reports_maintenance(gencove_cli, tmp_path):
    with GencoveSimulator(**FAST) as sim:
        sim.faults.fail("projects", times=2, status=429, retry_after=1)
        listed = run(gencove_cli, sim, tmp_path, "projects", "list")
        assert listed.returncode == 0 and sim.project_id in listed.stdout
        assert [r.status for r in sim.requests_to("projects")] == [429, 429, 200]
        sim.start_maintenance(600, message="Upgrading the database")
        refused = run(gencove_cli, sim, tmp_path, "projects", "list")
        output = refused.stdout + refused.stderr
        assert refused.returncode != 0 and "Upgrading the database" in output
        assert f"ETA is {sim.maintenance_body()['maintenance_eta']}" in output  # type: ignore[index]
