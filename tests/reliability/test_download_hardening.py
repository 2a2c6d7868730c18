"""Downloads against a hostile server and a careless user: results are never mixed, lost or silently
incomplete (issue 11, points 1, 4, 5, 7, 8, 9, 11, 13, 15 and 18)."""

from __future__ import annotations

import time
import traceback

import pytest
import requests

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.hooks import TisConfigError, TisHook
from airflow_provider_tis.hooks.errors import TisResponseError
from airflow_provider_tis.operators.transfer import STALE_PART_SECONDS, PartialFile, TisTransferError
from airflow_provider_tis.version_compat import ObjectStoragePath
from tests.conftest import JOB_PARAMS
from tests.operators.conftest import download


def finished(sim, vcf, **config) -> str:
    for name, value in config.items():
        setattr(sim.config, name, value)
    job_id = TisHook().submit_job([vcf], {**JOB_PARAMS, "job-name": f"job-{time.monotonic_ns()}"})
    sim.wait_for_state(job_id, 4, 5)
    return job_id


def served(sim, job_id: str, name: str) -> bytes:
    return next(f for f in sim.jobs.jobs[job_id].files if f.name == name).path.read_bytes()


def shares_of(sim, job_id: str) -> list[str]:
    hashes = {f.hash for f in sim.jobs.jobs[job_id].files}
    return [r.path for r in sim.requests_to("share") if r.path.split("/")[3] in hashes]


# -- 1. another job's results in the folder ------------------------------------------------------------


def test_a_folder_holding_another_jobs_files_gets_this_jobs_files(tis_simulator, vcf, tmp_path):
    first = finished(tis_simulator, vcf, md5=True)
    second = finished(tis_simulator, vcf)
    download(first, tmp_path, include="chr_*.zip")
    assert (tmp_path / "chr_20.zip").read_bytes() == served(tis_simulator, first, "chr_20.zip")
    download(second, tmp_path, include="chr_*.zip")
    assert len(shares_of(tis_simulator, second)) == 2  # the zip and its sidecar, though sizes match
    for name in ("chr_20.zip", "chr_20.zip.md5"):
        assert (tmp_path / name).read_bytes() == served(tis_simulator, second, name)
    download(second, tmp_path, include="chr_*.zip")  # now proven complete: nothing spent
    assert len(shares_of(tis_simulator, second)) == 2


def test_a_file_changed_after_its_download_is_downloaded_again(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, md5=True)
    download(job_id, tmp_path, include=["chr_*.zip"])
    good = (tmp_path / "chr_20.zip.md5").read_text()
    (tmp_path / "chr_20.zip.md5").write_text("0" * 32 + "  chr_20.zip\n")  # same size, other digest
    download(job_id, tmp_path, include=["chr_*.zip"])
    assert (tmp_path / "chr_20.zip.md5").read_text() == good  # the sidecar is re-checked against the zip
    assert len(shares_of(tis_simulator, job_id)) == 4


def test_the_manifest_records_job_name_size_and_md5(tis_simulator, vcf, tmp_path):
    import json

    job_id = finished(tis_simulator, vcf, md5=True)
    download(job_id, tmp_path, include=["chr_*.zip"])
    entries = [json.loads(p.read_text()) for p in (tmp_path / MANIFEST_FOLDER).iterdir()]
    zip_entry = next(e for e in entries if e["name"] == "chr_20.zip")
    data = served(tis_simulator, job_id, "chr_20.zip")
    assert zip_entry["job_id"] == job_id and zip_entry["size"] == len(data)
    assert zip_entry["md5"] == (tmp_path / "chr_20.zip.md5").read_text().split()[0]
    assert zip_entry["unpacked"] is None


# -- 4. extraction after a failed try ------------------------------------------------------------------


def test_a_zip_downloaded_but_not_unpacked_is_unpacked_by_the_retry(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf)
    kwargs = {"include": ["chr_*.zip"], "extract": True}
    with pytest.raises(TisConfigError, match="Check the password"):
        download(job_id, tmp_path, password="wrong", **kwargs)
    assert not (tmp_path / "chr20.dose.vcf.gz").exists()
    written = download(job_id, tmp_path, password="Pw12345", **kwargs)
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr_20.zip", "chr20.dose.vcf.gz", "chr20.info"]
    assert (tmp_path / "chr20.dose.vcf.gz").read_bytes()[:4] == b"\x1f\x8b\x08\x04"
    assert len(shares_of(tis_simulator, job_id)) == 1  # unpacked without downloading it again
    # once unpacked, a further run returns the same files and spends nothing
    assert download(job_id, tmp_path, password="Pw12345", **kwargs) == written
    assert len(shares_of(tis_simulator, job_id)) == 1


# -- 5. include from a template ------------------------------------------------------------------------


def test_include_as_a_string_is_one_pattern(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf)
    written = download(job_id, tmp_path, include="chr_*.zip", exclude="*.md5")
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr_20.zip"]
    assert len(shares_of(tis_simulator, job_id)) == 1


def test_an_empty_include_selects_nothing_and_says_so(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf)
    with pytest.raises(TisConfigError, match="`include` is empty, so nothing is selected"):
        download(job_id, tmp_path, include=[])
    assert tis_simulator.requests_to("share") == []


# -- 7. a server without a storage link ----------------------------------------------------------------


def test_a_local_workspace_download_works_without_content_length(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, local_workspace=True)
    download(job_id, tmp_path, include=["chr_*.zip"])
    assert (tmp_path / "chr_20.zip").read_bytes() == served(tis_simulator, job_id, "chr_20.zip")
    assert tis_simulator.requests_to("store") == []


def test_resuming_without_a_storage_link_is_a_counted_download(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, local_workspace=True, download_limit=4)
    tis_simulator.faults.drop_download_after(100, times=5)
    with pytest.raises(TisTransferError, match="would spend another download"):
        download(job_id, tmp_path, include=["chr_20.zip"], exclude=["*.md5"])
    assert len(shares_of(tis_simulator, job_id)) == 2  # the first hit and at most one more
    sim_file = next(f for f in tis_simulator.jobs.jobs[job_id].files if f.name == "chr_20.zip")
    assert sim_file.count == 2


def test_resuming_without_a_storage_link_never_spends_the_last_download(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, local_workspace=True, download_limit=2)
    tis_simulator.faults.drop_download_after(100, times=5)
    with pytest.raises(TisTransferError, match=r"its last download \(1 left\)"):
        download(job_id, tmp_path, include=["chr_20.zip"], exclude=["*.md5"])
    assert len(shares_of(tis_simulator, job_id)) == 1


# -- 8. bodies that end too early or never ------------------------------------------------------------


@pytest.mark.parametrize("local", [False, True], ids=["storage", "local-workspace"])
@pytest.mark.parametrize("lie", ["short_chunked", "short_length", "no_content_range", "endless"])
def test_a_body_that_breaks_its_promise_is_never_committed(tis_simulator, vcf, tmp_path, lie, local):
    job_id = finished(tis_simulator, vcf, local_workspace=local)
    tis_simulator.faults.lie_in_download(lie, 100)
    with pytest.raises(TisTransferError) as raised:
        download(job_id, tmp_path, include=["chr_20.zip"])
    assert "nothing was kept" in str(raised.value).lower()
    assert not (tmp_path / "chr_20.zip").exists() and not list(tmp_path.rglob("*.part"))


# -- 9. two writers in one folder ----------------------------------------------------------------------


def test_two_writers_of_one_file_keep_their_own_temporary_files(tmp_path):
    target = ObjectStoragePath(f"file://{tmp_path}/chr_20.zip")
    first = PartialFile(target)
    first.handle.write(b"first")
    second = PartialFile(target)  # another task, same folder, same name
    second.handle.write(b"second")
    assert first.path.exists()
    first.commit()
    second.commit()
    assert (tmp_path / "chr_20.zip").read_bytes() == b"second"


def test_temporary_files_are_removed_only_when_their_writer_is_gone(tmp_path):
    target = ObjectStoragePath(f"file://{tmp_path}/chr_20.zip")
    dead, live = PartialFile(target), PartialFile(target)
    dead.handle.close()  # its writer was killed: the system released its lock
    other = PartialFile(ObjectStoragePath(f"file://{tmp_path}/chr_20.zip.md5"))  # another file
    other.handle.close()
    PartialFile(target).discard()
    assert not dead.path.exists() and live.path.exists() and other.path.exists()
    live.commit()


def test_on_storage_without_locks_temporary_files_are_removed_once_old(memory_fs):
    target = ObjectStoragePath("memory://results/chr_20.zip")
    old, fresh = PartialFile(target), PartialFile(target)
    old.handle.close(), fresh.handle.close()
    key = lambda path: "/" + str(path).lstrip("/")  # noqa: E731
    ages = {key(old.path.path): time.time() - STALE_PART_SECONDS - 60, key(fresh.path.path): time.time() - 60}
    real_info = memory_fs.info

    def info(path, **kwargs):  # the memory store keeps no modification times; S3 does
        found = real_info(path, **kwargs)
        return {**found, "mtime": ages[key(path)]} if key(path) in ages else found

    memory_fs.info = memory_fs.stat = info
    PartialFile(target).discard()
    assert not old.path.exists() and fresh.path.exists()


def test_two_listed_files_with_one_name_are_refused_before_downloading(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, extra_output_names=("chr_20.zip",))
    with pytest.raises(
        TisResponseError, match=r"two output files that would both be written to 'chr_20\.zip'"
    ):
        download(job_id, tmp_path)
    assert tis_simulator.requests_to("share") == []


# -- 11. presigned links in tracebacks -----------------------------------------------------------------


def test_a_failed_resume_shows_no_signature(tis_simulator, vcf, tmp_path, monkeypatch, recorded_waits):
    job_id = finished(tis_simulator, vcf)
    tis_simulator.faults.drop_download_after(100)
    real_get = requests.Session.get

    def get(self, url, **kwargs):
        if "X-Amz-Signature" in url and kwargs.get("headers", {}).get("Range"):  # every resume
            raise requests.ConnectionError(f"Max retries exceeded with url: {url}")
        return real_get(self, url, **kwargs)

    monkeypatch.setattr(requests.Session, "get", get)
    with pytest.raises(TisTransferError) as raised:
        download(job_id, tmp_path, include=["chr_20.zip"], exclude=["*.md5"])
    text = "".join(traceback.format_exception(raised.value))
    assert "gave up after" in text and "X-Amz-Signature" not in text


# -- 13. names that are the folder itself, and folders in the way --------------------------------------


@pytest.mark.parametrize("name", [".", "./", "statistics/.", "statistics/"])
def test_a_name_of_a_folder_is_refused(tis_simulator, vcf, tmp_path, name):
    job_id = finished(tis_simulator, vcf, extra_output_names=(name,))
    with pytest.raises(TisResponseError, match="names a folder, not a file"):
        download(job_id, tmp_path / "out")
    assert tis_simulator.requests_to("share") == [] and not (tmp_path / "out").exists()


@pytest.mark.parametrize("in_the_way", ["qc_report.txt/", "statistics"], ids=["folder", "file"])
def test_something_in_the_way_of_a_file_fails_clearly_before_downloading(
    tis_simulator, vcf, tmp_path, in_the_way
):
    job_id = finished(tis_simulator, vcf)
    if in_the_way.endswith("/"):
        (tmp_path / in_the_way).mkdir()
    else:
        (tmp_path / in_the_way).write_text("a file where a folder must be")
    with pytest.raises(TisConfigError, match=r"is in the way at .*; nothing was downloaded\. Move it away"):
        download(job_id, tmp_path)
    assert tis_simulator.requests_to("share") == []


# -- 15. no destination --------------------------------------------------------------------------------


@pytest.mark.parametrize("destination", [None, "None", ""])
def test_a_missing_destination_is_an_error(tis_simulator, vcf, tmp_path, monkeypatch, destination):
    from airflow_provider_tis.operators import DownloadResultsOperator
    from tests.operators.conftest import make_context

    job_id = finished(tis_simulator, vcf)
    (tmp_path / "cwd").mkdir()
    monkeypatch.chdir(tmp_path / "cwd")
    operator = DownloadResultsOperator(task_id="download", job_id=job_id, destination=destination)
    with pytest.raises(TisConfigError, match=r"`destination` is .*give a local folder or a storage URL"):
        operator.execute(make_context(task_id="download"))
    assert list((tmp_path / "cwd").iterdir()) == [] and tis_simulator.requests_to("share") == []


def test_a_file_and_a_folder_at_one_path_are_refused(tis_simulator, vcf, tmp_path):
    job_id = finished(tis_simulator, vcf, extra_output_names=("statistics",))
    with pytest.raises(TisResponseError, match="would both be written to 'statistics'"):
        download(job_id, tmp_path)
    assert tis_simulator.requests_to("share") == []


# -- 18. long names ------------------------------------------------------------------------------------


@pytest.mark.parametrize("length", [241, 255])
def test_a_file_name_at_the_name_limit_can_be_downloaded(tis_simulator, vcf, tmp_path, length):
    name = "n" * (length - 4) + ".txt"
    job_id = finished(tis_simulator, vcf, extra_output_names=(name,))
    download(job_id, tmp_path, include=[name])
    assert (tmp_path / name).read_bytes() == served(tis_simulator, job_id, name)
