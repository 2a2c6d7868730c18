"""CgiHook (and its async client) against the CGI simulator over real HTTP: every call, and the error
paths users meet: a wrong token, another account's job, the job quota, an Error job, Range downloads."""

from __future__ import annotations

import io
import json
import zipfile

import pytest

from airflow_provider_tis.core.download import fetch
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.hooks.cgi_models import (
    CgiApiError,
    CgiAuthError,
    CgiNotFoundError,
    CgiQuotaError,
    CgiStatus,
)
from airflow_provider_tis.testing import write_cnas, write_mutations, write_translocations
from airflow_provider_tis.version_compat import ObjectStoragePath

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def hook(cgi_simulator) -> CgiHook:
    return CgiHook(retry_policy=FAST_RETRY)


@pytest.fixture
def mutations(tmp_path):
    return write_mutations(tmp_path / "in" / "variants.tsv")


@pytest.fixture
def done_job(hook, cgi_simulator, mutations) -> str:
    job_id = hook.submit_job({"mutations": mutations}, cancer_type="CANCER", title="done")
    cgi_simulator.shift_clock(60)
    cgi_simulator.wait_for_status(job_id, "Done", timeout=5)
    return job_id


def read_all(hook: CgiHook, job_id: str, start: int = 0) -> tuple[int, bytes]:
    with hook.open_download(job_id, start=start) as download:
        return download.offset, b"".join(download.iter_chunks(4096))


def test_test_connection_and_an_empty_account(hook, cgi_simulator):
    assert hook.list_jobs() == []
    ok, message = hook.test_connection()
    assert ok and cgi_simulator.email in message and "0 jobs" in message


def test_submit_status_logs_download_delete(hook, cgi_simulator, mutations):
    progress = []
    job_id = hook.submit_job(
        {"mutations": mutations},
        cancer_type="LUAD",
        title="dag/run-1/submit",
        reference="hg38",
        progress=lambda sent, total: progress.append((sent, total)),
    )
    assert progress[-1][0] == progress[-1][1] > mutations.stat().st_size
    (submitted,) = cgi_simulator.requests_to("submit")
    assert submitted.fields == {"cancer_type": "LUAD", "title": "dag/run-1/submit", "reference": "hg38"}
    assert submitted.files == ("mutations",)

    first = hook.get_job(job_id)
    assert (first.id, first.status, first.title) == (job_id, CgiStatus.RUNNING, "dag/run-1/submit")
    assert (first.cancer_type, first.reference) == ("LUAD", "hg38") and first.date
    assert hook.get_logs(job_id)[0] == "# cgi analyze input.tsv -c LUAD -g hg38"

    cgi_simulator.wait_for_status(job_id, "Done", timeout=5)
    assert hook.get_job(job_id).status is CgiStatus.DONE
    log = hook.get_logs(job_id)
    assert log[-1].endswith("Analysis done") and not any(line.endswith("\n") for line in log)

    offset, body = read_all(hook, job_id)
    assert offset == 0
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert set(archive.namelist()) == {"alterations.tsv", "biomarkers.tsv", "input01.tsv", "summary.txt"}
        assert "Title: dag/run-1/submit" in archive.read("summary.txt").decode()

    assert hook.list_jobs() == [job_id]
    hook.delete_job(job_id)
    assert hook.list_jobs() == [] and job_id not in cgi_simulator.jobs.jobs
    with pytest.raises(CgiNotFoundError, match="No such job"):
        hook.get_job(job_id)
    # every call carried the account's credentials, and only those
    assert all(r.auth_ok for r in cgi_simulator.requests)
    assert len(cgi_simulator.token_seen(cgi_simulator.token)) == len(cgi_simulator.requests)


def test_cnas_and_translocations_in_one_job(hook, cgi_simulator, tmp_path):
    cnas = write_cnas(tmp_path / "cnas.tsv")
    fusions = write_translocations(tmp_path / "fus.tsv")
    job_id = hook.submit_job({"cnas": cnas, "translocations": fusions}, cancer_type="CANCER")
    assert cgi_simulator.requests_to("submit")[0].files == ("cnas", "translocations")
    cgi_simulator.shift_clock(60)
    _, body = read_all(hook, job_id)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert {"cna_analysis.tsv", "fusion_analysis.tsv"} <= set(archive.namelist())


def test_list_holds_every_job_in_no_submission_order(hook, cgi_simulator, mutations):
    ids = [hook.submit_job({"mutations": mutations}, cancer_type="CANCER", title=f"t{i}") for i in range(4)]
    assert sorted(hook.list_jobs()) == sorted(ids) and len(set(ids)) == 4


def test_a_bad_input_gives_an_error_job_with_the_reason_in_its_logs(hook, cgi_simulator, tmp_path):
    bad = write_mutations(tmp_path / "bad.tsv", [("chr7", "not-a-number", "A", "T")])
    job_id = hook.submit_job({"mutations": bad}, cancer_type="CANCER")
    cgi_simulator.wait_for_status(job_id, "Error", timeout=5)
    job = hook.get_job(job_id)
    assert job.status is CgiStatus.ERROR and job.status.is_terminal and not job.status.is_success
    log = hook.get_logs(job_id)
    assert any("is not a number" in line for line in log) and log[-1].endswith("Analysis failed")
    with pytest.raises(CgiApiError, match="results exist only once it is Done") as err:
        hook.open_download(job_id)
    assert err.value.status == 400


@pytest.mark.cgi_simulator(reject_unknown_cancer_type=True)
def test_an_unknown_cancer_type_refused_at_submission(hook, cgi_simulator, mutations):
    with pytest.raises(CgiApiError, match="Unknown cancer type 'NOPE'") as err:
        hook.submit_job({"mutations": mutations}, cancer_type="NOPE")
    assert err.value.status == 400 and cgi_simulator.jobs.jobs == {}


def test_an_unknown_reference_refused_by_the_server(hook, cgi_simulator, mutations):
    with pytest.raises(CgiApiError, match="Unknown reference 'hg37'"):
        hook.submit_job({"mutations": mutations}, cancer_type="CANCER", reference="hg37")
    assert cgi_simulator.jobs.jobs == {}


@pytest.mark.cgi_simulator(max_jobs=1)
def test_the_job_quota_is_a_quota_error_and_deleting_frees_it(hook, cgi_simulator, mutations):
    first = hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    with pytest.raises(CgiQuotaError, match="delete finished jobs") as err:
        hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert err.value.status == 400 and "limit of 1 jobs" in str(err.value)
    assert len(cgi_simulator.requests_to("submit")) == 2  # refused, not retried
    hook.delete_job(first)
    assert hook.submit_job({"mutations": mutations}, cancer_type="CANCER") != first


def test_download_before_done_is_refused(hook, cgi_simulator, mutations):
    cgi_simulator.config.run_seconds = 60
    job_id = hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    with pytest.raises(CgiApiError, match="is Running") as err:
        hook.open_download(job_id)
    assert type(err.value) is CgiApiError and err.value.status == 400


def test_a_wrong_token_is_an_auth_error_sent_once(cgi_simulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", cgi_simulator.connection_json(token="f" * 20))
    with pytest.raises(CgiAuthError, match="email and token were refused") as err:
        CgiHook(retry_policy=FAST_RETRY).list_jobs()
    assert "f" * 20 not in str(err.value)
    assert [(r.status, r.auth_ok) for r in cgi_simulator.requests] == [(401, False)]


def test_a_rotated_token_is_refused(hook, cgi_simulator):
    hook.list_jobs()
    cgi_simulator.rotate_token()
    with pytest.raises(CgiAuthError):
        CgiHook(retry_policy=FAST_RETRY).list_jobs()  # the connection still holds the old token


def test_another_accounts_job_is_not_found(hook, cgi_simulator, done_job, monkeypatch):
    bob = cgi_simulator.add_user("bob@example.org")
    monkeypatch.setenv(
        "AIRFLOW_CONN_CGI_DEFAULT",
        json.dumps(
            {"conn_type": "cgi", "host": cgi_simulator.url, "login": "bob@example.org", "password": bob}
        ),
    )
    other = CgiHook(retry_policy=FAST_RETRY)
    assert other.list_jobs() == []
    for call in (other.get_job, other.get_logs, other.open_download, other.delete_job):
        with pytest.raises(CgiNotFoundError):
            call(done_job)
    assert done_job in cgi_simulator.jobs.jobs  # bob's delete did not touch alice's job


def test_host_with_api_v1_reaches_the_same_server(cgi_simulator, monkeypatch):
    connection = json.loads(cgi_simulator.connection_json())
    monkeypatch.setenv(
        "AIRFLOW_CONN_CGI_DEFAULT", json.dumps({**connection, "host": f"{cgi_simulator.url}/api/v1/"})
    )
    assert CgiHook().list_jobs() == []
    assert [r.path for r in cgi_simulator.requests_to("list")] == ["/api/v1"]


# -- downloads and Range ---------------------------------------------------------------------------


@pytest.mark.cgi_simulator(download_ranges=True)
def test_download_ranges_on_resume_from_an_offset(hook, cgi_simulator, done_job):
    _, whole = read_all(hook, done_job)
    offset, tail = read_all(hook, done_job, start=10)
    assert offset == 10 and tail == whole[10:]
    assert [r.range for r in cgi_simulator.requests_to("download")] == [None, "bytes=10-"]
    assert [r.status for r in cgi_simulator.requests_to("download")] == [200, 206]
    with hook.open_download(done_job, start=10) as download:
        assert download.total_size == len(whole) and download.size == len(whole) - 10


@pytest.mark.cgi_simulator(download_ranges=False)
def test_download_ranges_off_send_the_whole_zip_from_zero(hook, cgi_simulator, done_job):
    _, whole = read_all(hook, done_job)
    offset, body = read_all(hook, done_job, start=10)
    assert offset == 0 and body == whole  # the caller must start over, not append
    assert [r.status for r in cgi_simulator.requests_to("download")] == [200, 200]
    assert cgi_simulator.requests_to("download")[1].range == "bytes=10-"


@pytest.mark.parametrize("ranges", [True, False])
def test_fetch_writes_the_results_zip_through_the_transfer_engine(
    cgi_simulator, hook, done_job, tmp_path, ranges
):
    cgi_simulator.config.download_ranges = ranges
    target = ObjectStoragePath(f"file://{tmp_path}/out/cgi_{done_job}.zip")
    fetched = fetch(hook.download_source(done_job), target, hook.log, checksum="md5")
    fetched.partial.commit()
    data = (tmp_path / "out" / f"cgi_{done_job}.zip").read_bytes()
    assert fetched.size == len(data) and zipfile.is_zipfile(io.BytesIO(data))
    assert cgi_simulator.job(done_job).zip_path.read_bytes() == data
    assert [p.name for p in (tmp_path / "out").iterdir()] == [f"cgi_{done_job}.zip"]


# -- the async client (triggers) ------------------------------------------------------------------


async def test_async_client_reads_status_logs_and_deletes(cgi_simulator, done_job):
    hook = CgiHook(retry_policy=FAST_RETRY)
    async with await hook.async_client() as client:
        job = await client.get_job(done_job)
        assert (job.id, job.status, job.title) == (done_job, CgiStatus.DONE, "done")
        log = await client.get_logs(done_job)
        assert log[-1].endswith("Analysis done") and not log[-1].endswith("\n")
        await client.delete_job(done_job)
        with pytest.raises(CgiNotFoundError):
            await client.get_job(done_job)
    assert [r.method for r in cgi_simulator.requests_to("delete")] == ["DELETE"]
    assert all(r.auth_ok for r in cgi_simulator.requests)


async def test_async_client_retries_temporary_errors(cgi_simulator, done_job):
    cgi_simulator.faults.fail("status", times=2, status=503)
    cgi_simulator.faults.fail("logs", times=1, status=502)
    hook = CgiHook(retry_policy=FAST_RETRY)
    async with await hook.async_client() as client:
        assert (await client.get_job(done_job)).status is CgiStatus.DONE
        assert await client.get_logs(done_job)
    assert [r.status for r in cgi_simulator.requests_to("status")] == [503, 503, 200]
    assert [r.status for r in cgi_simulator.requests_to("logs")] == [502, 200]


async def test_async_client_maps_a_wrong_token(cgi_simulator, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", cgi_simulator.connection_json(token="e" * 20))
    hook = CgiHook(retry_policy=FAST_RETRY)
    async with await hook.async_client() as client:
        with pytest.raises(CgiAuthError):
            await client.get_job("c22ecf2af788d65ec257")
    assert [r.status for r in cgi_simulator.requests] == [401]
