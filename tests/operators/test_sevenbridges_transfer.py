"""SevenBridgesDownloadOperator and SevenBridgesUploadOperator against the Seven Bridges simulator on
127.0.0.1: a task's outputs (all or some, directories nested) downloaded verified and resumed on a new link,
a second run skipped by the manifest, unsafe names refused; uploads that return file ids a task takes, and
what a name already taken does (skip, rename, overwrite)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgConfigError,
    SbgResponseError,
    SbgTaskFailedError,
)
from airflow_provider_tis.operators import SevenBridgesDownloadOperator, SevenBridgesUploadOperator
from airflow_provider_tis.operators.sevenbridges import SevenBridgesRunTaskOperator
from airflow_provider_tis.operators.sevenbridges_transfer import _joined
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator
from tests.operators.conftest import make_context


@pytest.fixture
def sim(monkeypatch: pytest.MonkeyPatch):
    with SevenBridgesSimulator(**FAST) as simulator:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", simulator.connection_json())
        yield simulator


@pytest.fixture(autouse=True)
def waits(recorded_waits: list[float]) -> list[float]:
    """The retry policy's sleeps are recorded, not slept (tests/conftest.py)."""
    return recorded_waits


def completed_task(sim, reads: bytes = b"ACGTACGT\n", run_id: str = "run-1", **extra) -> str:
    inputs = {
        "reads": sim.add_file(f"reads-{os.urandom(3).hex()}.fq", reads),
        "reference": sim.add_file(f"ref-{os.urandom(3).hex()}.fa", b">chr1\nNNNN\n"),
        **extra,
    }
    task_id = SevenBridgesRunTaskOperator(task_id="run", app=sim.demo_app, inputs=inputs).execute(
        make_context(task_id="run", run_id=run_id)
    )
    assert sim.wait_for_status(task_id, timeout=20).status == "COMPLETED"
    return task_id


def download(task_id: str, destination, **kwargs) -> list[str]:
    return SevenBridgesDownloadOperator(
        task_id="download", sbg_task_id=task_id, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def upload(files, **kwargs) -> list[str]:
    return SevenBridgesUploadOperator(task_id="upload", files=files, **kwargs).execute(
        make_context(task_id="upload")
    )


def local(paths: list[str]) -> list[Path]:
    return [Path(p.removeprefix("file://")) for p in paths]


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and MANIFEST_FOLDER not in p.parts
    }


def expected(sim, task_id: str) -> dict[str, bytes]:
    """The task's outputs as the simulator holds them: relative path -> bytes."""
    found: dict[str, bytes] = {}

    def walk(folder_id: str, prefix: str) -> None:
        for child in sim.files.children(folder_id):
            if child.type == "folder":
                walk(child.id, f"{prefix}{child.name}/")
            else:
                found[prefix + child.name] = sim.read_file(child.id)

    for value in sim.task(task_id).outputs.values():
        for item in value if isinstance(value, list) else [value]:
            if item["class"] == "Directory":
                walk(item["path"], item["name"] + "/")
            else:
                found[item["name"]] = sim.read_file(item["path"])
    return found


# -- download --------------------------------------------------------------------------------------


def test_all_outputs_download_with_directories_nested_and_bytes_equal(sim, tmp_path):
    task_id = completed_task(sim)
    written = download(task_id, tmp_path / "out", max_parallel=3)
    want = expected(sim, task_id)
    assert set(want) == {
        "sample.report.json",
        "sample.merged.bin",
        "sample_qc/summary.json",
        "sample_qc/details/inputs.tsv",
    }
    assert files_under(tmp_path / "out") == want
    assert sorted(str(p.relative_to(tmp_path / "out")) for p in local(written)) == sorted(want)
    assert len(sim.requests_to("download_info")) == 4  # a fresh link per file
    assert not [p for p in (tmp_path / "out").rglob("*.part")]


def test_selected_output_ids_only(sim, tmp_path):
    task_id = completed_task(sim)
    written = download(task_id, tmp_path, outputs=["merged", "qc"])
    assert sorted(files_under(tmp_path)) == [
        "sample.merged.bin",
        "sample_qc/details/inputs.tsv",
        "sample_qc/summary.json",
    ]
    assert len(written) == 3
    assert files_under(tmp_path)["sample.merged.bin"] == b"ACGTACGT\n>chr1\nNNNN\n"


def test_an_unknown_output_id_fails_listing_the_outputs_before_any_download(sim, tmp_path):
    task_id = completed_task(sim)
    with pytest.raises(SbgConfigError, match=r"no output 'mergd'; its outputs are merged, qc, report"):
        download(task_id, tmp_path, outputs=["mergd"])
    assert sim.requests_to("download_info") == [] and files_under(tmp_path) == {}


def test_a_link_that_expires_mid_download_resumes_with_range_on_a_new_link(sim, tmp_path, logs):
    big = os.urandom(400_000)
    task_id = completed_task(sim, reads=big)
    sim.config.url_ttl = 1.0
    sim.faults.drop_download_after(150_000)  # the first transfer breaks ...
    sim.faults.slow("store", 1.5, times=1, after=1)  # ... and its resume arrives after the link expired
    download(task_id, tmp_path, outputs=["merged"])
    assert files_under(tmp_path)["sample.merged.bin"] == big + b">chr1\nNNNN\n"
    assert [r.status for r in sim.requests_to("store")] == [200, 403, 206]  # resumed, not restarted
    assert len(sim.requests_to("download_info")) == 2
    assert any("link expired" in line for line in logs())
    assert not any("Signature" in line for line in logs() if not line.startswith("DEBUG urllib3"))


@pytest.mark.parametrize("status", ["running", "failed"])
def test_a_task_not_completed_is_refused_before_any_download(sim, tmp_path, status):
    reads = sim.add_file("r.fq", "ACGT")
    app = sim.failing_app if status == "failed" else sim.demo_app
    inputs = (
        {"reads": reads} if status == "failed" else {"reads": reads, "reference": sim.add_file("f.fa", "N")}
    )
    sim.config.run_seconds = 0.3 if status == "failed" else 60
    task_id = SevenBridgesRunTaskOperator(task_id="run", app=app, inputs=inputs).execute(
        make_context(task_id="run")
    )
    if status == "failed":
        sim.wait_for_status(task_id, timeout=20)
        with pytest.raises(SbgTaskFailedError, match=r"ended FAILED.*Nothing was downloaded"):
            download(task_id, tmp_path)
    else:
        with pytest.raises(
            SbgConfigError, match=r"not COMPLETED; nothing was downloaded.*SevenBridgesTaskSensor"
        ):
            download(task_id, tmp_path)
    assert sim.requests_to("download_info") == [] and sim.requests_to("store") == []
    assert list(tmp_path.iterdir()) == []


def test_a_name_with_dot_dot_in_an_output_folder_stays_inside_and_nothing_is_downloaded(sim, tmp_path):
    task_id = completed_task(sim)
    folder = sim.task(task_id).outputs["qc"]["path"]
    sim.add_file("../../escape.txt", b"evil", parent=folder)
    with pytest.raises(SbgResponseError, match=r"contains '\.\.'"):
        download(task_id, tmp_path / "dest")
    assert sim.requests_to("download_info") == []
    assert not (tmp_path / "escape.txt").exists() and not list(tmp_path.rglob("escape.txt"))


@pytest.mark.parametrize("name", ["..", "../x", "/etc/passwd", "a/../../b", "a\\b", "x\x00y", ""])
def test_the_name_check_refuses_names_that_would_leave_the_destination(name):
    with pytest.raises(SbgResponseError):
        _joined(["folder", name])


def test_the_name_check_keeps_plain_nested_names():
    assert _joined(["sample_qc", "details", "inputs.tsv"]) == "sample_qc/details/inputs.tsv"


def test_a_second_run_skips_files_the_manifest_proves_complete(sim, tmp_path, logs):
    task_id = completed_task(sim)
    first = download(task_id, tmp_path)
    links = len(sim.requests_to("download_info"))
    (tmp_path / "sample.report.json").write_bytes(b"changed!")  # a file no longer what was recorded
    second = download(task_id, tmp_path)
    assert second == first
    assert len(sim.requests_to("download_info")) == links + 1  # only the changed file again
    assert files_under(tmp_path) == expected(sim, task_id)
    assert sum("already at the destination" in line for line in logs()) == 3


def test_a_file_of_another_task_with_the_same_name_is_downloaded_again(sim, tmp_path):
    first_task = completed_task(sim)
    download(first_task, tmp_path, outputs=["merged"])
    with sim.lock:  # the first task's output is deleted, so the second task's gets the same name
        sim.files.remove(sim.task(first_task).outputs["merged"]["path"])
    second_task = completed_task(sim, reads=b"TTTT\n", run_id="run-2")
    assert second_task != first_task
    links = len(sim.requests_to("download_info"))
    download(second_task, tmp_path, outputs=["merged"])
    assert len(sim.requests_to("download_info")) == links + 1  # another task's file: not trusted
    assert files_under(tmp_path)["sample.merged.bin"] == b"TTTT\n>chr1\nNNNN\n"


def test_a_storage_url_destination(sim, memory_fs):
    from airflow_provider_tis.version_compat import ObjectStoragePath

    task_id = completed_task(sim)
    written = download(task_id, "memory://sbg-test/results", outputs=["report"])
    assert written == [str(ObjectStoragePath("memory://sbg-test/results/sample.report.json"))]
    assert (
        memory_fs.cat("/sbg-test/results/sample.report.json") == expected(sim, task_id)["sample.report.json"]
    )
    assert not [p for p in memory_fs.find("/sbg-test") if p.endswith(".part")]


# -- upload ----------------------------------------------------------------------------------------


def test_two_local_files_upload_and_their_ids_work_as_task_inputs(sim, tmp_path):
    (tmp_path / "reads.fq").write_bytes(b"ACGT\n" * 100)
    (tmp_path / "ref.fa").write_bytes(b">chr1\nNNNN\n")
    ids = upload([str(tmp_path / "reads.fq"), str(tmp_path / "ref.fa")])
    assert len(ids) == 2 and sim.read_file(ids[0]) == b"ACGT\n" * 100
    assert [sim.file(i).name for i in ids] == ["reads.fq", "ref.fa"]
    task_id = SevenBridgesRunTaskOperator(
        task_id="run", app=sim.demo_app, inputs={"reads": ids[0], "reference": ids[1]}
    ).execute(make_context(task_id="run"))
    assert sim.wait_for_status(task_id, timeout=20).status == "COMPLETED"


def test_a_glob_uploads_every_match(sim, tmp_path):
    for name in ("a.vcf", "b.vcf", "c.txt"):
        (tmp_path / name).write_text(name)
    ids = upload(str(tmp_path / "*.vcf"))
    assert [sim.file(i).name for i in ids] == ["a.vcf", "b.vcf"]


def test_a_reupload_with_skip_sends_nothing_and_returns_the_same_ids(sim, tmp_path):
    (tmp_path / "reads.fq").write_bytes(b"ACGT\n")
    first = upload(str(tmp_path / "reads.fq"))
    assert len(sim.requests_to("upload_init")) == 1
    assert upload(str(tmp_path / "reads.fq")) == first
    assert len(sim.requests_to("upload_init")) == 1 and len(sim.requests_to("part_upload")) == 1


def test_skip_with_a_different_size_fails_without_uploading(sim, tmp_path):
    (tmp_path / "reads.fq").write_bytes(b"ACGT\n")
    upload(str(tmp_path / "reads.fq"))
    (tmp_path / "reads.fq").write_bytes(b"ACGTACGT\n")
    with pytest.raises(SbgConfigError, match="on_conflict='overwrite'"):
        upload(str(tmp_path / "reads.fq"))
    assert len(sim.requests_to("upload_init")) == 1


def test_rename_keeps_both_under_the_platforms_copy_name(sim, tmp_path):
    (tmp_path / "reads.fq").write_bytes(b"ACGT\n")
    (first,) = upload(str(tmp_path / "reads.fq"))
    (second,) = upload(str(tmp_path / "reads.fq"), on_conflict="rename")
    (third,) = upload(str(tmp_path / "reads.fq"), on_conflict="rename")
    assert [sim.file(i).name for i in (first, second, third)] == ["reads.fq", "_1_reads.fq", "_2_reads.fq"]


def test_overwrite_replaces_the_file(sim, tmp_path):
    (tmp_path / "reads.fq").write_bytes(b"ACGT\n")
    (first,) = upload(str(tmp_path / "reads.fq"))
    (tmp_path / "reads.fq").write_bytes(b"TTTTTTTT\n")
    (second,) = upload(str(tmp_path / "reads.fq"), on_conflict="overwrite")
    assert second != first and sim.read_file(second) == b"TTTTTTTT\n"
    assert first not in sim.files.files
    assert [f.name for f in sim.files.children(sim.file(second).parent)].count("reads.fq") == 1


def test_upload_into_a_folder_by_name_or_id(sim, tmp_path):
    folder = sim.add_folder("inputs")
    (tmp_path / "x.txt").write_text("x")
    (by_name,) = upload(str(tmp_path / "x.txt"), folder="inputs")
    assert sim.file(by_name).parent == folder
    (tmp_path / "y.txt").write_text("y")
    (by_id,) = upload(str(tmp_path / "y.txt"), folder=folder)
    assert sim.file(by_id).parent == folder
    with pytest.raises(SbgConfigError, match="has no folder 'nope'"):
        upload(str(tmp_path / "y.txt"), folder="nope")


def test_a_storage_url_uploads(sim, memory_fs):
    memory_fs.pipe("/sbg-up/in/s.vcf", b"##fileformat=VCFv4.2\n")
    (file_id,) = upload("memory://sbg-up/in/*.vcf")
    assert sim.read_file(file_id) == b"##fileformat=VCFv4.2\n"


def test_a_glob_with_no_match_fails_before_any_request(sim, tmp_path):
    with pytest.raises(SbgConfigError, match="matched no file"):
        upload([str(tmp_path / "a.txt"), str(tmp_path / "*.vcf")])
    assert list(sim.requests) == []


def test_a_bad_on_conflict_fails_before_any_request(sim, tmp_path):
    (tmp_path / "a.txt").write_text("a")
    with pytest.raises(SbgConfigError, match="on_conflict must be one of skip, rename, overwrite"):
        upload(str(tmp_path / "a.txt"), on_conflict="replace")
    assert sim.requests_to("files") == [] and sim.requests_to("upload_init") == []
