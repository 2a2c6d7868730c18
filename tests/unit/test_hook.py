"""TisHook against requests-mock: every method, status mapping, retry policy and secret hygiene."""

from __future__ import annotations

import io
import os

import pytest
import requests
import requests_mock

from airflow_provider_tis.hooks import (
    JobState,
    RetryPolicy,
    TisApiError,
    TisAuthError,
    TisConfigError,
    TisConnectionError,
    TisDownloadLimitError,
    TisDownloadLinkExpiredError,
    TisForbiddenError,
    TisHook,
    TisJobLimitError,
    TisMaintenanceError,
    TisNotFoundError,
    TisResponseError,
)
from airflow_provider_tis.hooks.models import OutputFile
from airflow_provider_tis.hooks.streams import MultipartBody
from tests.conftest import make_token

BASE = "https://tis.example.org"
API = f"{BASE}/api/v2"
JOB_ID = "job-20251016-224029-866"


@pytest.fixture
def token(set_connection) -> str:
    value = make_token()
    set_connection(host=f"{BASE}/api/v2/", password=value)
    return value


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def hook(token, sleeps) -> TisHook:
    return TisHook(
        retry_policy=RetryPolicy(max_attempts=4, initial_delay=1, max_delay=30, sleep=sleeps.append)
    )


def job_json(**overrides):
    data = {
        "id": JOB_ID,
        "name": "my-job",
        "state": 4,
        "application": "Genotype Imputation 2.0.13-statgen.1",
        "applicationId": "imputationserver2",
        "deletedOn": -1,
        "endTime": 1760626200000,
        "startTime": 0,
        "submittedOn": 1760624780293,
        "positionInQueue": -1,
        "username": "alice",
        "futureField": {"anything": 1},
        "steps": [
            {
                "name": "Input Validation",
                "logMessages": [
                    {"message": "1 valid VCF file(s) found.", "type": 0, "time": 1760626138198},
                    {"message": "Strand flips detected.", "type": 1, "time": 1760626138199},
                ],
            }
        ],
        "outputParams": [
            {
                "name": "output",
                "download": True,
                "files": [
                    {"name": "chr_20.zip", "hash": "a" * 64, "count": 10, "size": "314 MB"},
                    {"name": "statistics/summary.txt", "hash": "b" * 64, "count": 9, "size": "760 bytes"},
                ],
            }
        ],
    }
    data.update(overrides)
    return data


# -- methods -----------------------------------------------------------------------------------


def test_requests_carry_token_and_user_agent(hook, token):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/server", json={"name": "TOPMed Imputation Server", "user": {"username": "alice"}})
        hook.get_server()
    sent = mock.request_history[0]
    assert sent.headers["X-Auth-Token"] == token
    assert sent.headers["User-Agent"].startswith("airflow-provider-tis/")


@pytest.mark.parametrize(
    ("body", "maintenance", "message"),
    [
        ({"name": "TIS", "maintenance": True, "maintenanceMessage": "Back at 5"}, True, "Back at 5"),
        ({"name": "MIS", "maintenace": True, "maintenaceMessage": "upstream typo"}, True, "upstream typo"),
        ({"name": "MIS", "user": {"name": "bob"}}, False, ""),
    ],
)
def test_get_server_reads_both_spellings_of_maintenance(hook, body, maintenance, message):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/server", json={**body, "apps": [{"id": "imputationserver2"}]})
        server = hook.get_server()
    assert (server.maintenance, server.maintenance_message, server.apps) == (
        maintenance,
        message,
        ("imputationserver2",),
    )


APP_JSON = {
    "id": "imputationserver2",
    "name": "Genotype Imputation",
    "version": "2.0.13",
    "params": [
        {"id": "files", "type": "local_folder"},
        {
            "id": "refpanel",
            "type": "app_list",
            "values": [{"key": "apps@topmed-r3@1.0.0", "value": "TOPMed r3"}],
        },
        {
            "id": "population",
            "type": "binded_list",
            "bind": "refpanel",
            "values": [
                {
                    "key": "apps@topmed-r3@1.0.0",
                    "label": "TOPMed r3",
                    "values": [{"key": "all", "value": "All"}, {"key": "off", "value": "Off"}],
                }
            ],
        },
        {
            "id": "build",
            "type": "list",
            "values": [{"key": "hg19", "value": "GRCh37"}, {"key": "hg38", "value": "GRCh38"}],
        },
        {
            "id": "phasing",
            "type": "list",
            "values": [{"key": "eagle", "value": "Eagle"}, {"key": "no_phasing", "value": "No"}],
        },
        {"id": "aesEncryption", "type": "checkbox", "values": [{"key": "true", "value": "yes"}]},
        {"id": "password", "type": "text"},
    ],
}


def test_get_app_lists_panels_populations_and_checkboxes(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/server/apps/imputationserver2", json=APP_JSON)
        app = hook.get_app()
    assert app.refpanels == {"apps@topmed-r3@1.0.0": ("all", "off")}
    assert app.options["build"] == ("hg19", "hg38")
    assert app.checkboxes == ("aesEncryption",)
    assert "password" in app.params
    for value in ("topmed-r3", "apps@topmed-r3", "apps@topmed-r3@1.0.0"):
        assert app.find_refpanel(value) == "apps@topmed-r3@1.0.0"
    assert app.find_refpanel("hapmap-2") is None


def test_verify_token_posts_the_token_as_form_field(hook, token):
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{API}/tokens/verify",
            json={"valid": True, "message": "ok", "username": "alice", "expire": "2026-12-01T10:00:00Z"},
        )
        info = hook.verify_token()
    assert info.valid and info.username == "alice" and info.expire.year == 2026
    assert mock.request_history[0].text == f"token={token}"


def test_list_jobs_walks_every_page_and_skips_shifted_duplicates(hook):
    pages = {
        1: [job_json(id=f"job-{i}") for i in range(15)],
        2: [job_json(id="job-14")] + [job_json(id=f"job-{i}") for i in range(15, 29)],
        3: [job_json(id="job-29")],
    }
    with requests_mock.Mocker() as mock:
        for page, data in pages.items():
            mock.get(
                f"{API}/jobs?page={page}", json={"count": 31, "page": page, "pageSize": 15, "data": data}
            )
        ids = [job.id for job in hook.list_jobs()]
    assert ids == [f"job-{i}" for i in range(30)]
    assert [r.qs["page"] for r in mock.request_history] == [["1"], ["2"], ["3"]]


def test_list_jobs_of_a_user_without_jobs(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs", json={"count": 0, "page": 0, "pageSize": 15, "pages": [], "data": []})
        assert list(hook.list_jobs()) == []


def test_get_job_parses_job_info_tolerantly(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", json=job_json())
        job = hook.get_job(JOB_ID)
    assert job.state is JobState.SUCCESS and job.state.is_terminal and job.state.is_success
    assert job.start_time is None and job.deleted_on is None
    assert job.end_time is not None and job.end_time.year == 2025
    assert [(f.name, f.size, f.count) for f in job.files] == [
        ("chr_20.zip", 314 * 1024**2, 10),
        ("statistics/summary.txt", 760, 9),
    ]
    assert job.error_messages() == ["Strand flips detected."]


def test_get_job_with_missing_fields(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", json={"id": JOB_ID, "state": 1})
        job = hook.get_job(JOB_ID)
    assert (job.name, job.steps, job.files, job.submitted_on) == (JOB_ID, (), (), None)
    assert job.state.is_active and not job.state.is_terminal


def test_unknown_state_is_an_error_not_a_guess(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", json=job_json(state=42))
        with pytest.raises(TisResponseError, match=r"state 42 .* Upgrade"):
            hook.get_job(JOB_ID)


@pytest.mark.parametrize("job_id", ["", "../server", "job/1", None, "job-1?x=1"])
def test_malformed_job_ids_are_refused_before_any_request(hook, job_id):
    with requests_mock.Mocker() as mock, pytest.raises(TisConfigError, match="is not a TIS job id"):
        hook.get_job(job_id)
    assert mock.call_count == 0


def test_cancel_and_restart(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}/cancel", json=job_json(state=6))
        mock.get(f"{API}/jobs/{JOB_ID}/restart", json={"success": True, "message": "added"})
        assert hook.cancel_job(JOB_ID).state is JobState.CANCELED
        hook.restart_job(JOB_ID)
    assert [r.path for r in mock.request_history] == [
        f"/api/v2/jobs/{JOB_ID}/cancel",
        f"/api/v2/jobs/{JOB_ID}/restart",
    ]


def test_submit_streams_one_files_part_per_file_and_drops_off_checkboxes(hook, tmp_path):
    paths = []
    for name in ("chr20.vcf.gz", "chr21.vcf.gz"):
        paths.append(tmp_path / name)
        paths[-1].write_bytes(b"\x1f\x8b" + name.encode())
    seen = []
    with requests_mock.Mocker() as mock:

        def answer(request, context):
            assert isinstance(request.body, MultipartBody)  # streamed, not read into memory
            assert request.headers["Content-Length"] == str(len(request.body))
            seen.append(b"".join(request.body))
            return {
                "success": True,
                "message": "Your job was successfully added to the job queue.",
                "id": JOB_ID,
            }

        mock.post(f"{API}/jobs/submit/imputationserver2", json=answer)
        progress = []
        job_id = hook.submit_job(
            [paths[0], str(paths[1])],
            {
                "refpanel": "apps@topmed-r3",
                "population": "all",
                "r2Filter": 0,
                "aesEncryption": False,
                "meta": True,
                "password": None,
            },
            progress=lambda done, total: progress.append((done, total)),
        )
    assert job_id == JOB_ID
    body = seen[0]
    assert body.count(b'name="files"') == 2
    assert b'filename="chr20.vcf.gz"' in body and b'filename="chr21.vcf.gz"' in body
    assert b'name="aesEncryption"' not in body and b'name="password"' not in body
    assert b'name="meta"\r\n\r\ntrue' in body and b'name="r2Filter"\r\n\r\n0' in body
    assert progress[-1][0] == progress[-1][1] == len(body)


def test_submit_goes_to_the_app_of_the_connection_or_argument(hook, tmp_path):
    vcf = tmp_path / "a.vcf.gz"
    vcf.write_bytes(b"x")
    with requests_mock.Mocker() as mock:
        mock.post(f"{API}/jobs/submit/imputationserver2-pgs", json={"success": True, "id": JOB_ID})
        assert hook.submit_job([vcf], {}, app="imputationserver2-pgs") == JOB_ID


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_submit_is_never_retried(hook, tmp_path, status, sleeps):
    vcf = tmp_path / "a.vcf.gz"
    vcf.write_bytes(b"x")
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{API}/jobs/submit/imputationserver2",
            status_code=status,
            json={"message": "x", "success": False},
        )
        with pytest.raises(TisApiError):
            hook.submit_job([vcf], {})
    assert mock.call_count == 1 and sleeps == []


def test_submit_connection_error_is_not_retried(hook, tmp_path, sleeps):
    vcf = tmp_path / "a.vcf.gz"
    vcf.write_bytes(b"x")
    with requests_mock.Mocker() as mock:
        mock.post(f"{API}/jobs/submit/imputationserver2", exc=requests.ConnectionError("reset"))
        with pytest.raises(TisConnectionError):
            hook.submit_job([vcf], {})
    assert mock.call_count == 1 and sleeps == []


def test_submit_without_success_flag_is_an_error(hook, tmp_path):
    vcf = tmp_path / "a.vcf.gz"
    vcf.write_bytes(b"x")
    with requests_mock.Mocker() as mock:
        mock.post(f"{API}/jobs/submit/imputationserver2", json={"success": False, "message": "?"})
        with pytest.raises(TisResponseError, match="no job id for the submission"):
            hook.submit_job([vcf], {})


def test_submit_accepts_objects_with_name_and_open(hook):
    class MemoryFile:
        name = "remote.vcf.gz"

        def stat(self):
            return os.stat_result((0, 0, 0, 0, 0, 0, len(b"remote-bytes"), 0, 0, 0))

        def open(self, mode="rb"):
            return io.BytesIO(b"remote-bytes")

    bodies = []

    def answer(request, context):
        bodies.append(b"".join(request.body))  # read while the upload is in progress
        return {"success": True, "id": JOB_ID}

    with requests_mock.Mocker() as mock:
        mock.post(f"{API}/jobs/submit/imputationserver2", json=answer)
        hook.submit_job([MemoryFile()], {})
    assert b'filename="remote.vcf.gz"' in bodies[0] and b"remote-bytes" in bodies[0]


# -- downloads ---------------------------------------------------------------------------------

FILE = OutputFile(
    name="statistics/summary.txt", hash="b" * 64, size_text="5 bytes", size=5, count=10, output="x"
)
STORE = "https://bucket.s3.amazonaws.com/job/summary.txt?X-Amz-Signature=abc"


def test_download_follows_the_redirect_without_any_token(hook, token):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt",
            status_code=301,
            headers={"Location": STORE},
        )
        mock.get(STORE, content=b"hello", headers={"Content-Length": "5"})
        with hook.open_download(FILE) as download:
            assert download.size == 5
            assert b"".join(download.iter_chunks()) == b"hello"
    assert [r.hostname for r in mock.request_history] == ["tis.example.org", "bucket.s3.amazonaws.com"]
    for sent in mock.request_history:
        assert "X-Auth-Token" not in sent.headers
        assert token not in str(sent.headers) and token not in sent.url


def test_download_limit_exceeded(hook):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt",
            status_code=400,
            json={"message": "number of max downloads exceeded.", "success": False},
        )
        with pytest.raises(TisDownloadLimitError, match="no downloads left"):
            hook.open_download(FILE)
    assert mock.call_count == 1


@pytest.mark.parametrize(
    ("status", "error", "words"),
    [(403, TisDownloadLinkExpiredError, "it has expired"), (404, TisNotFoundError, "retired or removed")],
)
def test_download_refused_by_storage(hook, status, error, words):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt",
            status_code=301,
            headers={"Location": STORE},
        )
        mock.get(STORE, status_code=status, text="<Error><Code>AccessDenied</Code></Error>")
        with pytest.raises(error, match=words):
            hook.open_download(FILE)


def test_resume_sends_a_range_to_the_storage_link_only(hook, token):
    with requests_mock.Mocker() as mock:
        mock.get(
            STORE,
            status_code=206,
            content=b"llo",
            headers={"Content-Range": "bytes 2-4/5", "Content-Length": "3"},
        )
        with hook.resume_download(STORE, 2, "summary.txt") as download:
            assert (download.offset, download.total_size, download.size) == (2, 5, 3)
            assert b"".join(download.iter_chunks()) == b"llo"
    (sent,) = mock.request_history
    assert sent.headers["Range"] == "bytes=2-" and "X-Auth-Token" not in sent.headers


def test_download_is_never_retried(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt", status_code=503)
        with pytest.raises(TisMaintenanceError):
            hook.open_download(FILE)
    assert mock.call_count == 1 and sleeps == []


# -- status mapping ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, "", TisAuthError, ["invalid or has expired", "new token", "'tis_default'"]),
        (403, "", TisForbiddenError, ["revoked or replaced", "'tis_default'"]),
        (403, {"message": "Access denied.", "success": False}, TisForbiddenError, ["another user"]),
        (
            404,
            {"message": f"Job {JOB_ID} not found.", "success": False},
            TisNotFoundError,
            ["not found", "deleted"],
        ),
        (
            400,
            {"message": "Only 3 jobs per user can be executed simultaneously.", "success": False},
            TisJobLimitError,
            ["Only 3 jobs", "max_active_jobs"],
        ),
        (
            400,
            {"message": "Parameter 'x' not found.", "success": False},
            TisApiError,
            ["HTTP 400", "Parameter 'x'"],
        ),
        (413, "<html><body>Request Entity Too Large</body></html>", TisApiError, ["HTTP 413", "Too Large"]),
    ],
)
def test_status_codes_map_to_actionable_errors(hook, sleeps, status, body, error, words):
    with requests_mock.Mocker() as mock:
        kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
        mock.get(f"{API}/jobs/{JOB_ID}", status_code=status, **kwargs)
        with pytest.raises(error) as err:
            hook.get_job(JOB_ID)
    assert type(err.value) is error and err.value.status == status
    for word in words:
        assert word in str(err.value)
    assert mock.call_count == 1 and sleeps == []  # 4xx is never retried


def test_maintenance_and_server_errors_after_retries(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/jobs/{JOB_ID}",
            status_code=503,
            json={"message": "This functionality is currently under maintenance.", "success": False},
        )
        with pytest.raises(TisMaintenanceError, match="under maintenance"):
            hook.get_job(JOB_ID)
        assert mock.call_count == 4
        mock.get(
            f"{API}/jobs/{JOB_ID}",
            status_code=500,
            json={"message": "NullPointerException", "success": False},
        )
        with pytest.raises(TisApiError, match=r"HTTP 500: NullPointerException"):
            hook.get_job(JOB_ID)


def test_non_json_success_body_is_shown_as_snippet(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", text="<html>Login</html>", headers={"Content-Type": "text/html"})
        with pytest.raises(TisResponseError, match=r"not JSON .*text/html.*<html>Login"):
            hook.get_job(JOB_ID)


def test_redirect_of_an_api_call_is_not_followed(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", status_code=302, headers={"Location": "https://evil.example.com/"})
        with pytest.raises(TisResponseError, match="redirect"):
            hook.get_job(JOB_ID)
    assert mock.call_count == 1


# -- retry policy ------------------------------------------------------------------------------


def test_transient_errors_are_retried_with_growing_backoff(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/jobs/{JOB_ID}",
            [
                {"status_code": 502},
                {"status_code": 504},
                {"exc": requests.ConnectTimeout},
                {"json": job_json()},
            ],
        )
        assert hook.get_job(JOB_ID).id == JOB_ID
    assert mock.call_count == 4
    assert len(sleeps) == 3
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2 and 2 <= sleeps[2] <= 4


@pytest.mark.parametrize("retry_after", ["7", "Wed, 21 Oct 2099 07:28:00 GMT"])
def test_retry_after_is_honoured_and_capped(hook, sleeps, retry_after):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/jobs/{JOB_ID}",
            [{"status_code": 429, "headers": {"Retry-After": retry_after}}, {"json": job_json()}],
        )
        hook.get_job(JOB_ID)
    assert sleeps == [7.0] if retry_after == "7" else sleeps == [30]  # capped at max_delay


def test_attempts_are_bounded(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", exc=requests.ConnectionError("refused"))
        with pytest.raises(TisConnectionError, match="after 4 attempts"):
            hook.get_job(JOB_ID)
    assert mock.call_count == 4 and len(sleeps) == 3


def test_total_retry_time_is_bounded(token, sleeps):
    hook = TisHook(
        retry_policy=RetryPolicy(max_attempts=10, max_delay=60, max_elapsed=20, sleep=sleeps.append)
    )
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", status_code=503, headers={"Retry-After": "15"})
        with pytest.raises(TisMaintenanceError):
            hook.get_job(JOB_ID)
    assert sleeps == [15.0] and mock.call_count == 2  # a second 15 s wait would pass 20 s


def test_timeouts_on_every_request(hook, tmp_path):
    vcf = tmp_path / "a.vcf.gz"
    vcf.write_bytes(b"x")
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", json=job_json())
        mock.post(f"{API}/jobs/submit/imputationserver2", json={"success": True, "id": JOB_ID})
        mock.get(f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt", content=b"x")
        hook.get_job(JOB_ID)
        hook.submit_job([vcf], {})
        hook.open_download(FILE).close()
    assert [r.timeout for r in mock.request_history] == [(10.0, 60.0), (10.0, 3600.0), (10.0, 60.0)]


# -- test_connection and secrets ---------------------------------------------------------------


def test_test_connection_names_user_and_expiry(hook):
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{API}/tokens/verify",
            json={"valid": True, "message": "ok", "username": "alice", "expire": "2026-12-01T10:00:00Z"},
        )
        mock.get(f"{API}/server", json={"name": "TOPMed Imputation Server"})
        ok, message = hook.test_connection()
    assert ok
    assert message == "Connected to TOPMed Imputation Server as alice; token valid until 2026-12-01."


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"json": {"valid": False, "message": "Invalid API Token."}}, "Invalid API Token."),
        ({"status_code": 401}, "invalid or has expired"),
        ({"exc": requests.ConnectionError("refused")}, "Could not reach"),
    ],
)
def test_test_connection_failures(token, answer, words):
    hook = TisHook(retry_policy=RetryPolicy(max_attempts=1))
    with requests_mock.Mocker() as mock:
        mock.post(f"{API}/tokens/verify", **answer)
        ok, message = hook.test_connection()
    assert not ok and words in message


def test_token_never_in_logs_or_errors(hook, token, logs, tmp_path):
    """Run every path that logs or raises and look for the token in all of it."""
    texts = []
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/jobs/{JOB_ID}", [{"status_code": 503}, {"status_code": 401}])
        mock.post(f"{API}/tokens/verify", exc=requests.ConnectionError("refused"))
        mock.post(f"{API}/jobs/submit/imputationserver2", status_code=403)
        mock.get(
            f"{BASE}/share/results/{'b' * 64}/statistics/summary.txt", status_code=400, json={"message": "?"}
        )
        vcf = tmp_path / "a.vcf.gz"
        vcf.write_bytes(b"x")
        calls = [
            lambda: hook.get_job(JOB_ID),
            hook.verify_token,
            lambda: hook.submit_job([vcf], {}),
            lambda: hook.open_download(FILE),
        ]
        for call in calls:
            with pytest.raises(Exception) as err:
                call()
            texts += [str(err.value), repr(err.value), repr(err.value.__cause__)]
        texts.append(hook.test_connection()[1])
    lines = logs()
    assert any("retrying" in line for line in lines)  # the search below saw real log output
    for text in texts + lines + [repr(hook), repr(hook.settings)]:
        assert token not in text


def test_streamed_body_matches_the_toolbelt_layout(tmp_path):
    from requests_toolbelt import MultipartEncoder

    data = bytes(range(256)) * 40000  # spans several blocks
    (tmp_path / "a.vcf.gz").write_bytes(data)

    def encoder(handle):
        return MultipartEncoder(
            fields=[("refpanel", "topmed-r3"), ("files", ("a.vcf.gz", handle, "application/octet-stream"))],
            boundary="fixed-boundary",
        )

    with (tmp_path / "a.vcf.gz").open("rb") as handle:
        expected = encoder(handle).to_string()
    with (tmp_path / "a.vcf.gz").open("rb") as handle:
        from airflow_provider_tis.hooks.streams import SizedReader

        body = MultipartBody(encoder(SizedReader(handle, len(data))))
        MultipartBody.BLOCK = 1 << 16
        try:
            chunks = list(body)
        finally:
            MultipartBody.BLOCK = 4 << 20
    assert b"".join(chunks) == expected and len(body) == len(expected)
    assert max(len(c) for c in chunks) <= 1 << 16
