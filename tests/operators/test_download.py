"""DownloadResultsOperator against the simulator: layout, skipping, atomicity, hostile names, retired jobs."""

from __future__ import annotations

import pytest

from airflow_provider_tis.hooks import TisConfigError, TisConnectionError, TisDownloadLimitError, TisHook
from airflow_provider_tis.hooks.errors import TisResponseError
from airflow_provider_tis.hooks.outcome import TisJobFailedError
from airflow_provider_tis.operators import DownloadResultsOperator
from airflow_provider_tis.operators.transfer import safe_relative_name
from tests.operators.conftest import make_context

PARAMS = {"refpanel": "topmed-r3", "population": "all", "password": "Pw12345"}
ALL_FILES = [
    "chr_20.zip",
    "qc_report.txt",
    "quality-control.html",
    "statistics/summary.txt",
    "statistics/snps-excluded.txt",
    "statistics/chunks-excluded.txt",
]


@pytest.fixture
def finished_job(tis_simulator, vcf) -> str:
    job_id = TisHook().submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    return job_id


def download(job_id, destination, **kwargs):
    return DownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(destination), **kwargs
    ).execute(make_context(task_id="download"))


def test_downloads_every_file_keeping_subfolders(tis_simulator, finished_job, tmp_path):
    written = download(finished_job, tmp_path / "out")
    assert written == [f"file://{tmp_path}/out/{name}" for name in ALL_FILES]
    for name in ALL_FILES:
        served = tis_simulator.jobs.jobs[finished_job].files[ALL_FILES.index(name)].path.read_bytes()
        assert (tmp_path / "out" / name).read_bytes() == served
    assert len(tis_simulator.requests_to("share")) == len(ALL_FILES)
    assert not list((tmp_path / "out").rglob("*.part"))


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


def test_a_broken_transfer_leaves_no_file_under_its_final_name(tis_simulator, finished_job, tmp_path):
    tis_simulator.faults.drop_download_after(100)
    with pytest.raises(TisConnectionError, match="broke after 100 bytes"):
        download(finished_job, tmp_path / "out", include=["chr_20.zip"])
    assert list((tmp_path / "out").iterdir()) == []  # neither chr_20.zip nor a partial file


def test_memory_destination(tis_simulator, finished_job, memory_fs):
    written = download(finished_job, "memory://results/run-1", include=["statistics/*"])
    assert written == [
        "memory://results/run-1/statistics/summary.txt",
        "memory://results/run-1/statistics/snps-excluded.txt",
        "memory://results/run-1/statistics/chunks-excluded.txt",
    ]
    assert memory_fs.cat("/results/run-1/statistics/summary.txt").startswith(b"Statistics")
    assert not [p for p in memory_fs.find("/results") if p.endswith(".part")]


@pytest.mark.parametrize(
    "name", ["../escape.txt", "/etc/passwd", "stats\\..\\x.txt", "a/../../b", "nul\x00.txt", "C:/x"]
)
def test_hostile_names_are_refused_before_any_download(tis_simulator, vcf, tmp_path, name):
    tis_simulator.config.extra_output_names = (name,)
    job_id = TisHook().submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    with pytest.raises(TisResponseError, match="outside the destination folder"):
        download(job_id, tmp_path / "out")
    assert tis_simulator.requests_to("share") == []
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "out").exists()


def test_safe_names_pass_through():
    assert safe_relative_name("statistics/summary.txt") == "statistics/summary.txt"
    assert safe_relative_name("./chr_1.zip") == "chr_1.zip"
    assert safe_relative_name("a..b.txt") == "a..b.txt"


def test_retired_job_fails_before_spending_downloads(tis_simulator, vcf, tmp_path):
    tis_simulator.config.retire_after = 100
    job_id = TisHook().submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 4, 5)
    tis_simulator.shift_clock(101)
    with pytest.raises(TisJobFailedError, match=r"RETIRED \(7\)\. Its results were retired on 20\d\d-"):
        download(job_id, tmp_path)
    assert tis_simulator.requests_to("share") == []


def test_running_job_and_exhausted_file(tis_simulator, vcf, tmp_path):
    tis_simulator.config.run_seconds = 30
    running = TisHook().submit_job([vcf], PARAMS)
    with pytest.raises(TisJobFailedError, match="wait for it with JobStateSensor"):
        download(running, tmp_path)
    tis_simulator.config.run_seconds, tis_simulator.config.download_limit = 0.1, 0
    done = TisHook().submit_job([vcf], {**PARAMS, "job-name": "other"})
    tis_simulator.wait_for_state(done, 4, 5)
    with pytest.raises(TisDownloadLimitError, match="no downloads left"):
        download(done, tmp_path)
    assert tis_simulator.requests_to("share") == []


@pytest.mark.parametrize(
    ("destination", "words"),
    [("unknownscheme://bucket/x", "Cannot use destination"), ("", "`destination` is empty")],
)
def test_bad_destinations(tis_simulator, finished_job, destination, words):
    with pytest.raises(TisConfigError, match=words):
        download(finished_job, destination)
    assert tis_simulator.requests_to("share") == []


def test_destination_that_is_a_file(tis_simulator, finished_job, tmp_path):
    (tmp_path / "file").write_text("x")
    with pytest.raises(TisConfigError, match="is not a folder"):
        download(finished_job, tmp_path / "file")
