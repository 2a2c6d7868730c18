"""The Gencove bad-input catalogue: every mistake a user can make, in one table.

Each row names what goes wrong, the error it must raise, and words that must appear in it: what the
problem is and what to do about it. Each runs the provider's own operator, sensor or hook against the
Gencove simulator over HTTP on 127.0.0.1, and is also checked for what did not happen: a row marked
``local`` sends no request at all (the mistake is found before any); every other row starts nothing
expensive (no upload, import or assignment, no cancel or restore, no file fetched from the store) beyond
what its row allows, and the API key never shows in the message.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_tis.hooks.gencove import GencoveHook
from airflow_provider_tis.hooks.gencove_errors import (
    GencoveArchivedError,
    GencoveAuthError,
    GencoveConfigError,
    GencoveIpNotAllowedError,
    GencoveSampleStatusError,
)
from airflow_provider_tis.operators.gencove import (
    GencoveCancelSamplesOperator,
    GencoveRestoreSamplesOperator,
)
from airflow_provider_tis.operators.gencove_transfer import (
    GencoveDownloadOperator,
    GencoveImportSamplesOperator,
)
from airflow_provider_tis.sensors.gencove import GencoveSampleSensor
from airflow_provider_tis.testing.gencove import FAST, GencoveSimulator
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable

#: What costs money, moves data or changes samples: none of it may happen unless a row allows it.
EXPENSIVE = (
    "uploads_url",
    "uploads_post_data",
    "upload_credentials",
    "assign",
    "s3_uri_import",
    "cancel",
    "restore",
    "store",  # a file fetched through a download link
)
UNKNOWN_PROJECT = "00000000-0000-4000-8000-000000000000"  # well formed, but no such project
UNKNOWN_SAMPLE = "11111111-1111-4111-8111-111111111111"  # well formed, but no such sample
FASTQ_URL = "https://fastq.example.org/S1_R1.fastq.gz"
#: FAST as keyword arguments of GencoveSimulator (typed loosely: they override config fields).
SIMULATOR: dict[str, Any] = dict(FAST)


@dataclass
class World:
    sim: GencoveSimulator
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    since: int = 0  # requests before the step under test (set by mark)

    def mark(self) -> None:
        """What happens from here on is the step under test."""
        self.since = len(self.sim.requests)

    def routes(self) -> list[str]:
        return [r.route for r in self.sim.requests[self.since :]]

    def connection(self, **fields: Any) -> None:
        values = json.loads(self.sim.connection_json())
        values.update(fields)
        values = {k: v for k, v in values.items() if v is not None}
        self.monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", json.dumps(values))

    def sample(self, client_id: str = "S1", **kwargs: Any) -> str:
        """A finished sample put straight into the project (no request)."""
        return self.sim.add_sample(client_id, **kwargs)


def poke(world: World, sample_ids: Any = None, **kwargs: Any) -> Any:
    kwargs.setdefault("project_id", world.sim.project_id)
    kwargs.setdefault("poke_interval", 30)
    sample_ids = [world.sample()] if sample_ids is None else sample_ids
    world.mark()  # the sensor is built in the step: a bad interval is refused when the DAG is parsed
    op = GencoveSampleSensor(task_id="wait", sample_ids=sample_ids, mode="poke", **kwargs)
    return op.poke(make_context(task_id="wait"))


def download(world: World, sample_ids: Any = None, destination: Any = None, **kwargs: Any) -> Any:
    sample_ids = [world.sample()] if sample_ids is None else sample_ids
    operator = GencoveDownloadOperator(
        task_id="download",
        sample_ids=sample_ids,
        destination=str(world.tmp / "out") if destination is None else destination,
        **kwargs,
    )
    world.mark()
    return operator.execute(make_context(task_id="download"))


def import_samples(world: World, **kwargs: Any) -> Any:
    kwargs.setdefault("project_id", world.sim.project_id)
    operator = GencoveImportSamplesOperator(task_id="import", poll_interval=0.05, import_timeout=5, **kwargs)
    world.mark()
    return operator.execute(make_context(task_id="import"))


def cancel(world: World, sample_ids: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("project_id", world.sim.project_id)
    operator = GencoveCancelSamplesOperator(task_id="cancel", sample_ids=sample_ids, **kwargs)
    world.mark()
    return operator.execute(make_context(task_id="cancel"))


def restore(world: World, sample_ids: Any, **kwargs: Any) -> Any:
    kwargs.setdefault("project_id", world.sim.project_id)
    world.mark()  # built in the step: a bad interval is refused when the DAG is parsed
    operator = GencoveRestoreSamplesOperator(task_id="restore", sample_ids=sample_ids, **kwargs)
    return operator.execute(make_context(task_id="restore"))


def list_samples(world: World, **filters: Any) -> Any:
    world.mark()
    return GencoveHook().list_project_samples(world.sim.project_id, **filters)


def expired_key(world: World) -> Any:
    world.sim.expire_key()
    return poke(world)


def key_outside_allow_list(world: World) -> Any:
    world.sim.restrict_key(["10.0.0.0/8"])  # the worker is 127.0.0.1
    return poke(world)


def revoked_key(world: World) -> Any:
    world.sim.revoke_key()
    return poke(world)


def no_key(world: World) -> Any:
    world.connection(password=None)
    return poke(world, [UNKNOWN_SAMPLE])


def plain_http_host(world: World) -> Any:
    world.connection(host="http://api.gencove.com")
    return poke(world, [UNKNOWN_SAMPLE])


def archived_sample(world: World) -> Any:
    sample_id = world.sample("C1")
    world.sim.archive(sample_id)
    return download(world, [sample_id])


def vcf_of_a_failed_qc_sample(world: World) -> Any:
    ok, failed = world.sample("C1"), world.sample("C2", outcome="failed qc")
    return download(world, {"C1": ok, "C2": failed}, file_types=["impute-vcf"])


def file_in_the_way(world: World) -> Any:
    (world.tmp / "out").write_text("not a folder")
    return download(world, [UNKNOWN_SAMPLE])


def unsafe_client_id_from_gencove(world: World) -> Any:
    return download(world, [world.sample("..")])


def missing_local_fastq(world: World) -> Any:
    return import_samples(world, samples={"S1": str(world.tmp / "missing_R1.fastq.gz")})


@dataclass(frozen=True)
class Case:
    id: str
    step: Callable[[World], Any]
    error: type[Exception]
    says: tuple[str, ...]
    local: bool = False  # found before any request
    allowed: tuple[str, ...] = ()  # expensive routes this mistake can only show after


CASES = [
    Case(
        "unknown-project",
        lambda w: poke(w, project_id=UNKNOWN_PROJECT),
        GencoveSampleStatusError,
        (UNKNOWN_PROJECT, "does not exist", "Check project_id", "region"),
    ),
    Case(
        "malformed-project-id",
        lambda w: poke(w, [UNKNOWN_SAMPLE], project_id="my-project"),
        GencoveConfigError,
        ("project_id must be a Gencove id (a UUID", "'my-project'", "check the XCom or template"),
        local=True,
    ),
    Case(
        "malformed-sample-id",
        lambda w: poke(w, ["S1"]),
        GencoveConfigError,
        ("sample_ids must be a Gencove id (a UUID", "'S1'", "check the XCom or template"),
        local=True,
    ),
    Case(
        "sample-ids-empty",
        lambda w: poke(w, []),
        GencoveConfigError,
        ("sample_ids is empty", "give at least one Gencove sample id"),
        local=True,
    ),
    Case(
        "sample-ids-not-a-list",
        lambda w: poke(w, 42),
        GencoveConfigError,
        ("sample_ids must be a list of Gencove sample ids, or a dict client_id -> sample_id", "got int"),
        local=True,
    ),
    Case(
        "download-sample-ids-not-a-list",
        lambda w: download(w, 42),
        GencoveConfigError,
        ("`sample_ids` must be a non-empty list of sample ids", "got 42", "Nothing was downloaded"),
        local=True,
    ),
    Case(
        "expired-api-key-401",
        expired_key,
        GencoveAuthError,
        ("HTTP 401", "has expired", "Create a new key", "Account > API keys", "'gencove_default'"),
    ),
    Case(
        "key-used-outside-its-ip-allow-list-403",
        key_outside_allow_list,
        GencoveIpNotAllowedError,
        ("HTTP 403", "IP allow-list", "Add the workers' addresses", "'gencove_default'"),
    ),
    Case(
        "revoked-api-key-401",
        revoked_key,
        GencoveAuthError,
        ("HTTP 401", "revoked", "Create a new key", "'gencove_default'"),
    ),
    Case(
        "no-api-key-in-connection",
        no_key,
        GencoveConfigError,
        ("'gencove_default' has no Gencove API key", "Account > API keys", "password field"),
        local=True,
    ),
    Case(
        "host-not-https",
        plain_http_host,
        GencoveConfigError,
        ("http://api.gencove.com", "must use https", "Use e.g. https://api.gencove.com"),
        local=True,
    ),
    Case(
        "download-of-an-archived-sample",
        archived_sample,
        GencoveArchivedError,
        ("archived", "nothing was downloaded", "Restore them first", "GencoveRestoreSamplesOperator"),
    ),
    Case(
        "download-impute-vcf-of-a-sample-that-failed-qc",
        vcf_of_a_failed_qc_sample,
        GencoveConfigError,
        ("(failed qc) has no file of type impute-vcf", "allow_failed=True", "Nothing was downloaded"),
    ),
    Case(
        "download-destination-is-a-file",
        file_in_the_way,
        GencoveConfigError,
        ("exists and is not a folder", "give a folder, or move the file away"),
        local=True,
    ),
    Case(
        "download-unsafe-client-id",
        lambda w: download(w, {"../x": UNKNOWN_SAMPLE}),
        GencoveConfigError,
        ("'../x'", "must be a single name (no '/'", "Rename it"),
        local=True,
    ),
    Case(
        "download-sample-whose-gencove-client-id-is-unsafe",
        unsafe_client_id_from_gencove,
        GencoveConfigError,
        ("'..'", "not a safe folder name", "{folder name: sample id}", "Nothing was downloaded"),
    ),
    Case(
        "download-zero-parallel",
        lambda w: download(w, [UNKNOWN_SAMPLE], max_parallel=0),
        GencoveConfigError,
        ("max_parallel must be at least 1", "got 0"),
        local=True,
    ),
    Case(
        "import-with-both-samples-and-s3-uri",
        lambda w: import_samples(w, samples={"S1": FASTQ_URL}, s3_uri="s3://bucket/fastqs/"),
        GencoveConfigError,
        ("Give exactly one of `samples` and `s3_uri`", "Nothing was sent"),
        local=True,
    ),
    Case(
        "import-with-neither-samples-nor-s3-uri",
        lambda w: import_samples(w),
        GencoveConfigError,
        ("Give exactly one of `samples` and `s3_uri`", "Nothing was sent"),
        local=True,
    ),
    Case(
        "import-client-id-with-a-slash",
        lambda w: import_samples(w, samples={"batch1/S1": FASTQ_URL}),
        GencoveConfigError,
        ("'batch1/S1'", "must be a single name (no '/'", "Rename it", "Nothing was sent"),
        local=True,
    ),
    Case(
        "import-three-fastqs-for-one-sample",
        lambda w: import_samples(w, samples={"S1": [FASTQ_URL] * 3}),
        GencoveConfigError,
        ("'S1' has 3 sources", "give one FASTQ (single-end) or two (R1, R2)", "Nothing was sent"),
        local=True,
    ),
    Case(
        "import-local-fastq-that-does-not-exist",
        missing_local_fastq,
        GencoveConfigError,
        ("missing_R1.fastq.gz", "is not a file on this worker", "Check the path", "Nothing was sent"),
        local=True,
    ),
    Case(
        "import-s3-uri-not-starting-with-s3",
        lambda w: import_samples(w, s3_uri="https://bucket.s3.amazonaws.com/fastqs/"),
        GencoveConfigError,
        (
            "s3_uri must be s3://bucket/prefix/",
            "'https://bucket.s3.amazonaws.com/fastqs/'",
            "Nothing was sent",
        ),
        local=True,
    ),
    Case(
        "import-s3-uri-with-metadata-not-a-dict",
        lambda w: import_samples(w, s3_uri="s3://bucket/fastqs/", metadata=["batch1"]),
        GencoveConfigError,
        ("`metadata` must be a dict (or left out)", "airflow_import", "Got list"),
        local=True,
    ),
    Case(
        "sample-not-in-the-project",
        lambda w: poke(w, [UNKNOWN_SAMPLE]),
        GencoveSampleStatusError,
        (UNKNOWN_SAMPLE, "not in Gencove project", "Check project_id and sample_ids"),
    ),
    Case(
        "zero-poke-interval",
        lambda w: poke(w, [UNKNOWN_SAMPLE], poke_interval=0),
        GencoveConfigError,
        ("poke_interval must be a positive number of seconds", "got 0", "give 30 or more"),
        local=True,
    ),
    Case(
        "negative-poke-interval",
        lambda w: poke(w, [UNKNOWN_SAMPLE], poke_interval=-5),
        GencoveConfigError,
        ("poke_interval must be a positive number of seconds", "got -5", "give 30 or more"),
        local=True,
    ),
    Case(
        "restore-zero-poll-interval",
        lambda w: restore(w, [UNKNOWN_SAMPLE], poll_interval=0),
        GencoveConfigError,
        ("poll_interval must be a positive number of seconds", "got 0", "give 30 or more"),
        local=True,
    ),
    Case(
        "cancel-sample-id-rendered-None",
        lambda w: cancel(w, "None"),
        GencoveConfigError,
        ("sample_ids must be a Gencove id (a UUID", "'None'", "check the XCom or template"),
        local=True,
    ),
    Case(
        "sample-list-filter-not-allowed",
        lambda w: list_samples(w, status="done"),
        GencoveConfigError,
        ("status must be one of all, completed, failed, running, succeeded", "'done'"),
        local=True,
    ),
]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    with GencoveSimulator(**SIMULATOR) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", sim.connection_json())
        yield World(sim, tmp_path, monkeypatch)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_with_what_and_how_and_nothing_expensive(world: World, case: Case) -> None:
    with pytest.raises(case.error) as caught:
        case.step(world)
    message = str(caught.value)
    for words in case.says:
        assert words in message, f"{words!r} not in: {message}"
    assert world.sim.api_key not in message
    assert world.sim.api_key.split(".", 1)[1] not in message  # nor the secret half of it
    routes = world.routes()
    if case.local:
        assert routes == [], f"requests before the mistake was found: {routes}"
    assert [r for r in routes if r in EXPENSIVE and r not in case.allowed] == []
    assert world.sim.imports == []  # nothing was asked to be imported


def test_the_table_covers_each_kind_of_mistake_once() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 20


def test_canceling_more_than_20_samples_is_batched_into_calls_of_20_or_fewer(world: World) -> None:
    """Not a mistake: Gencove takes at most 20 sample ids per cancel call (§3.3), so 25 take two calls."""
    world.sim.config.stage_seconds = 30  # they stay running
    ids = [world.sim.add_sample(f"r{i}", finished=False) for i in range(25)]
    assert cancel(world, ids) == ids
    sent = [json.loads(r.fields["sample_ids"]) for r in world.sim.requests_to("cancel")]
    assert [len(batch) for batch in sent] == [20, 5]
    assert [i for batch in sent for i in batch] == ids
    assert {world.sim.sample(i).status for i in ids} == {world.sim.config.cancel_status}


def test_restoring_samples_that_are_not_archived_sends_no_restore(world: World, logs: Any) -> None:
    """Not a mistake: nothing to restore; an empty restore request would restore the whole project."""
    ids = [world.sample("a"), world.sample("b")]
    assert restore(world, ids, poll_interval=0.05) is None
    assert world.routes() == ["project_samples"]  # one read of the list, no restore
    assert any("No sample is archived; no restore requested" in line for line in logs())


def test_the_readme_gencove_troubleshooting_table_lists_every_case() -> None:
    lines = (Path(__file__).resolve().parents[2] / "README.md").read_text().splitlines()
    start = lines.index("## Gencove")
    end = next((n for n in range(start + 1, len(lines)) if lines[n].startswith("## ")), len(lines))
    rows = {line.split("|")[1].strip() for line in lines[start + 1 : end] if line.startswith("| ")}
    problems = {c.id.replace("-", " ") for c in CASES}
    assert problems <= rows, sorted(problems - rows)
