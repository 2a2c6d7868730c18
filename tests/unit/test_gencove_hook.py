"""GencoveHook in isolation (requests-mock, no server): the connection, model parsing and the one status
mapping, UUID checks before any request, cancel batches of 20, 401 vs 403, DRF field errors, the
maintenance ETA wait and its caps, 429 backoff, and the key kept out of logs and reprs."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
import requests_mock

from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.get_provider_info import get_provider_info
from airflow_provider_tis.hooks.defaults import GENCOVE_CONN_ID
from airflow_provider_tis.hooks.gencove import GencoveHook
from airflow_provider_tis.hooks.gencove_errors import (
    GencoveAuthError,
    GencoveConfigError,
    GencoveIpNotAllowedError,
    GencoveMaintenanceError,
    GencoveRateLimitError,
    GencoveResponseError,
    GencoveValidationError,
    check_uuid,
    describe_fields,
)
from airflow_provider_tis.hooks.gencove_models import (
    GencoveSample,
    GencoveSampleFile,
    Page,
    SampleStatus,
)

HOST = "https://api.gencove.example"
BASE = f"{HOST}/api/v2"
KEY = "AbCdEfGh.0123456789abcdefghijklmnopqrstuv"
PROJECT = "3fa85f64-5717-4562-b3fc-2c963f66afa6"
SAMPLE = "1c9f2f8a-6a3c-4b7e-9d1e-2f3a4b5c6d7e"
USER = {"id": PROJECT, "email": "alice@example.org", "name": "Alice"}


def sample_json(status: str = "running", archive: str = "available", **extra) -> dict:
    return {
        "id": SAMPLE,
        "client_id": "NA12878",
        "last_status": {"status": status, "note": "", "created": "2026-01-01T00:00:00Z"},
        "archive_last_status": {
            "status": archive,
            "created": "2026-01-01T00:00:00Z",
            "transition_cutoff": None,
        },
        **extra,
    }


def page(results: list, following: str | None = None) -> dict:
    return {"meta": {"count": len(results), "next": following, "previous": None}, "results": results}


@pytest.fixture
def connection(set_connection):
    def define(**fields: object) -> None:
        values = {"host": HOST, "password": KEY, **fields}
        set_connection(
            GENCOVE_CONN_ID, conn_type="gencove", **{k: v for k, v in values.items() if v is not None}
        )

    define()
    return define


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def hook(connection, sleeps) -> GencoveHook:
    policy = RetryPolicy(
        max_attempts=3,
        initial_delay=1,
        max_delay=30,
        max_elapsed=900,
        sleep=sleeps.append,
        max_maintenance=300,
    )
    return GencoveHook(retry_policy=policy)


# -- the connection --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, "https://api.gencove.com/api/v2"),
        ("https://api.eu1.gencove.com", "https://api.eu1.gencove.com/api/v2"),
        ("https://api.gencove.com/api/v2/", "https://api.gencove.com/api/v2"),
        ("http://127.0.0.1:8000", "http://127.0.0.1:8000/api/v2"),
    ],
)
def test_the_host_is_the_api_root_with_or_without_api_v2(connection, host, expected):
    connection(host=host)
    assert GencoveHook().settings.base_url == expected


def test_plain_http_to_a_remote_host_and_a_missing_key_are_refused(connection):
    connection(host="http://api.gencove.com")
    with pytest.raises(GencoveConfigError, match="must use https"):
        GencoveHook().settings  # noqa: B018
    connection(password="")
    with pytest.raises(GencoveConfigError, match="no Gencove API key"):
        GencoveHook().settings  # noqa: B018


def test_the_key_goes_in_its_header_to_the_api_only_and_never_into_repr_or_logs(hook, logs):
    link = "https://bucket.s3.amazonaws.com/f.bam?X-Amz-Signature=secret"
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", json=USER)
        mock.get(f"{BASE}/samples/{SAMPLE}", json=sample_json("succeeded", files=[]))
        mock.get(link, content=b"x")
        hook.get_user()
        hook.http.stream(link, start=0, action="download").close()
    api, store = mock.request_history[0], mock.request_history[-1]
    assert api.headers["Authorization"] == f"Api-Key {KEY}" and "Authorization" not in store.headers
    assert KEY not in repr(hook.settings) and KEY not in repr(hook.endpoint)
    assert logs() and all(KEY not in line for line in logs())


def test_the_provider_registers_the_gencove_connection_type():
    types = {c["connection-type"]: c for c in get_provider_info()["connection-types"]}
    assert types["gencove"]["hook-class-name"] == "airflow_provider_tis.hooks.gencove.GencoveHook"
    assert GencoveHook.get_ui_field_behaviour()["relabeling"]["password"] == "API key"
    assert GencoveHook.default_conn_name == "gencove_default" and GencoveHook.conn_type == "gencove"


# -- models ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected", "terminal", "success"),
    [
        ("succeeded", SampleStatus.SUCCEEDED, True, True),
        ("failed", SampleStatus.FAILED, True, False),
        ("failed qc", SampleStatus.FAILED, True, False),
        ("Failed QC", SampleStatus.FAILED, True, False),
        ("canceled", SampleStatus.CANCELED, True, False),
        ("cancelled", SampleStatus.CANCELED, True, False),
        ("running", SampleStatus.RUNNING, False, False),
        ("scheduled", SampleStatus.RUNNING, False, False),
        ("some new stage", SampleStatus.RUNNING, False, False),
    ],
)
def test_statuses_map_to_one_outcome(status, expected, terminal, success):
    mapped = SampleStatus.of(status)
    assert mapped is expected and mapped.is_terminal is terminal and mapped.is_success is success


@pytest.mark.parametrize(
    ("archive", "downloadable"),
    [("available", True), ("restored", True), ("archived", False), ("restore_requested", False)],
)
def test_only_available_or_restored_samples_are_downloadable(archive, downloadable):
    sample = GencoveSample.from_json(sample_json("succeeded", archive))
    assert sample.is_downloadable is downloadable
    assert sample.fingerprint == ("succeeded", archive, "")


def test_a_sample_with_files_parses_and_names_files_safely():
    sha = "ab" * 32
    files = [
        {
            "id": SAMPLE,
            "file_type": "impute-vcf",
            "size": 10,
            "download_url": "https://b.s3.amazonaws.com/x/S.vcf.gz?X-Amz-Signature=s",
            "checksum_sha256": sha.upper(),
            "s3_path": "org/o/project/p/sample/s/S.vcf.gz",
        }
    ]
    sample = GencoveSample.from_json(sample_json("succeeded", files=files, project=PROJECT))
    (file,) = sample.files
    assert file.file_name == "S.vcf.gz" and file.checksum_sha256 == sha and file.size == 10
    assert "Signature" not in repr(file)
    evil = GencoveSampleFile.from_json({**files[0], "s3_path": "x/..", "download_url": None})
    with pytest.raises(GencoveResponseError, match=r"\.\."):
        evil.file_name  # noqa: B018


@pytest.mark.parametrize(
    "broken",
    [
        {"client_id": "x"},
        sample_json(last_status=None),
        sample_json(archive_last_status={"status": 3}),
        sample_json(files={"a": 1}),
        sample_json(files=[{"id": SAMPLE, "file_type": "bam", "download_url": "ftp://x"}]),
        sample_json(files=[{"id": SAMPLE, "file_type": "bam", "checksum_sha256": "nothex"}]),
    ],
)
def test_a_sample_missing_what_the_provider_relies_on_is_refused(broken):
    with pytest.raises(GencoveResponseError):
        GencoveSample.from_json(broken)


def test_pages_parse_and_a_non_page_is_refused():
    parsed = Page.from_json(page([1, 2], "https://x/?offset=2"), "things")
    assert parsed.results == [1, 2] and parsed.next == "https://x/?offset=2" and parsed.count == 2
    with pytest.raises(GencoveResponseError, match="unexpected answer"):
        Page.from_json({"results": []}, "things")


# -- UUIDs, batches, pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", "None", "abc", "../../user", f"{SAMPLE}x", None, 3])
def test_malformed_uuids_are_refused_naming_the_argument_before_any_request(hook, value):
    with requests_mock.Mocker() as mock:
        with pytest.raises(ValueError, match="sample_id must be a Gencove id"):
            hook.get_sample(value)
        with pytest.raises(GencoveConfigError, match="project_id"):
            hook.list_project_samples(value)
    assert mock.call_count == 0
    assert check_uuid(SAMPLE.upper(), "x") == SAMPLE


def test_45_cancelled_ids_go_in_3_calls_of_at_most_20(hook):
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(45)]
    with requests_mock.Mocker() as mock:
        mock.post(f"{BASE}/project-cancel-samples/{PROJECT}", status_code=201, json={})
        assert hook.cancel_samples(PROJECT, ids) == ids
    sent = [r.json()["sample_ids"] for r in mock.request_history]
    assert [len(b) for b in sent] == [20, 20, 5] and [i for b in sent for i in b] == ids


def test_pages_are_walked_by_offset_on_the_configured_host_only(hook):
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{BASE}/project-samples/{PROJECT}",
            [
                {"json": page([sample_json()], "https://elsewhere.example/steal?offset=1")},
                {"json": page([sample_json()])},
            ],
        )
        assert len(hook.list_project_samples(PROJECT, status="running")) == 2
    assert all(r.hostname == "api.gencove.example" for r in mock.request_history)
    assert [r.qs["offset"] for r in mock.request_history] == [["0"], ["1"]]
    assert mock.request_history[0].qs["limit"] == ["200"] and mock.request_history[0].qs["status"] == [
        "running"
    ]


# -- errors ------------------------------------------------------------------------------------------------


def test_401_says_the_key_expired_and_403_says_the_ip_allow_list(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", status_code=401, json={"detail": "This API key has expired."})
        with pytest.raises(GencoveAuthError, match="expired") as expired:
            hook.get_user()
        mock.get(f"{BASE}/user/", status_code=403, json={"detail": "Not allowed from your IP address."})
        with pytest.raises(GencoveIpNotAllowedError, match="allow-list") as refused:
            hook.get_user()
    assert "Account > API keys" in str(expired.value) and "allow-list" not in str(expired.value)
    assert "ip_range" in str(refused.value) and "gencove_default" in str(refused.value)


def test_drf_field_errors_are_readable():
    body = {
        "sample_ids": ["Ensure this field has no more than 20 elements."],
        "uploads": [{}, {"client_id": ["Req."]}],
    }
    assert describe_fields(body) == (
        "sample_ids: Ensure this field has no more than 20 elements.; uploads[1].client_id: Req."
    )


def test_a_refused_field_raises_a_validation_error_with_the_fields(hook):
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{BASE}/project-restore-samples/{PROJECT}",
            status_code=400,
            json={"sample_ids": ["Not archived."]},
        )
        with pytest.raises(GencoveValidationError, match="sample_ids: Not archived") as caught:
            hook.restore_samples(PROJECT, [SAMPLE])
    assert caught.value.fields == {"sample_ids": ["Not archived."]} and mock.call_count == 1


def maintenance(seconds: float) -> dict:
    eta = datetime.now(timezone.utc) + timedelta(seconds=seconds)
    body = {"maintenance": True, "maintenance_message": "Upgrade.", "maintenance_eta": eta.isoformat()}
    return {"status_code": 503, "json": body}


def test_maintenance_is_waited_until_its_eta(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", [maintenance(12), {"json": USER}])
        assert hook.get_user().email == "alice@example.org"
    assert len(sleeps) == 1 and 10 < sleeps[0] <= 12


def test_a_far_eta_is_capped_per_wait_and_in_all(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", **maintenance(86400))
        with pytest.raises(
            GencoveMaintenanceError, match=r"Upgrade.*under maintenance until about"
        ) as caught:
            hook.get_user()
    assert max(sleeps) == 30 and sum(sleeps) == pytest.approx(300)  # max_delay each, max_maintenance in all
    assert caught.value.eta is not None and mock.call_count == 11


def test_a_503_without_maintenance_is_an_ordinary_retry(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", [{"status_code": 503, "json": {"detail": "busy"}}, {"json": USER}])
        hook.get_user()
    assert len(sleeps) == 1 and sleeps[0] <= 1


def test_a_429_backs_off_with_retry_after_then_gives_up_with_what_to_do(hook, sleeps):
    throttled = {
        "status_code": 429,
        "headers": {"Retry-After": "7"},
        "json": {"detail": "Request was throttled."},
    }
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user/", [throttled, {"json": USER}])
        hook.get_user()
        assert sleeps == [7.0]
        mock.get(f"{BASE}/user/", **throttled)
        with pytest.raises(GencoveRateLimitError, match="Poll less often"):
            hook.get_user()


def test_a_sample_sheet_of_the_wrong_shape_is_refused(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/sample-sheet/", json=page([{"client_id": "x"}]))
        with pytest.raises(GencoveResponseError):
            hook.sample_sheet()
    assert json.loads(json.dumps(mock.request_history[0].qs)) == {
        "status": ["unassigned"],
        "limit": ["200"],
        "offset": ["0"],
    }
