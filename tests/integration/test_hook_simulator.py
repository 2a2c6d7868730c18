"""TisHook against the simulator over real HTTP: every method and the error paths users meet."""

from __future__ import annotations

import pytest

from airflow_provider_tis.hooks import (
    JobState,
    RetryPolicy,
    TisAuthError,
    TisConfigError,
    TisDownloadLimitError,
    TisForbiddenError,
    TisHook,
    TisJobLimitError,
    TisMaintenanceError,
    TisNotFoundError,
)
from airflow_provider_tis.testing import write_vcf

FAST_RETRY = RetryPolicy(max_attempts=3, initial_delay=0.01, max_delay=0.05)


@pytest.fixture
def hook(tis_simulator) -> TisHook:
    return TisHook(retry_policy=FAST_RETRY)


@pytest.fixture
def vcf(tmp_path):
    return write_vcf(tmp_path / "chr20.vcf.gz", chromosomes=("20",))


PARAMS = {"refpanel": "apps@topmed-r3@1.0.0", "population": "all", "password": "Pw12345"}


def test_server_app_and_token(hook, tis_simulator):
    server = hook.get_server()
    assert (server.name, server.username, server.maintenance) == ("TOPMed Imputation Server", "alice", False)
    app = hook.get_app()
    assert app.find_refpanel("topmed-r3") == "apps@topmed-r3@1.0.0"
    assert app.refpanels["apps@topmed-r3@1.0.0"] == ("all", "off")
    assert set(app.checkboxes) == {"aesEncryption", "meta"}
    token = hook.verify_token()
    assert token.valid and token.username == "alice" and token.expire is not None
    ok, message = hook.test_connection()
    assert ok and "as alice" in message and "valid until" in message


def test_submit_wait_download_lifecycle(hook, tis_simulator, vcf):
    progress = []
    job_id = hook.submit_job([vcf], PARAMS, progress=lambda done, total: progress.append((done, total)))
    assert progress[-1][0] == progress[-1][1] > vcf.stat().st_size
    first = hook.get_job(job_id)
    assert first.state.is_active and first.application_id == "imputationserver2"
    tis_simulator.wait_for_state(job_id, 4)
    job = hook.get_job(job_id)
    assert job.state is JobState.SUCCESS and job.end_time and job.start_time
    assert job.steps[0].name == "Input Validation" and job.error_messages() == []
    zip_file = next(f for f in job.files if f.name == "chr_20.zip")
    with hook.open_download(zip_file) as download:
        data = b"".join(download.iter_chunks(1024))
    assert len(data) == download.size and data[:2] == b"PK"
    assert next(f for f in hook.get_job(job_id).files if f.name == "chr_20.zip").count == 9
    assert [j.id for j in hook.list_jobs()] == [job_id]
    shares = tis_simulator.requests_to("share") + tis_simulator.requests_to("store")
    assert shares and all(r.token_sha256 is None for r in shares)


def test_list_jobs_over_several_pages(tmp_path, vcf):
    from airflow_provider_tis.testing import TisSimulator

    with (
        TisSimulator(run_seconds=0.02, export_seconds=0.01, max_active_jobs=100) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("AIRFLOW_CONN_TIS_DEFAULT", sim.connection_json())
        hook = TisHook()
        ids = {hook.submit_job([vcf], PARAMS) for _ in range(32)}
        listed = [job.id for job in hook.list_jobs()]
        assert sorted(listed) == sorted(ids) and len(listed) == 32
        assert [r.path for r in sim.requests_to("jobs")] == ["/api/v2/jobs"] * 3


def test_cancel_and_restart(hook, tis_simulator, vcf):
    tis_simulator.config.run_seconds = 30
    job_id = hook.submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 2)
    assert hook.cancel_job(job_id).state is JobState.FAILED  # FAILED first, CANCELED after settling
    assert tis_simulator.wait_for_state(job_id, 6).state == 6
    other = hook.submit_job([vcf], PARAMS)
    tis_simulator.restart()
    assert hook.get_job(other).state is JobState.DEAD
    hook.restart_job(other)
    assert hook.get_job(other).state.is_active


def test_expired_invalid_revoked_and_foreign(hook, tis_simulator, vcf, monkeypatch):
    job_id = hook.submit_job([vcf], PARAMS)
    bob = tis_simulator.issue_token("bob")
    monkeypatch.setenv("AIRFLOW_CONN_TIS_BOB", tis_simulator.connection_json(bob))
    with pytest.raises(TisForbiddenError, match="another user"):
        TisHook("tis_bob").get_job(job_id)
    with pytest.raises(TisNotFoundError, match="not found"):
        hook.get_job("job-20000101-000000-000")
    tis_simulator.issue_token("alice")  # supersedes the connection's token
    with pytest.raises(TisForbiddenError, match="revoked or replaced"):
        TisHook().get_job(job_id)
    expired = tis_simulator.issue_token("carol", lifetime=-1)
    monkeypatch.setenv("AIRFLOW_CONN_TIS_OLD", tis_simulator.connection_json(expired))
    with pytest.raises(TisConfigError, match="expired on"):
        TisHook("tis_old").get_job(job_id)
    forged = tis_simulator.token.rsplit(".", 1)[0] + ".c2lnbmF0dXJl"
    monkeypatch.setenv("AIRFLOW_CONN_TIS_FORGED", tis_simulator.connection_json(forged))
    with pytest.raises(TisAuthError, match="invalid or has expired"):
        TisHook("tis_forged").get_job(job_id)


def test_maintenance_and_job_limit(hook, tis_simulator, vcf):
    tis_simulator.maintenance = True
    assert hook.get_server().maintenance
    with pytest.raises(TisMaintenanceError):
        hook.get_job("job-20000101-000000-000")
    with pytest.raises(TisMaintenanceError):
        hook.submit_job([vcf], PARAMS)
    tis_simulator.maintenance = False
    tis_simulator.config.run_seconds = 30
    for _ in range(3):
        hook.submit_job([vcf], PARAMS)
    with pytest.raises(TisJobLimitError, match="Only 3 jobs per user"):
        hook.submit_job([vcf], PARAMS)


def test_transient_errors_are_retried_against_the_server(hook, tis_simulator):
    tis_simulator.faults.fail("server", times=2, status=503, retry_after=0.01)
    assert hook.get_server().name
    assert [r.status for r in tis_simulator.requests_to("server")] == [503, 503, 200]


def test_download_limit_and_retired_results(tmp_path, vcf):
    from airflow_provider_tis.testing import TisSimulator

    with (
        TisSimulator(run_seconds=0.05, export_seconds=0.01, download_limit=1, retire_after=60) as sim,
        pytest.MonkeyPatch.context() as mp,
    ):
        mp.setenv("AIRFLOW_CONN_TIS_DEFAULT", sim.connection_json())
        hook = TisHook()
        job_id = hook.submit_job([vcf], PARAMS)
        sim.wait_for_state(job_id, 4)
        report = next(f for f in hook.get_job(job_id).files if f.name == "qc_report.txt")
        hook.open_download(report).close()
        with pytest.raises(TisDownloadLimitError):
            hook.open_download(report)
        sim.shift_clock(61)
        job = hook.get_job(job_id)
        assert job.state is JobState.RETIRED
        stats = next(f for f in job.files if f.name == "statistics/summary.txt")
        with pytest.raises(TisNotFoundError, match="retired"):
            hook.open_download(stats)


def test_resume_on_an_expired_link_raises_link_expired(hook, tis_simulator, vcf):
    from airflow_provider_tis.hooks import TisDownloadLinkExpiredError

    job_id = hook.submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 4)
    report = next(f for f in hook.get_job(job_id).files if f.name == "qc_report.txt")
    with hook.open_download(report) as first:
        link, whole = first.url, b"".join(first.iter_chunks())
    with hook.resume_download(link, 10, report.name) as rest:
        assert rest.offset == 10 and b"".join(rest.iter_chunks()) == whole[10:]
    tis_simulator.shift_clock(tis_simulator.config.url_ttl + 1)
    with pytest.raises(TisDownloadLinkExpiredError):
        hook.resume_download(link, 10, report.name)
    assert len(tis_simulator.requests_to("share")) == 1
