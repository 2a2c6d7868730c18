"""The Seven Bridges bad-input catalogue: every mistake a user can make, in one table.

Each row names what goes wrong, the error it must raise, and words that must appear in it: what the
problem is and what to do about it. Each runs the provider's own operator or sensor against the simulator
over HTTP, and is also checked for what did not happen: a row marked ``local`` sends no request at all
(the mistake is found before any); every other row starts nothing expensive (no task created or run, no
upload started, no download link asked, no abort sent) beyond what its row allows, leaves no multipart
upload behind, and never shows the token in the message.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SbgAuthError,
    SbgConfigError,
    SbgForbiddenError,
    SbgNotFoundError,
    SbgTaskFailedError,
    SbgTaskValidationError,
)
from airflow_provider_tis.operators.sevenbridges import (
    SevenBridgesAbortTaskOperator,
    SevenBridgesRunTaskOperator,
)
from airflow_provider_tis.operators.sevenbridges_transfer import (
    SevenBridgesDownloadOperator,
    SevenBridgesUploadOperator,
)
from airflow_provider_tis.sensors.sevenbridges import SevenBridgesTaskSensor
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable

#: What costs money or changes the platform: none of it may happen unless a row allows it.
EXPENSIVE = (
    "task_create",
    "task_edit",
    "task_run",
    "task_abort",
    "upload_init",
    "part_upload",
    "upload_complete",
    "download_info",
    "store",
)
UNKNOWN_TASK = "00000000-0000-4000-8000-000000000000"  # well formed, but no such task
UNKNOWN_FILE = "0123456789abcdef01234567"  # shaped like a file id, but no such file


@dataclass
class World:
    sim: SevenBridgesSimulator
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    since: int = 0  # requests before the step under test (set by mark)
    tasks_before: set[str] = field(default_factory=set)

    def mark(self) -> None:
        """What happens from here on is the step under test."""
        self.since = len(self.sim.requests)
        self.tasks_before = set(self.sim.jobs.jobs)

    def routes(self) -> list[str]:
        return [r.route for r in self.sim.requests[self.since :]]

    def connection(self, **fields: Any) -> None:
        values = json.loads(self.sim.connection_json())
        values.update(fields)
        values = {k: v for k, v in values.items() if v is not None}
        self.monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", json.dumps(values))

    def inputs(self, **extra: Any) -> dict[str, Any]:
        reads = self.sim.add_file(f"reads-{os.urandom(3).hex()}.fq", b"ACGTACGT\n")
        reference = self.sim.add_file(f"ref-{os.urandom(3).hex()}.fa", b">chr1\nNNNN\n")
        return {"reads": reads, "reference": reference, **extra}

    def completed_task(self) -> str:
        """A COMPLETED task made straight through the hook (not the step under test)."""
        inputs = {k: {"class": "File", "path": v} for k, v in self.inputs().items()}
        task = SevenBridgesHook().create_task(self.sim.demo_app, inputs, name="done", run=True)
        self.sim.wait_for_status(task.id, "COMPLETED", timeout=10)
        return task.id


def run(world: World, **kwargs: Any) -> Any:
    kwargs.setdefault("app", world.sim.demo_app)
    if "inputs" not in kwargs:
        kwargs["inputs"] = world.inputs()
    operator = SevenBridgesRunTaskOperator(task_id="run", **kwargs)
    world.mark()
    return operator.execute(make_context(task_id="run"))


def poke(world: World, task_id: str, **kwargs: Any) -> Any:
    world.mark()  # the sensor is built in the step: a bad interval is refused when the DAG is parsed
    op = SevenBridgesTaskSensor(task_id="wait", sbg_task_id=task_id, mode="poke", **kwargs)
    return op.poke(make_context(task_id="wait"))


def upload(world: World, files: Any, **kwargs: Any) -> Any:
    operator = SevenBridgesUploadOperator(task_id="upload", files=files, **kwargs)
    world.mark()
    return operator.execute(make_context(task_id="upload"))


def download(world: World, destination: Any = None, task_id: str | None = None, **kwargs: Any) -> Any:
    task_id = task_id or world.completed_task()
    operator = SevenBridgesDownloadOperator(
        task_id="download",
        sbg_task_id=task_id,
        destination=str(world.tmp / "out") if destination is None else destination,
        **kwargs,
    )
    world.mark()
    return operator.execute(make_context(task_id="download"))


def abort(world: World, task_id: str) -> Any:
    world.mark()
    return SevenBridgesAbortTaskOperator(task_id="abort", sbg_task_id=task_id).execute(make_context())


def invalid_draft(world: World) -> Any:
    inputs = world.inputs(threads="many")  # an int input given text
    del inputs["reference"]  # a required input left out
    return run(world, inputs=inputs)


def revoked(world: World) -> Any:
    world.sim.revoke()
    return run(world)


def no_token(world: World) -> Any:
    world.connection(password=None)
    return run(world)


def bobs_project(world: World) -> str:
    world.sim.add_user("bob")
    return world.sim.add_project("private", owner="bob")


def local_file(world: World) -> str:
    path = world.tmp / "a.fq"
    path.write_text("ACGT\n")
    return str(path)


def upload_to_bobs_project(world: World) -> Any:
    return upload(world, local_file(world), project=bobs_project(world))


def file_in_the_way(world: World) -> Any:
    (world.tmp / "out").write_text("not a folder")
    return download(world)


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
        lambda w: run(w, project="alice/no-such-project"),
        SbgNotFoundError,
        ("alice/no-such-project", "does not exist", "Check the id"),
    ),
    Case(
        "malformed-project-id",
        lambda w: run(w, project="alice"),
        SbgConfigError,
        ("'alice' is not a Seven Bridges project id", "'owner/project'"),
        local=True,
    ),
    Case(
        "unknown-app",
        lambda w: run(w, app="alice/demo/no-such-app"),
        SbgConfigError,
        ("does not exist", "check the app id", "No task was created"),
    ),
    Case(
        "malformed-app-id",
        lambda w: run(w, app="bwa-mem"),
        SbgConfigError,
        ("not a Seven Bridges app id", "'owner/project/app'"),
        local=True,
    ),
    Case(
        "input-the-app-does-not-declare",
        lambda w: run(w, inputs=w.inputs(thraeds=4)),
        SbgConfigError,
        ("has no input 'thraeds'", "its inputs are", "threads", "No task was created"),
    ),
    Case(
        "invalid-inputs-give-a-draft-with-errors",
        invalid_draft,
        SbgTaskValidationError,
        ("reference", "threads", "stays a DRAFT", "fix its inputs"),
        allowed=("task_create",),  # only the platform knows; the DRAFT it makes is never run
    ),
    Case(
        "input-file-that-does-not-exist",
        lambda w: run(w, inputs={**w.inputs(), "reads": UNKNOWN_FILE}),
        SbgTaskValidationError,
        (UNKNOWN_FILE, "does not exist", "stays a DRAFT", "fix its inputs"),
        allowed=("task_create",),
    ),
    Case(
        "inputs-not-a-dict",
        lambda w: run(w, inputs=["reads.fq"]),
        SbgConfigError,
        ("inputs must be a dict", "render_template_as_native_obj"),
        local=True,
    ),
    Case(
        "input-not-json-serialisable",
        lambda w: run(w, inputs=w.inputs(sample={"s1", "s2"})),
        SbgConfigError,
        ("Input 'sample'", "JSON values", "a set to a list", "No task was created"),
        local=True,
    ),
    Case(
        "input-nan",
        lambda w: run(w, inputs=w.inputs(threads=float("nan"))),
        SbgConfigError,
        ("Input 'threads'", "NaN", "JSON values"),
        local=True,
    ),
    Case(
        "task-name-not-text",
        lambda w: run(w, task_name=42),
        SbgConfigError,
        ("task_name must be text", "int", "leave it out"),
        local=True,
    ),
    Case(
        "revoked-token-401",
        revoked,
        SbgAuthError,
        ("sevenbridges_default", "Developer > Auth token"),
    ),
    Case(
        "no-token-in-connection",
        no_token,
        SbgConfigError,
        ("'sevenbridges_default' has no Seven Bridges auth token", "Developer > Auth token", "password"),
        local=True,
    ),
    Case(
        "task-id-that-is-a-file-id",
        lambda w: poke(w, UNKNOWN_FILE),
        SbgConfigError,
        (UNKNOWN_FILE, "not a Seven Bridges task id", "UUIDs", "Check the XCom or template"),
        local=True,
    ),
    Case(
        "task-id-rendered-None",
        lambda w: poke(w, "None"),
        SbgConfigError,
        ("'None' is not a Seven Bridges task id", "check the XCom or template"),
        local=True,
    ),
    Case(
        "unknown-task",
        lambda w: poke(w, UNKNOWN_TASK),
        SbgTaskFailedError,
        (UNKNOWN_TASK, "does not exist any more"),
    ),
    Case(
        "zero-poll-interval",
        lambda w: poke(w, UNKNOWN_TASK, poke_interval=0),
        SbgConfigError,
        ("poke_interval must be a positive number of seconds", "got 0", "30 or more"),
        local=True,
    ),
    Case(
        "negative-poll-interval",
        lambda w: poke(w, UNKNOWN_TASK, poke_interval=-5),
        SbgConfigError,
        ("poke_interval must be a positive number of seconds", "got -5"),
        local=True,
    ),
    Case(
        "abort-a-task-id-that-is-not-one",
        lambda w: abort(w, "my-task-name"),
        SbgConfigError,
        ("'my-task-name' is not a Seven Bridges task id", "UUIDs"),
        local=True,
    ),
    Case(
        "upload-missing-local-path",
        lambda w: upload(w, str(w.tmp / "missing.fq")),
        SbgConfigError,
        ("missing.fq", "cannot be read", "exists on this worker", "Nothing was uploaded"),
        local=True,
    ),
    Case(
        "upload-glob-matching-nothing",
        lambda w: upload(w, str(w.tmp / "*.bam")),
        SbgConfigError,
        ("*.bam", "matched no file", "check the pattern"),
        local=True,
    ),
    Case(
        "upload-bad-conflict-mode",
        lambda w: upload(w, local_file(w), on_conflict="replace"),
        SbgConfigError,
        ("on_conflict must be one of skip, rename, overwrite", "'replace'"),
        local=True,
    ),
    Case(
        "upload-to-a-project-without-access-403",
        upload_to_bobs_project,
        SbgForbiddenError,
        ("HTTP 403", "ask an admin of the project", "use one of your own projects"),
    ),
    Case(
        "download-unknown-output-id",
        lambda w: download(w, outputs=["no_such_output"]),
        SbgConfigError,
        ("no output 'no_such_output'", "its outputs are merged, qc, report", "Nothing was downloaded"),
    ),
    Case(
        "download-destination-not-a-folder",
        file_in_the_way,
        SbgConfigError,
        ("exists and is not a folder", "move the file away"),
    ),
    Case(
        "download-zero-parallel",
        lambda w: download(w, task_id=UNKNOWN_TASK, max_parallel=0),
        SbgConfigError,
        ("max_parallel must be at least 1", "got 0"),
        local=True,
    ),
]


@pytest.fixture
def world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, recorded_waits: list[float]) -> Any:
    with SevenBridgesSimulator(**FAST) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", sim.connection_json())
        yield World(sim, tmp_path, monkeypatch)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_fails_with_what_and_how_and_nothing_expensive(world: World, case: Case) -> None:
    with pytest.raises(case.error) as caught:
        case.step(world)
    message = str(caught.value)
    for words in case.says:
        assert words in message, f"{words!r} not in: {message}"
    assert world.sim.token not in message
    routes = world.routes()
    if case.local:
        assert routes == [], f"requests before the mistake was found: {routes}"
    assert [r for r in routes if r in EXPENSIVE and r not in case.allowed] == []
    assert world.sim.uploads.uploads == {}  # no multipart upload begun or left behind
    new = [world.sim.task(t) for t in set(world.sim.jobs.jobs) - world.tasks_before]
    assert [t.status for t in new] == ["DRAFT"] * len(new)  # a DRAFT is the most a mistake leaves
    assert len(new) == routes.count("task_create")


def test_the_table_covers_each_kind_of_mistake_once() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)) >= 15


def test_aborting_an_unknown_task_is_nothing_to_abort(world: World, logs: Any) -> None:
    """Not a mistake: the abort operator (on_kill's, a cleanup DAG's) wants nothing running."""
    assert abort(world, UNKNOWN_TASK) is None
    assert world.routes() == ["task_abort"]
    assert any("does not exist (any more); nothing to abort" in line for line in logs())


def test_the_readme_troubleshooting_table_lists_every_case() -> None:
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("\n## Seven Bridges", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    problems = {c.id.replace("-", " ") for c in CASES}
    assert problems <= rows, sorted(problems - rows)
