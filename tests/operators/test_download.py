"""DownloadResultsOperator against the simulator: layout, skipping, atomicity, hostile names, retired jobs."""

from __future__ import annotations

import os
import stat

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.hooks import TisConfigError, TisDownloadLimitError, TisHook
from airflow_provider_tis.hooks.outcome import TisJobFailedError
from airflow_provider_tis.operators.transfer import TisTransferError, safe_relative_name
from airflow_provider_tis.version_compat import ObjectStoragePath
from tests.conftest import JOB_PARAMS
from tests.operators.conftest import download

ALL_FILES = [
    "chr_20.zip",
    "qc_report.txt",
    "quality-control.html",
    "statistics/summary.txt",
    "statistics/snps-excluded.txt",
    "statistics/chunks-excluded.txt",
]


def test_downloads_every_file_keeping_subfolders(tis_simulator, finished_job, tmp_path):
    written = download(finished_job, tmp_path / "out")
    assert written == [f"file://{tmp_path}/out/{name}" for name in ALL_FILES]
    for name in ALL_FILES:
        served = tis_simulator.jobs.jobs[finished_job].files[ALL_FILES.index(name)].path.read_bytes()
        assert (tmp_path / "out" / name).read_bytes() == served
    assert len(tis_simulator.requests_to("share")) == len(ALL_FILES)
    assert not list((tmp_path / "out").rglob("*.part"))


def test_keep_archives_matters_only_when_extracting(tis_simulator, finished_job, tmp_path):
    written = download(finished_job, tmp_path, include=["chr_*.zip"], keep_archives=False)
    assert written == [f"file://{tmp_path}/chr_20.zip"] and (tmp_path / "chr_20.zip").exists()


def test_include_and_exclude(tis_simulator, finished_job, tmp_path):
    written = download(finished_job, tmp_path, include=["chr_*.zip", "statistics/*"], exclude=["*chunks*"])
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr_20.zip", "summary.txt", "snps-excluded.txt"]


def test_a_retry_spends_no_downloads_on_complete_files(tis_simulator, finished_job, tmp_path):
    download(finished_job, tmp_path)
    (tmp_path / "qc_report.txt").unlink()
    written = download(finished_job, tmp_path)
    assert len(written) == len(ALL_FILES)
    shares = tis_simulator.requests_to("share")
    assert len(shares) == len(ALL_FILES) + 1  # only the missing file was fetched again
    download(finished_job, tmp_path, overwrite=True)
    assert len(tis_simulator.requests_to("share")) == 2 * len(ALL_FILES) + 1


def test_a_file_of_the_wrong_size_is_downloaded_again(tis_simulator, finished_job, tmp_path):
    download(finished_job, tmp_path, include=["chr_20.zip"])
    good = (tmp_path / "chr_20.zip").read_bytes()
    (tmp_path / "chr_20.zip").write_bytes(b"truncated")
    download(finished_job, tmp_path, include=["chr_20.zip"])
    assert (tmp_path / "chr_20.zip").read_bytes() == good


def test_a_retry_never_spends_the_last_download(tis_simulator, vcf, tmp_path):
    tis_simulator.config.download_limit = 2
    job_id = TisHook().submit_job([vcf], JOB_PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    tis_simulator.faults.drop_download_after(100)
    tis_simulator.faults.fail("store", status=403, after=1)
    with pytest.raises(TisTransferError, match=r"would spend its last download \(1 left\)"):
        download(job_id, tmp_path / "out", include=["chr_20.zip"])
    assert len(tis_simulator.requests_to("share")) == 1
    assert list((tmp_path / "out").iterdir()) == []  # neither chr_20.zip nor a partial file


def test_low_download_counts_are_warned_about(tis_simulator, vcf, tmp_path, logs):
    tis_simulator.config.download_limit = 3
    job_id = TisHook().submit_job([vcf], JOB_PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    download(job_id, tmp_path, include=["qc_report.txt"])
    assert any("qc_report.txt has only 3 downloads left" in line for line in logs())


def test_md5_sidecars_are_checked(tis_simulator, vcf, tmp_path, logs):
    tis_simulator.config.md5 = True
    job_id = TisHook().submit_job([vcf], JOB_PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    written = download(job_id, tmp_path / "good", include=["chr_20.zip"])  # the sidecar comes along
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr_20.zip", "chr_20.zip.md5"]
    assert any("Downloaded chr_20.zip" in line and "MD5 verified" in line for line in logs())
    sidecar = next(f for f in tis_simulator.jobs.jobs[job_id].files if f.name == "chr_20.zip.md5")
    real = sidecar.path.read_text().split()[0]
    sidecar.path.write_text("0" * 32 + "  chr_20.zip\n")
    with pytest.raises(TisTransferError) as err:
        download(job_id, tmp_path / "bad", include=["chr_20.zip"])
    assert real in str(err.value) and "0" * 32 in str(err.value)
    # no zip, no partial: only the sidecar and its manifest entry
    assert sorted(p.name for p in (tmp_path / "bad").iterdir()) == [MANIFEST_FOLDER, "chr_20.zip.md5"]


def test_downloads_run_in_parallel_up_to_max_parallel(tis_simulator, finished_job, tmp_path):
    tis_simulator.faults.slow("store", 0.3)
    download(finished_job, tmp_path / "a", max_parallel=4)
    assert 2 <= tis_simulator.store_gauge.peak <= 4
    tis_simulator.store_gauge.peak = 0
    download(finished_job, tmp_path / "b", max_parallel=1)
    assert tis_simulator.store_gauge.peak == 1


def test_each_file_gets_a_progress_line(tis_simulator, finished_job, tmp_path, logs):
    download(finished_job, tmp_path)
    for name in ALL_FILES:
        assert any(f"{name}: 100%" in line and "MB/s" in line for line in logs())


def test_local_files_are_private(tis_simulator, finished_job, tmp_path):
    old = os.umask(0o022)
    try:
        download(finished_job, tmp_path / "out")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "out" / "chr_20.zip").stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "out" / "statistics").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "out").stat().st_mode) == 0o700


@pytest.mark.parametrize("aes", [False, True])
def test_extraction_checks_and_unpacks_the_zips(tis_simulator, vcf, tmp_path, aes):
    job_id = TisHook().submit_job([vcf], {**JOB_PARAMS, **({"aesEncryption": "true"} if aes else {})})
    tis_simulator.wait_for_state(job_id, 4, 5)
    written = download(job_id, tmp_path, include=["chr_*.zip"], extract=True, password="Pw12345")
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr_20.zip", "chr20.dose.vcf.gz", "chr20.info"]
    assert (tmp_path / "chr20.dose.vcf.gz").read_bytes()[:4] == b"\x1f\x8b\x08\x04"
    assert stat.S_IMODE((tmp_path / "chr20.info").stat().st_mode) == 0o600


def test_extraction_without_keeping_archives_survives_a_retry(tis_simulator, finished_job, tmp_path):
    kwargs = {"include": ["chr_*.zip"], "extract": True, "password": "Pw12345", "keep_archives": False}
    written = download(finished_job, tmp_path, **kwargs)
    assert [w.rsplit("/", 1)[-1] for w in written] == ["chr20.dose.vcf.gz", "chr20.info"]
    assert not (tmp_path / "chr_20.zip").exists()
    download(finished_job, tmp_path, **kwargs)
    assert len(tis_simulator.requests_to("share")) == 1  # the retry did not fetch the zip again


def test_extraction_with_a_wrong_password_or_a_damaged_zip(tis_simulator, finished_job, tmp_path):
    with pytest.raises(TisConfigError, match="Check the password"):
        download(finished_job, tmp_path / "a", include=["chr_*.zip"], extract=True, password="wrong")
    with pytest.raises(TisConfigError, match="needs the zip password"):
        download(finished_job, tmp_path / "b", extract=True)
    served = tis_simulator.jobs.jobs[finished_job].files[0].path
    data = bytearray(served.read_bytes())
    data[200] ^= 0xFF  # flipped bits inside the encrypted, compressed data
    served.write_bytes(bytes(data))
    with pytest.raises((TisTransferError, TisConfigError)):  # damaged (CRC or inflate error) or wrong key
        download(finished_job, tmp_path / "c", include=["chr_*.zip"], extract=True, password="Pw12345")
    assert not (tmp_path / "c" / "chr20.dose.vcf.gz").exists()


def test_memory_destination(tis_simulator, finished_job, memory_fs):
    written = download(finished_job, "memory://results/run-1", include=["statistics/*"])
    names = ("summary.txt", "snps-excluded.txt", "chunks-excluded.txt")
    # str() of a memory:// path has two slashes on Airflow 3 and three on 2.10
    assert written == [str(ObjectStoragePath(f"memory://results/run-1/statistics/{n}")) for n in names]
    assert memory_fs.cat("/results/run-1/statistics/summary.txt").startswith(b"Statistics")
    assert not [p for p in memory_fs.find("/results") if p.endswith(".part")]


def test_safe_names_pass_through():
    assert safe_relative_name("statistics/summary.txt") == "statistics/summary.txt"
    assert safe_relative_name("./chr_1.zip") == "chr_1.zip"
    assert safe_relative_name("a..b.txt") == "a..b.txt"


def test_retired_job_fails_before_spending_downloads(tis_simulator, vcf, tmp_path):
    tis_simulator.config.retire_after = 100
    job_id = TisHook().submit_job([vcf], JOB_PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    tis_simulator.shift_clock(101)
    with pytest.raises(TisJobFailedError, match=r"RETIRED \(7\)\. Its results were retired on 20\d\d-"):
        download(job_id, tmp_path)
    assert tis_simulator.requests_to("share") == []


def test_running_job_and_exhausted_file(tis_simulator, vcf, tmp_path):
    tis_simulator.config.run_seconds = 30
    running = TisHook().submit_job([vcf], JOB_PARAMS)
    with pytest.raises(TisJobFailedError, match="wait for it with JobStateSensor"):
        download(running, tmp_path)
    tis_simulator.config.run_seconds, tis_simulator.config.download_limit = 0.1, 0
    done = TisHook().submit_job([vcf], {**JOB_PARAMS, "job-name": "other"})
    tis_simulator.wait_for_state(done, 4, 5)
    with pytest.raises(TisDownloadLimitError, match="no downloads left"):
        download(done, tmp_path)
    assert tis_simulator.requests_to("share") == []
