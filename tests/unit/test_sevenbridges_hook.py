"""SevenBridgesHook in isolation (requests-mock, no server): the connection, the rate-limit headers (seconds
or milliseconds) and their caps, maintenance, the error mapping, model parsing, the part sender's memory
bound, the part PUT, and the provider registration."""

from __future__ import annotations

import io
import json
import threading
import time
from types import SimpleNamespace

import pytest
import requests
import requests_mock

from airflow_provider_tis.core import ratelimit
from airflow_provider_tis.core.ratelimit import RateBudget, RateLimitState
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.core.upload import PartLink, SizedReader, put_part, send_in_parts
from airflow_provider_tis.get_provider_info import get_provider_info
from airflow_provider_tis.hooks.sevenbridges import DEFAULT_HOST, SevenBridgesHook
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgApiError,
    SbgAuthError,
    SbgConfigError,
    SbgForbiddenError,
    SbgMaintenanceError,
    SbgNotFoundError,
    SbgRateLimitError,
    SbgResponseError,
    SbgUploadError,
    check_app_id,
    check_id,
    check_project_id,
)
from airflow_provider_tis.hooks.sevenbridges_models import (
    SbgApp,
    SbgExecutionDetails,
    SbgFile,
    SbgTask,
    SevenBridgesTaskStatus,
)

BASE = "https://sbg.example.org/v2"
TOKEN = "0123456789abcdef0123456789abcdef"
TASK_ID = "1c9f2f8a-6a3c-4b7e-9d1e-2f3a4b5c6d7e"
USER = {"username": "alice", "email": "alice@example.org", "first_name": "Alice"}


@pytest.fixture
def connection(set_connection):
    """Define ``sevenbridges_default`` (fields can be overridden, or left out with None)."""

    def define(**fields: object) -> None:
        values = {"host": BASE, "password": TOKEN, "extra": {"project": "alice/demo"}, **fields}
        values = {k: v for k, v in values.items() if v is not None}
        set_connection("sevenbridges_default", conn_type="sevenbridges", **values)

    define()
    return define


@pytest.fixture(autouse=True)
def fresh_budgets(monkeypatch: pytest.MonkeyPatch) -> None:
    """Budgets are per process and connection: each test starts with none (they share a token)."""
    monkeypatch.setattr(ratelimit, "_budgets", {})


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The waits chosen; each moves the budget's clock on, as a real wait would (none is spent)."""
    waits: list[float] = []
    real = time.time
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: real() + sum(waits)))
    return waits


@pytest.fixture
def hook(connection, sleeps) -> SevenBridgesHook:
    policy = RetryPolicy(
        max_attempts=3,
        initial_delay=1,
        max_delay=30,
        max_elapsed=900,
        sleep=sleeps.append,
        max_maintenance=300,
    )
    return SevenBridgesHook(retry_policy=policy)


def limited(remaining: int, reset: str, limit: int = 1000) -> dict[str, str]:
    return {
        "X-RateLimit-Limit": str(limit),
        "X-RateLimit-Remaining": str(remaining),
        "X-RateLimit-Reset": reset,
    }


def error_body(status: int, code: int, message: str = "Error.", more_info: str = "") -> dict:
    return {"status": status, "code": code, "message": message, "more_info": more_info}


def task_json(**extra) -> dict:
    return {"id": TASK_ID, "name": "t", "status": "RUNNING", "project": "alice/demo", **extra}


# -- the connection ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        (None, DEFAULT_HOST),
        ("https://api.sbgenomics.com/v2", "https://api.sbgenomics.com/v2"),
        ("https://api.sbgenomics.com/v2/", "https://api.sbgenomics.com/v2"),
        ("api.sbgenomics.com", "https://api.sbgenomics.com/v2"),
        ("http://127.0.0.1:8080/v2", "http://127.0.0.1:8080/v2"),
        ("http://localhost:8080", "http://localhost:8080/v2"),
    ],
)
def test_the_host_is_the_api_base_with_or_without_v2(connection, host, expected):
    connection(host=host)
    assert SevenBridgesHook().settings.base_url == expected


def test_plain_http_to_a_remote_host_is_refused(connection):
    connection(host="http://api.sbgenomics.com/v2")
    with pytest.raises(SbgConfigError, match="must use https: the auth token would travel unencrypted"):
        SevenBridgesHook().settings  # noqa: B018


@pytest.mark.parametrize("password", [None, "", "   ", "abc def"])
def test_an_empty_or_malformed_token_names_the_connection_and_the_field(connection, password):
    connection(password=password)
    with pytest.raises(
        SbgConfigError, match=r"'sevenbridges_default' has .*Developer > Auth token.*password"
    ):
        SevenBridgesHook().settings  # noqa: B018


@pytest.mark.parametrize("project", ["demo", "alice/demo/x", "alice /demo", "/demo", 7])
def test_a_malformed_default_project_is_refused_with_the_expected_form(connection, project):
    connection(extra={"project": project})
    with pytest.raises(SbgConfigError, match="Project ids are 'owner/project'"):
        SevenBridgesHook().settings  # noqa: B018


def test_ids_are_checked_before_anything_is_sent(hook):
    with requests_mock.Mocker() as mock:
        for bad in ("alice", "a/b/c", ""):
            with pytest.raises(SbgConfigError, match="'owner/project'"):
                hook.list_files(bad)
        with pytest.raises(SbgConfigError, match="not a Seven Bridges task id"):
            hook.get_task("None")
        with pytest.raises(SbgConfigError, match="not a Seven Bridges file id"):
            hook.download_info("../user")
        with pytest.raises(SbgConfigError, match="'owner/project'"):
            hook.get_project("alice/..")  # would move the URL's path
        for app in ("demo-workflow", "alice/demo/app/latest", "alice/../app"):
            with pytest.raises(SbgConfigError, match="App ids are 'owner/project/app'"):
                hook.create_task(app, {})
    assert mock.call_count == 0
    assert check_project_id(" alice/demo ") == "alice/demo" and check_id(TASK_ID, "task") == TASK_ID
    assert check_app_id("alice/demo/app/3") == "alice/demo/app/3"


def test_no_project_anywhere_says_where_to_give_one(connection):
    connection(extra={})
    with pytest.raises(SbgConfigError, match="Pass `project='owner/project'` or set the extra"):
        SevenBridgesHook().list_files()


def test_the_token_goes_in_its_header_only_and_never_into_repr(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", json=USER)
        hook.get_user()
    sent = mock.last_request
    assert sent.headers["X-SBG-Auth-Token"] == TOKEN and TOKEN not in sent.url
    assert TOKEN not in repr(hook.settings) and hook.settings.project == "alice/demo"


# -- rate limit ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("unit", [1, 1000], ids=["seconds", "milliseconds"])
def test_the_budget_reads_the_reset_in_seconds_or_milliseconds(unit):
    budget = RateBudget()
    reset = str(int((time.time() + 40) * unit))
    budget.release(None)  # a place never taken is no harm
    budget.record(SimpleNamespace(headers=limited(0, reset)))
    assert budget.state.remaining == 0 and 38 < budget.state.reset_at - time.time() < 41
    assert 38 < budget.reserve(cap=300) <= 41  # none left: wait for the reset
    assert budget.reserve(cap=10) == 10  # capped, never forever
    assert "0 of 1000 requests left" in budget.state.describe()


def test_the_budget_counts_requests_on_their_way_and_ignores_late_answers():
    budget = RateBudget()
    reset = str(int(time.time()) + 60)
    budget.record(SimpleNamespace(headers=limited(2, reset)))
    assert budget.reserve(300) == 0 and budget.reserve(300) == 0  # two left, both on their way
    assert budget.reserve(300) > 50  # the third waits although no answer said 0 yet
    budget.record(SimpleNamespace(headers=limited(5, reset)))  # a slower answer of the same window
    assert budget.state.remaining == 2
    budget.record(SimpleNamespace(headers=limited(9, str(int(time.time()) - 100))))  # an earlier window
    assert budget.state.remaining == 2
    budget.record(SimpleNamespace(headers={"X-RateLimit-Remaining": "many"}))
    assert budget.state.remaining == 2 and RateLimitState().describe().startswith("the rate-limit budget")


def test_a_passed_reset_gives_the_whole_limit_back():
    budget = RateBudget()
    budget.record(SimpleNamespace(headers=limited(0, str(int(time.time()) - 1), limit=3)))
    assert [budget.reserve(300) for _ in range(3)] == [0, 0, 0]
    assert budget.reserve(300) == 0  # the reset passed: no known wait, the server decides


@pytest.mark.parametrize("unit", [1, 1000], ids=["seconds", "milliseconds"])
def test_a_429_waits_until_the_reset_then_continues(hook, sleeps, unit):
    reset = str(int((time.time() + 20) * unit))
    with requests_mock.Mocker() as mock:
        mock.get(
            f"{BASE}/user",
            [
                {"status_code": 429, "json": error_body(429, 1000), "headers": limited(0, reset)},
                {"json": USER, "headers": limited(999, str(int((time.time() + 300) * unit)))},
            ],
        )
        assert hook.get_user().username == "alice"
    assert len(sleeps) == 1 and 18 < sleeps[0] <= 21
    assert hook.rate_limit.remaining == 999


def test_a_far_reset_is_capped_and_a_429_that_persists_ends_with_what_to_do(hook, sleeps):
    far = str(int(time.time()) + 86_400)
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", status_code=429, json=error_body(429, 1000), headers=limited(0, far))
        with pytest.raises(SbgRateLimitError, match="1000 requests per 5 minutes") as caught:
            hook.get_user()
    assert caught.value.code == 1000 and max(sleeps) == 30 and mock.call_count == 3


def test_the_last_request_of_a_window_makes_the_next_one_wait_instead_of_meeting_a_429(hook, sleeps):
    reset = str(int(time.time()) + 12)
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", json=USER, headers=limited(0, reset))
        hook.get_user()
        assert sleeps == []
        hook.get_user()
    assert len(sleeps) == 1 and 10 < sleeps[0] <= 12 and mock.call_count == 2


def test_a_creation_is_sent_again_after_a_429_but_not_after_a_502(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.post(
            f"{BASE}/tasks",
            [
                {"status_code": 429, "json": error_body(429, 1000), "headers": limited(0, "3")},
                {"status_code": 201, "json": task_json(status="DRAFT")},
            ],
        )
        assert hook.create_task("alice/demo/app", {}).status is SevenBridgesTaskStatus.DRAFT
        assert mock.call_count == 2 and sleeps == [3]
        mock.post(f"{BASE}/tasks", status_code=502, text="Bad gateway")
        with pytest.raises(SbgApiError, match="HTTP 502"):
            hook.create_task("alice/demo/app", {})
    assert mock.call_count == 3


# -- maintenance ---------------------------------------------------------------------------------------


def test_maintenance_is_waited_out_and_counts_no_attempts(hook, sleeps):
    maintenance = {
        "status_code": 503,
        "json": error_body(503, 0, "The Platform is currently under maintenance."),
    }
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", [maintenance] * 5 + [{"json": USER}])
        assert hook.get_user().username == "alice"
    assert sleeps == [60] * 5  # max_attempts is 3: maintenance tries are not attempts


def test_maintenance_beyond_the_cap_fails_and_an_ordinary_503_is_an_ordinary_retry(hook, sleeps):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", status_code=503, json=error_body(503, 0, "Under maintenance."))
        with pytest.raises(SbgMaintenanceError, match="Run the task again later"):
            hook.get_user()
        assert sum(sleeps) == 300 and mock.call_count == 6
        sleeps.clear()
        mock.get(f"{BASE}/user", status_code=503, json=error_body(503, 90005, "Service unavailable."))
        with pytest.raises(SbgApiError, match="code 90005") as caught:
            hook.get_user()
    assert not isinstance(caught.value, SbgMaintenanceError) and len(sleeps) == 2


# -- error mapping ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind", "words"),
    [
        (401, error_body(401, 90001, "Unauthorized."), SbgAuthError, "Developer > Auth token"),
        (403, error_body(403, 3001, "Not enough privileges."), SbgForbiddenError, "add the user"),
        (404, error_body(404, 7002, "Requested task does not exist."), SbgNotFoundError, "code 7002"),
        (400, error_body(400, 3012, "Malformed project id."), SbgApiError, "'owner/project'"),
        (
            400,
            error_body(400, 7007, "Only DRAFT tasks.", "https://docs.example/codes?x=1"),
            SbgApiError,
            "See",
        ),
    ],
)
def test_errors_say_what_was_wrong_and_how_to_fix_it(hook, status, body, kind, words):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/tasks/{TASK_ID}", status_code=status, json=body)
        with pytest.raises(kind) as caught:
            hook.get_task(TASK_ID)
    text = str(caught.value)
    assert f"could not get task {TASK_ID} (HTTP {status}, code {body['code']}:" in text and words in text
    assert caught.value.code == body["code"] and "x=1" not in text  # a link's query is dropped


def test_the_token_echoed_by_a_server_never_reaches_a_message(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/user", status_code=401, json=error_body(401, 90001, f"Bad token {TOKEN}"))
        with pytest.raises(SbgAuthError) as caught:
            hook.get_user()
        mock.get(f"{BASE}/files/abc", status_code=400, text=f"<html>proxy says {TOKEN}</html>")
        with pytest.raises(SbgApiError) as proxied:
            hook.get_file("abc")
    assert TOKEN not in str(caught.value) and "***" in str(caught.value) and TOKEN not in str(proxied.value)


def test_an_answer_of_the_wrong_shape_says_what_to_check(hook):
    with requests_mock.Mocker() as mock:
        mock.get(f"{BASE}/files", json={"files": []})
        with pytest.raises(SbgResponseError, match=r"unexpected answer for the list of files .*'files'"):
            hook.list_files()
        mock.get(f"{BASE}/files/abc/download_info", json={"url": "ftp://x"})
        with pytest.raises(SbgResponseError, match="download link"):
            hook.download_info("abc")


def test_bulk_reads_go_by_100_and_keep_each_items_error(hook):
    ids = [f"00000000-0000-4000-8000-{i:012d}" for i in range(150)]

    def answer(request, context):
        asked = request.json()["task_ids"]
        items = [{"resource": {"id": i, "status": "QUEUED"}} for i in asked[:-1]]
        return {"items": [*items, {"error": error_body(404, 7002, "Requested task does not exist.")}]}

    with requests_mock.Mocker() as mock:
        mock.post(f"{BASE}/bulk/tasks/get", json=answer)
        found = hook.bulk_get_tasks(ids, fields="id,status")
    assert [len(r.json()["task_ids"]) for r in mock.request_history] == [100, 50]
    assert "fields=id%2Cstatus" in mock.last_request.url
    assert isinstance(found[ids[99]], SbgNotFoundError) and isinstance(found[ids[149]], SbgNotFoundError)
    assert found[ids[0]].status is SevenBridgesTaskStatus.QUEUED  # type: ignore[union-attr]


# -- models ----------------------------------------------------------------------------------------------


def test_a_task_parses_with_its_errors_progress_outputs_and_batch():
    task = SbgTask.from_json(
        task_json(
            status="FAILED",
            errors=[error_body(400, 7012, "Missing inputs.", "Required inputs are not set: reference.")],
            execution_status={"steps_completed": 1, "steps_total": 3, "message": "Job 'align' failed."},
            outputs={
                "report": {"class": "File", "path": "f1", "name": "r.json", "size": 9},
                "copies": [{"class": "File", "path": "f2", "name": "a"}, None],
                "qc": {"class": "Directory", "path": "d1", "name": "qc"},
                "count": 3,
            },
            batch=True,
        )
    )
    assert task.status.is_terminal and not task.status.is_success and task.batch
    assert (task.execution_status.steps_completed, task.execution_status.steps_total) == (1, 3)
    assert task.describe_errors() == "code 7012: Missing inputs. Required inputs are not set: reference."
    assert [(o.key, o.kind, o.id) for o in task.output_files()] == [
        ("report", "File", "f1"),
        ("copies", "File", "f2"),
        ("qc", "Directory", "d1"),
    ]
    assert task.summary()["status"] == "FAILED" and json.dumps(task.summary())


def test_terminal_statuses_are_completed_failed_and_aborted():
    terminal = {s.value for s in SevenBridgesTaskStatus if s.is_terminal}
    assert terminal == {"COMPLETED", "FAILED", "ABORTED"}
    assert [s.value for s in SevenBridgesTaskStatus if s.is_success] == ["COMPLETED"]


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (task_json(status="PAUSED"), "status 'PAUSED'.*Upgrade airflow-provider-tis"),
        ({"status": "RUNNING"}, "a task without a valid 'id'"),
        (task_json(errors="bad"), "the errors of task"),
        (["not", "a", "task"], r"unexpected answer for a task \(list\)"),
    ],
)
def test_task_parsing_fails_closed(data, words):
    with pytest.raises(SbgResponseError, match=words):
        SbgTask.from_json(data)


def test_files_apps_and_execution_details_parse():
    folder = SbgFile.from_json({"id": "d1", "name": "runs", "type": "folder"})
    assert folder.is_folder and folder.size is None
    with pytest.raises(SbgResponseError, match=r"'link'.*Upgrade"):
        SbgFile.from_json({"id": "x", "name": "y", "type": "link"})
    app = SbgApp.from_json(
        {
            "id": "alice/demo/tool/2",
            "revision": 2,
            "raw": {
                "inputs": [
                    {"id": "#reads", "type": "File"},
                    {"id": "ref", "type": ["null", "File"]},
                    {"id": "many", "type": {"type": "array", "items": "File"}},
                    {"id": "n", "type": "int?"},
                    {"id": "k", "type": "int", "default": 3},
                ],
                "outputs": [{"id": "#out"}],
            },
        }
    )
    assert [(i.id, i.type, i.required) for i in app.inputs] == [
        ("reads", "File", True),
        ("ref", "File", False),
        ("many", "File[]", True),
        ("n", "int", False),
        ("k", "int", False),
    ]
    assert app.required_inputs == ("reads", "many") and app.outputs == ("out",) and app.revision == 2
    details = SbgExecutionDetails.from_json(
        {"status": "FAILED", "jobs": [{"name": "crash", "status": "FAILED", "logs": {"job.err.log": "u"}}]}
    )
    assert details.failed_jobs[0].logs == {"job.err.log": "u"}


# -- multipart parts -------------------------------------------------------------------------------------


def test_parts_are_sent_in_parallel_within_the_memory_bound_and_in_order():
    data = bytes(range(256)) * 40  # 10240 bytes: 10 parts of 1024
    busy, peak, lock = 0, 0, threading.Lock()
    read_ahead = []

    class Counting(io.BytesIO):
        def read(self, size=-1):
            with lock:
                read_ahead.append(busy)
            return super().read(size)

    def send(number: int, part: bytes) -> int:
        nonlocal busy, peak
        with lock:
            busy += 1
            peak = max(peak, busy)
        time.sleep(0.02)
        with lock:
            busy -= 1
        return number * 1000 + len(part)

    progress = []
    reader = SizedReader(Counting(data), len(data))
    results = send_in_parts(reader, 1024, send, parallel=3, progress=lambda s, t: progress.append((s, t)))
    assert results == [n * 1000 + 1024 for n in range(1, 11)]
    assert peak == 3 and max(read_ahead) <= 3  # a part is read only once a sender is free for it
    assert progress[-1] == (10240, 10240)


def test_a_failed_part_stops_the_reading_and_raises():
    reader = SizedReader(io.BytesIO(b"x" * 10_000), 10_000)
    sent = []

    def send(number: int, part: bytes) -> None:
        sent.append(number)
        if number == 2:
            raise SbgUploadError("part 2 refused")

    with pytest.raises(SbgUploadError, match="part 2 refused"):
        send_in_parts(reader, 1000, send, parallel=1)
    assert sent == [1, 2]


@pytest.mark.parametrize(("actual", "words"), [(b"x" * 50, "ended after"), (b"x" * 150, "grew beyond")])
def test_a_file_that_changes_during_the_upload_stops_it(actual, words):
    reader = SizedReader(io.BytesIO(actual), 100, "in.bam", SbgConfigError)
    with pytest.raises(SbgConfigError, match=f"in.bam changed during the upload.*{words}"):
        send_in_parts(reader, 40, lambda number, part: None, parallel=2)


def test_a_part_put_renews_an_expired_link_once_and_retries_a_hiccup():
    links = iter(
        [PartLink("https://store.example/p1?X-Amz-Signature=s1"), PartLink("https://store.example/p1?sig=2")]
    )
    sleeps: list[float] = []
    policy = RetryPolicy(max_attempts=3, sleep=sleeps.append)
    with requests_mock.Mocker() as mock:
        mock.put(
            "https://store.example/p1",
            [{"status_code": 403}, {"status_code": 500}, {"headers": {"ETag": '"e1"'}}],
        )
        etag = put_part(
            requests.Session(),
            b"abc",
            lambda: next(links),
            policy=policy,
            timeout=(1, 1),
            verify=True,
            error=SbgUploadError,
            what="part 1 of x",
        )
    assert etag == '"e1"' and len(sleeps) == 1
    assert [r.qs.get("sig") for r in mock.request_history] == [None, ["2"], ["2"]]
    assert all("X-SBG-Auth-Token" not in r.headers for r in mock.request_history)


def test_a_refused_part_names_the_part_and_never_the_signed_link():
    policy = RetryPolicy(max_attempts=3, sleep=lambda s: None)
    with requests_mock.Mocker() as mock:
        mock.put("https://store.example/p1", status_code=400)
        with pytest.raises(
            SbgUploadError, match=r"did not take part 1 of x \(HTTP 400, attempt 1\)"
        ) as caught:
            put_part(
                requests.Session(),
                b"abc",
                lambda: PartLink("https://store.example/p1?X-Amz-Signature=secret"),
                policy=policy,
                timeout=(1, 1),
                verify=True,
                error=SbgUploadError,
                what="part 1 of x",
            )
    assert "secret" not in str(caught.value)


# -- provider registration ---------------------------------------------------------------------------


def test_the_connection_type_is_registered_like_cgi():
    info = get_provider_info()
    (entry,) = [c for c in info["connection-types"] if c["connection-type"] == "sevenbridges"]
    assert entry["hook-class-name"] == "airflow_provider_tis.hooks.sevenbridges.SevenBridgesHook"
    behaviour = entry["ui-field-behaviour"]
    assert behaviour["relabeling"] == {"host": "API base URL", "password": "Auth token"}
    assert (
        behaviour["placeholders"]["host"] == DEFAULT_HOST
        and behaviour["placeholders"]["project"] == "owner/project"
    )
    assert set(entry["conn-fields"]) == {"project", "verify", "timeout"}
    assert SevenBridgesHook.get_ui_field_behaviour()["relabeling"] == behaviour["relabeling"]
    assert (
        SevenBridgesHook.conn_type == "sevenbridges"
        and SevenBridgesHook.default_conn_name == "sevenbridges_default"
    )
