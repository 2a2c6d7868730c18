"""CgiHook against requests-mock: every call, the status mapping, retries, job ids, connections, secrets."""

from __future__ import annotations

import json
import logging

import pytest
import requests
import requests_mock

from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.cgi import DEFAULT_HOST, MAX_RESULTS_BYTES, CgiHook
from airflow_provider_tis.hooks.cgi_models import (
    CgiApiError,
    CgiAuthError,
    CgiConfigError,
    CgiConnectionError,
    CgiError,
    CgiJob,
    CgiNotFoundError,
    CgiQuotaError,
    CgiResponseError,
    CgiStatus,
    check_job_id,
)

BASE = "https://cgi.example.org"
API = f"{BASE}/api/v1"
EMAIL = "alice@example.org"
TOKEN = "0123456789abcdef0123"
JOB_ID = "c22ecf2af788d65ec257"
METADATA = {
    "id": JOB_ID,
    "user": EMAIL,
    "title": "run-1/submit",
    "cancertype": "HEMATO",
    "reference": "hg38",
    "dataset": "input.tsv",
    "date": "2025-12-06 14:05:09",
}


@pytest.fixture
def connection(monkeypatch: pytest.MonkeyPatch):
    """Define the ``cgi_default`` connection (any field can be overridden or left out with None)."""

    def define(**fields: object) -> None:
        values = {"conn_type": "cgi", "host": BASE, "login": EMAIL, "password": TOKEN, **fields}
        values = {k: v for k, v in values.items() if v is not None}
        monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", json.dumps(values))

    define()
    return define


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def hook(connection, sleeps) -> CgiHook:
    return CgiHook(
        retry_policy=RetryPolicy(max_attempts=4, initial_delay=1, max_delay=30, sleep=sleeps.append)
    )


@pytest.fixture
def mutations(tmp_path):
    path = tmp_path / "muts.tsv"
    path.write_text("chr\tpos\tref\talt\nchr7\t140453136\tA\tT\n")
    return path


# -- calls ---------------------------------------------------------------------------------------


def test_every_call_carries_email_and_token_in_authorization(hook, mutations):
    with requests_mock.Mocker() as mock:
        mock.get(API, json=[JOB_ID])
        mock.get(f"{API}/{JOB_ID}", json={"status": "Running", "metadata": METADATA})
        mock.get(f"{API}/{JOB_ID}?action=logs", json={"status": "Running", "logs": []})
        mock.get(f"{API}/{JOB_ID}?action=download", content=b"PK")
        mock.delete(f"{API}/{JOB_ID}", json={"status": "Deleted"})
        mock.post(API, json=JOB_ID)
        hook.list_jobs()
        hook.get_job(JOB_ID)
        hook.get_logs(JOB_ID)
        hook.open_download(JOB_ID).close()
        hook.delete_job(JOB_ID)
        hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert len(mock.request_history) == 6
    for sent in mock.request_history:
        assert sent.headers["Authorization"] == f"{EMAIL} {TOKEN}"
        assert sent.headers["User-Agent"].startswith("airflow-provider-tis/")
        assert TOKEN not in sent.url


def test_list_jobs_returns_the_ids(hook):
    with requests_mock.Mocker() as mock:
        mock.get(API, json=["b" * 20, "a" * 20])
        assert hook.list_jobs() == ["b" * 20, "a" * 20]
        assert mock.last_request.method == "GET" and mock.last_request.path == "/api/v1"


@pytest.mark.parametrize("answer", [{"jobs": []}, ["ok", 3], "c22ecf2af788d65ec257", 3.5])
def test_list_jobs_refuses_answers_that_are_not_a_list_of_ids(hook, answer):
    with requests_mock.Mocker() as mock:
        mock.get(API, json=answer)
        with pytest.raises(CgiResponseError, match="unexpected answer for the job list"):
            hook.list_jobs()


def test_get_job_reads_status_and_metadata(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json={"status": "Done", "metadata": {**METADATA, "future": {"x": 1}}})
        job = hook.get_job(JOB_ID)
    assert job == CgiJob(JOB_ID, CgiStatus.DONE, "run-1/submit", "HEMATO", "hg38", "2025-12-06 14:05:09")
    assert job.status.is_terminal and job.status.is_success
    assert job.summary() == {
        "id": JOB_ID,
        "status": "Done",
        "title": "run-1/submit",
        "cancer_type": "HEMATO",
        "reference": "hg38",
        "date": "2025-12-06 14:05:09",
    }
    assert json.loads(json.dumps(job.summary())) == job.summary()  # XCom-safe


def test_get_job_without_metadata(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json={"status": "Running"})
        job = hook.get_job(JOB_ID)
    assert (job.status, job.title, job.cancer_type) == (CgiStatus.RUNNING, "", "")
    assert not job.status.is_terminal


def test_error_status_is_terminal_but_not_success():
    assert CgiStatus.ERROR.is_terminal and not CgiStatus.ERROR.is_success


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"status": "Queued", "metadata": {}}, "status 'Queued'"),
        ({"metadata": {}}, "status None"),
        (["Done"], "unexpected answer for job"),
    ],
)
def test_unknown_status_or_shape_is_an_error_not_a_guess(hook, answer, words):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json=answer)
        with pytest.raises(CgiResponseError, match=words) as err:
            hook.get_job(JOB_ID)
    if "status" in words:
        assert "Upgrade airflow-provider-tis" in str(err.value)


def test_get_logs_asks_for_the_logs_action_and_strips_newlines(hook):
    lines = ["# cgi analyze input.tsv -c HEMATO -g hg38", "2025-12-06 15:05:13,869 INFO     Analysis done\n"]
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json={"status": "Done", "logs": lines})
        assert hook.get_logs(JOB_ID) == [lines[0], lines[1].rstrip("\n")]
    assert mock.last_request.qs == {"action": ["logs"]}


def test_get_logs_without_a_logs_list_is_an_error(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json={"status": "Done", "metadata": METADATA})
        with pytest.raises(CgiResponseError, match="the logs of job"):
            hook.get_logs(JOB_ID)


def test_delete_job_sends_delete_to_the_job(hook):
    with requests_mock.Mocker() as mock:
        mock.delete(f"{API}/{JOB_ID}", json={"status": "Deleted", "id": JOB_ID})
        assert hook.delete_job(JOB_ID) is None
    (sent,) = mock.request_history
    assert (sent.method, sent.path) == ("DELETE", f"/api/v1/{JOB_ID}")


def test_job_url_names_the_job(hook):
    assert hook.job_url(JOB_ID).startswith(BASE) and JOB_ID in hook.job_url(JOB_ID)


# -- submit --------------------------------------------------------------------------------------


def test_submit_sends_one_multipart_form_with_fields_and_files(hook, tmp_path, mutations):
    cnas = tmp_path / "cnas.tsv"
    cnas.write_text("gene\tcna\nERBB2\tAMP\n")
    bodies = []

    def answer(request, context):
        bodies.append(b"".join(request.body))
        return JOB_ID

    progress = []
    with requests_mock.Mocker() as mock:
        mock.post(API, json=answer)
        job_id = hook.submit_job(
            {"mutations": mutations, "cnas": str(cnas)},
            cancer_type="LUAD",
            title="my title",
            reference="hg38",
            progress=lambda sent, total: progress.append((sent, total)),
        )
    assert job_id == JOB_ID
    (sent,) = mock.request_history
    assert sent.headers["Content-Type"].startswith("multipart/form-data; boundary=")
    body = bodies[0]
    for name, value in [("cancer_type", b"LUAD"), ("title", b"my title"), ("reference", b"hg38")]:
        assert f'name="{name}"'.encode() in body and value in body
    assert b'name="mutations"; filename="muts.tsv"' in body and mutations.read_bytes() in body
    assert b'name="cnas"; filename="cnas.tsv"' in body and cnas.read_bytes() in body
    assert b"translocations" not in body
    assert progress and progress[-1][0] == progress[-1][1] == len(body)


def test_submit_sends_the_default_reference(hook, mutations):
    bodies = []
    with requests_mock.Mocker() as mock:
        mock.post(API, json=lambda request, context: bodies.append(b"".join(request.body)) or JOB_ID)
        hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert b'name="reference"\r\n\r\nhg19' in bodies[0]


@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_submit_is_never_retried(hook, mutations, sleeps, status):
    with requests_mock.Mocker() as mock:
        mock.post(API, status_code=status, text="<h1>oops</h1>")
        with pytest.raises(CgiApiError) as err:
            hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert err.value.status == status and f"HTTP {status}" in str(err.value)
    assert mock.call_count == 1 and sleeps == []


def test_submit_connection_error_is_not_retried(hook, mutations, sleeps):
    with requests_mock.Mocker() as mock:
        mock.post(API, exc=requests.ConnectionError("connection reset"))
        with pytest.raises(
            CgiConnectionError, match=r"Could not reach CGI at https://cgi\.example\.org to submit a job"
        ):
            hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert mock.call_count == 1 and sleeps == []


@pytest.mark.parametrize("answer", [{"id": JOB_ID}, "", 42, [JOB_ID]])
def test_submit_answer_without_a_job_id_is_an_error(hook, mutations, answer):
    with requests_mock.Mocker() as mock:
        mock.post(API, json=answer)
        with pytest.raises(CgiResponseError, match="the new job's id"):
            hook.submit_job({"mutations": mutations}, cancer_type="CANCER")


def test_submit_answer_with_a_malformed_id_is_a_response_error(hook, mutations):
    """The job exists on the server by then: a config error ("nothing was sent") would mislead."""
    with requests_mock.Mocker() as mock:
        mock.post(API, json="../../etc/passwd")
        with pytest.raises(CgiError) as err:
            hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert isinstance(err.value, CgiResponseError), type(err.value)
    assert not isinstance(err.value, CgiConfigError)


def test_timeouts_of_calls_and_of_the_submission(connection, mutations):
    hook = CgiHook(connect_timeout=3, submit_timeout=900)
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", json={"status": "Running"})
        mock.post(API, json=JOB_ID)
        mock.get(f"{API}/{JOB_ID}?action=download", content=b"PK")
        hook.get_job(JOB_ID)
        hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
        hook.open_download(JOB_ID).close()
    assert [r.timeout for r in mock.request_history] == [(3, 60.0), (3, 900), (3, 60.0)]


# -- download ------------------------------------------------------------------------------------


def test_download_streams_the_zip_with_auth_and_no_range_from_zero(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}?action=download", content=b"PK\x03\x04zip", headers={"Content-Length": "7"})
        with hook.open_download(JOB_ID) as download:
            assert (download.size, download.offset, download.total_size) == (7, 0, 7)
            assert b"".join(download.iter_chunks()) == b"PK\x03\x04zip"
    (sent,) = mock.request_history
    assert sent.qs == {"action": ["download"]}
    assert sent.headers["Authorization"] == f"{EMAIL} {TOKEN}" and "Range" not in sent.headers


def test_download_from_an_offset_sends_range_and_reads_content_range(hook):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/{JOB_ID}?action=download",
            status_code=206,
            content=b"zip",
            headers={"Content-Range": "bytes 4-6/7", "Content-Length": "3"},
        )
        with hook.open_download(JOB_ID, start=4) as download:
            assert (download.offset, download.total_size) == (4, 7)
    assert mock.last_request.headers["Range"] == "bytes=4-"


def test_download_whose_range_is_ignored_starts_at_zero(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}?action=download", content=b"PK\x03\x04zip")
        with hook.open_download(JOB_ID, start=4) as download:
            assert download.offset == 0  # the engine must start over, not append


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (404, "<h1>Not Found</h1>", CgiNotFoundError, "No such job"),
        (400, {"message": "Job x is Running: results exist only once it is Done."}, CgiApiError, "Running"),
        (401, "<h1>Unauthorized</h1>", CgiAuthError, "email and token were refused"),
    ],
)
def test_download_errors_are_mapped(hook, status, body, error, words):
    with requests_mock.Mocker() as mock:
        kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
        mock.get(f"{API}/{JOB_ID}?action=download", status_code=status, **kwargs)
        with pytest.raises(error, match=words) as err:
            hook.open_download(JOB_ID)
    assert type(err.value) is error and err.value.status == status


def test_download_is_not_retried_by_the_hook(hook, sleeps):
    """A broken download is the transfer engine's to resume; the hook opens it exactly once."""
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}?action=download", status_code=503)
        with pytest.raises(CgiApiError) as err:
            hook.open_download(JOB_ID)
    assert err.value.status == 503 and mock.call_count == 1 and sleeps == []


def test_download_redirect_is_not_followed_with_the_token(hook):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/{JOB_ID}?action=download", status_code=302, headers={"Location": "https://evil.example/x"}
        )
        mock.get("https://evil.example/x", content=b"PK")
        with pytest.raises(CgiError):
            hook.open_download(JOB_ID)
    assert [r.hostname for r in mock.request_history] == ["cgi.example.org"]


def test_results_source_opens_the_download_from_an_offset(hook):
    source = hook.download_source(JOB_ID)
    assert JOB_ID in source.name and source.downloads_left is None and source.listed == (0, MAX_RESULTS_BYTES)
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{API}/{JOB_ID}?action=download",
            status_code=206,
            content=b"ip",
            headers={"Content-Range": "bytes 5-6/7"},
        )
        with source.open(5) as download:
            assert download.offset == 5
    assert mock.last_request.headers["Range"] == "bytes=5-"


# -- errors and retries --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "error", "words"),
    [
        (401, "<h1>Unauthorized</h1>", CgiAuthError, ["email and token were refused", "'cgi_default'"]),
        (404, "<h1>Not Found</h1>", CgiNotFoundError, ["No such job", "deleted"]),
        (400, {"message": "Unknown action 'x'."}, CgiApiError, ["HTTP 400", "Unknown action"]),
        (403, "<h1>Forbidden</h1>", CgiApiError, ["HTTP 403"]),
        (
            400,
            {"message": "You have reached the limit of 20 jobs. Delete finished jobs."},
            CgiQuotaError,
            ["limit of 20 jobs", "delete finished jobs", "CgiDeleteJobOperator"],
        ),
        (403, {"message": "Job quota exceeded"}, CgiQuotaError, ["quota exceeded", "delete finished jobs"]),
    ],
)
def test_status_codes_map_to_actionable_errors(hook, sleeps, status, body, error, words):
    with requests_mock.Mocker() as mock:
        kwargs = {"json": body} if isinstance(body, dict) else {"text": body}
        mock.get(f"{API}/{JOB_ID}", status_code=status, **kwargs)
        with pytest.raises(error) as err:
            hook.get_job(JOB_ID)
    assert type(err.value) is error and err.value.status == status
    for word in words:
        assert word in str(err.value)
    assert mock.call_count == 1 and sleeps == []  # 4xx is never retried


def test_quota_refusal_of_a_submission(hook, mutations, sleeps):
    with requests_mock.Mocker() as mock:
        mock.post(
            API,
            status_code=400,
            json={
                "message": "You have reached the limit of 20 jobs. Delete finished jobs before submitting."
            },
        )
        with pytest.raises(CgiQuotaError, match="delete finished jobs") as err:
            hook.submit_job({"mutations": mutations}, cancer_type="CANCER")
    assert err.value.status == 400 and mock.call_count == 1 and sleeps == []


@pytest.mark.parametrize(
    ("method", "url", "call"),
    [
        ("GET", API, lambda hook: hook.list_jobs()),
        ("GET", f"{API}/{JOB_ID}", lambda hook: hook.get_job(JOB_ID)),
        ("GET", f"{API}/{JOB_ID}?action=logs", lambda hook: hook.get_logs(JOB_ID)),
        ("DELETE", f"{API}/{JOB_ID}", lambda hook: hook.delete_job(JOB_ID)),
    ],
)
@pytest.mark.parametrize("status", [500, 502, 503, 504, 429])
def test_idempotent_calls_retry_temporary_errors(hook, sleeps, method, url, call, status):
    good = {"json": {"status": "Done", "metadata": METADATA, "logs": ["a"]}}
    if url == API:
        good = {"json": [JOB_ID]}
    with requests_mock.Mocker() as mock:
        mock.register_uri(method, url, [{"status_code": status}, {"status_code": status}, good])
        call(hook)
    assert mock.call_count == 3 and len(sleeps) == 2
    assert 0.5 <= sleeps[0] <= 1 and 1 <= sleeps[1] <= 2  # exponential backoff with jitter


def test_retries_are_bounded_and_end_in_the_api_error(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{API}/{JOB_ID}", status_code=503, text="<h1>Service Unavailable</h1>")
        with pytest.raises(CgiApiError, match="HTTP 503") as err:
            hook.get_job(JOB_ID)
    assert err.value.status == 503 and mock.call_count == 4 and len(sleeps) == 3


def test_retry_after_is_honoured(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(API, [{"status_code": 429, "headers": {"Retry-After": "7"}}, {"json": []}])
        assert hook.list_jobs() == []
    assert sleeps == [7.0]


def test_connection_errors_are_retried_then_reported(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(API, exc=requests.ConnectionError("refused"))
        with pytest.raises(CgiConnectionError, match="after 4 attempts") as err:
            hook.list_jobs()
    assert mock.call_count == 4 and len(sleeps) == 3
    assert BASE in str(err.value)


def test_redirect_of_an_api_call_is_refused(hook):
    with requests_mock.Mocker() as mock:
        mock.get(API, status_code=302, headers={"Location": "https://elsewhere.example/api/v1"})
        with pytest.raises(CgiResponseError, match="redirect"):
            hook.list_jobs()
    assert mock.call_count == 1


def test_non_json_success_answer_is_a_response_error(hook):
    with requests_mock.Mocker() as mock:
        mock.get(API, text="<html>login page</html>")
        with pytest.raises(CgiResponseError):
            hook.list_jobs()


# -- job ids -------------------------------------------------------------------------------------

BAD_IDS = [
    "",
    "../etc/passwd",
    "abc/def",
    "a b",
    "abc\n",  # re.match with "$" would take it: fullmatch must not
    "-abc",
    "abc?action=download",
    "x" * 65,
    None,
    123,
]


@pytest.mark.parametrize("job_id", BAD_IDS)
@pytest.mark.parametrize("method", ["get_job", "get_logs", "delete_job", "open_download", "job_url"])
def test_malformed_job_ids_are_refused_before_any_request(hook, job_id, method):
    with requests_mock.Mocker() as mock, pytest.raises(CgiConfigError, match="is not a CGI job id") as err:
        getattr(hook, method)(job_id)
    assert mock.call_count == 0
    assert "c22ecf2af788d65ec257" in str(err.value)  # shows what an id looks like


@pytest.mark.parametrize("job_id", [JOB_ID, "A1", "x" * 64, "job_1-2"])
def test_job_ids_that_are_accepted(job_id):
    assert check_job_id(job_id) == job_id


# -- connection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"login": None}, ["no CGI email (login field)", "account's email in the login field"]),
        ({"login": "  "}, ["no CGI email (login field)"]),
        ({"password": None}, ["no CGI API token (password field)", "CGI account page"]),
        ({"password": ""}, ["no CGI API token (password field)"]),
        ({"login": "alice example.org"}, ["must be your CGI account's email"]),
        ({"host": "ftp://cgi.example.org"}, ["is not a server URL", "http or https"]),
        ({"host": "https://alice:pw@cgi.example.org"}, ["must not contain a user or password"]),
        ({"extra": {"timeout": "soon"}}, ["'timeout'", "must be a positive number"]),
        ({"extra": {"timeout": 0}}, ["'timeout'", "must be positive"]),
    ],
)
def test_bad_connections_fail_before_any_request(connection, fields, words):
    connection(**fields)
    with requests_mock.Mocker() as mock, pytest.raises(CgiConfigError) as err:
        CgiHook().list_jobs()
    assert mock.call_count == 0
    for word in words:
        assert word in str(err.value)
    assert "'cgi_default'" in str(err.value) or "host" in str(err.value)
    assert TOKEN not in str(err.value)


def test_missing_ca_bundle_fails_before_any_request(connection, tmp_path):
    bundle = tmp_path / "no-such-ca.pem"
    connection(extra={"verify": str(bundle)})
    hook = CgiHook()
    assert hook.settings.verify == str(bundle)  # reading the connection alone does not need the file
    with requests_mock.Mocker() as mock, pytest.raises(CgiConfigError) as err:
        hook.list_jobs()
    assert mock.call_count == 0
    for word in ("'verify'", "'cgi_default'", str(bundle), "does not exist"):
        assert word in str(err.value)


@pytest.fixture
def no_ca_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def ca_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> str:
    """A machine-wide bundle, as many images set (``REQUESTS_CA_BUNDLE``): the connection must win."""
    system = tmp_path / "system-ca.pem"
    system.write_text("-----BEGIN CERTIFICATE-----\n")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(system))
    monkeypatch.setenv("CURL_CA_BUNDLE", str(system))
    return str(system)


def verify_used(hook: CgiHook) -> object:
    """The ``verify`` requests hands to the transport for an API call and for a download."""
    with requests_mock.Mocker() as mock:
        mock.get(API, json=[])
        mock.get(f"{API}/{JOB_ID}?action=download", content=b"PK")
        hook.list_jobs()
        hook.open_download(JOB_ID).close()
    first, second = (r.verify for r in mock.request_history)
    assert first == second
    return first


@pytest.mark.parametrize("environment", ["no_ca_environment", "ca_environment"])
def test_connection_ca_bundle_is_used_for_verification(connection, tmp_path, request, environment):
    request.getfixturevalue(environment)
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    connection(extra={"verify": str(bundle)})
    assert verify_used(CgiHook()) == str(bundle)


@pytest.mark.parametrize("environment", ["no_ca_environment", "ca_environment"])
def test_verification_off_is_honoured_and_logged(connection, logs, request, environment):
    request.getfixturevalue(environment)
    connection(extra={"verify": "false"})
    hook = CgiHook()
    assert hook.settings.verify is False
    assert any("TLS verification is off" in line for line in logs())
    assert verify_used(hook) is False


def test_verification_is_on_by_default(hook, no_ca_environment):
    assert hook.settings.verify is True and verify_used(hook) is True


@pytest.mark.parametrize(
    ("host", "schema", "port", "base"),
    [
        ("https://cgi.example.org", None, None, BASE),
        ("https://cgi.example.org/", None, None, BASE),
        ("https://cgi.example.org/api/v1", None, None, BASE),
        ("https://cgi.example.org/api/v1/", None, None, BASE),
        ("cgi.example.org", None, None, BASE),
        ("cgi.example.org/api/v1", None, None, BASE),
        ("localhost", "http", 8080, "http://localhost:8080"),
        ("https://cgi.example.org/2018/api/v1", None, None, f"{BASE}/2018"),
        (None, None, None, DEFAULT_HOST),
        ("", None, None, DEFAULT_HOST),
    ],
)
def test_host_is_normalised_with_or_without_api_v1(connection, host, schema, port, base):
    connection(host=host, schema=schema, port=port)
    hook = CgiHook()
    assert hook.settings.base_url == base
    with requests_mock.Mocker() as mock:
        mock.get(f"{base}/api/v1", json=[])
        hook.list_jobs()
    assert mock.last_request.url.rstrip("/") == f"{base}/api/v1"


def test_plain_http_to_a_remote_host_is_warned_about(connection, logs):
    connection(host="http://cgi.example.org")
    assert CgiHook().settings.base_url == "http://cgi.example.org"
    assert any("plain http" in line for line in logs())


def test_settings_strip_and_hide_the_token(connection):
    connection(login=f" {EMAIL} ", password=f" {TOKEN}\n")
    settings = CgiHook().settings
    assert (settings.email, settings.token) == (EMAIL, TOKEN)
    assert TOKEN not in repr(settings)


def test_test_connection_counts_the_jobs(hook):
    with requests_mock.Mocker() as mock:
        mock.get(API, json=[JOB_ID, "b" * 20])
        ok, message = hook.test_connection()
    assert ok and EMAIL in message and "2 jobs" in message and BASE in message


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ({"status_code": 401, "text": "<h1>Unauthorized</h1>"}, "email and token were refused"),
        ({"exc": requests.ConnectionError("refused")}, "Could not reach"),
        ({"json": {"not": "a list"}}, "unexpected answer"),
    ],
)
def test_test_connection_failures(connection, answer, words):
    hook = CgiHook(retry_policy=RetryPolicy(max_attempts=1))
    with requests_mock.Mocker() as mock:
        mock.get(API, **answer)
        ok, message = hook.test_connection()
    assert not ok and words in message


def test_missing_token_fails_test_connection_without_a_request(connection):
    connection(password=None)
    with requests_mock.Mocker() as mock:
        ok, message = CgiHook().test_connection()
    assert not ok and "no CGI API token (password field)" in message and mock.call_count == 0


# -- secrets -------------------------------------------------------------------------------------


def test_token_never_in_messages_or_logs(hook, logs, mutations, caplog):
    """Run every path that logs or raises, with a server that echoes the token, and look for it."""
    caplog.set_level(logging.DEBUG)
    echo = {"message": f"bad header {EMAIL} {TOKEN}"}
    texts = []
    with requests_mock.Mocker() as mock:
        mock.get(API, [{"status_code": 503, "json": echo}, {"status_code": 401, "json": echo}])
        mock.get(f"{API}/{JOB_ID}", status_code=400, json=echo)
        mock.delete(f"{API}/{JOB_ID}", exc=requests.ConnectionError(f"reset by {TOKEN}"))
        mock.post(API, status_code=500, text=f"<pre>Authorization: {EMAIL} {TOKEN}</pre>")
        mock.get(f"{API}/{JOB_ID}?action=download", status_code=403, text=f"token {TOKEN} refused")
        calls = [
            hook.list_jobs,
            lambda: hook.get_job(JOB_ID),
            lambda: hook.delete_job(JOB_ID),
            lambda: hook.submit_job({"mutations": mutations}, cancer_type="CANCER"),
            lambda: hook.open_download(JOB_ID),
        ]
        for call in calls:
            with pytest.raises(CgiError) as err:
                call()
            texts += [str(err.value), repr(err.value), repr(err.value.__cause__)]
            texts.append(getattr(err.value, "message", ""))
        texts.append(hook.test_connection()[1])
    lines = logs()
    assert any("retrying" in line for line in lines)  # the search below saw real log output
    assert any("***" in text for text in texts)  # the echoed token was there, and scrubbed
    for text in texts + lines + [repr(hook.settings), repr(hook.endpoint)]:
        assert TOKEN not in text
