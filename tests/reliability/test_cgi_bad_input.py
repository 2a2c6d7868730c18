"""The CGI bad-input catalogue: every mistake a user (or the server) can make, in one table.

Each row names what goes wrong, the error it must raise, and words that must appear in it: what the
problem is and what to do about it. Every row is also checked for what did not happen: no submission
(unless the row's mistake can only show after one), no download, no job deleted, nothing written to the
destination, and never the token in the message.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest

from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks import cgi as cgi_hook_module
from airflow_provider_tis.hooks.cgi import CgiHook
from airflow_provider_tis.hooks.cgi_models import (
    CgiAuthError,
    CgiConfigError,
    CgiJobFailedError,
    CgiNotFoundError,
    CgiQuotaError,
    CgiResponseError,
    CgiTransferError,
)
from airflow_provider_tis.operators.cgi import CgiDownloadResultsOperator, CgiSubmitOperator
from airflow_provider_tis.sensors.cgi import CgiJobSensor
from airflow_provider_tis.testing import write_mutations
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_tis.testing import CgiSimulator

FAKE_ID = "c22ecf2af788d65ec257"


@dataclass
class World:
    sim: CgiSimulator
    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    mutations: Path = field(init=False)
    out: Path = field(init=False)
    since: int = 0  # requests before the step under test (set by mark)
    jobs_before: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.mutations = write_mutations(self.tmp / "in" / "variants.tsv")
        self.out = self.tmp / "out"

    def mark(self) -> None:
        """What happens from here on is the step under test."""
        self.since = len(self.sim.requests)
        self.jobs_before = set(self.sim.jobs.jobs)

    def requests_to(self, route: str) -> list[Any]:
        return [r for r in self.sim.requests[self.since :] if r.route == route]

    def connection(self, **fields: Any) -> None:
        values = {
            "conn_type": "cgi",
            "host": self.sim.url,
            "login": self.sim.email,
            "password": self.sim.token,
        }
        values.update(fields)
        values = {k: v for k, v in values.items() if v is not None}
        self.monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", json.dumps(values))

    def job(self, path: Path | None = None, status: str = "Done", **kwargs: Any) -> str:
        """A job submitted straight through the hook (not the step under test), once in ``status``."""
        kwargs.setdefault("cancer_type", "CANCER")
        job_id = CgiHook().submit_job({"mutations": path or self.mutations}, title="setup", **kwargs)
        if status == "Done":
            self.sim.shift_clock(60)
        self.sim.wait_for_status(job_id, status, timeout=10)
        return job_id


def submit(world: World, **kwargs: Any) -> str:
    kwargs.setdefault("cancer_type", "CANCER")
    if "mutations" not in kwargs and not {"cnas", "translocations"} & kwargs.keys():
        kwargs["mutations"] = str(world.mutations)
    world.mark()
    return CgiSubmitOperator(task_id="submit", **kwargs).execute(make_context())


def wait(world: World, job_id: str) -> Any:
    world.mark()
    return CgiJobSensor(task_id="wait", job_id=job_id, mode="poke").poke(make_context(task_id="wait"))


def download(world: World, job_id: str | None = None, destination: Any = "", **kwargs: Any) -> Any:
    """Download into ``world.out`` unless another ``destination`` (None included) is given."""
    job_id = job_id or world.job()
    operator = CgiDownloadResultsOperator(
        task_id="download",
        job_id=job_id,
        destination=str(world.out) if destination == "" else destination,
        **kwargs,
    )
    world.mark()
    return operator.execute(make_context(task_id="download"))


def file(name: str, data: bytes) -> Callable[[World], str]:
    def make(world: World) -> str:
        path = world.tmp / name
        path.write_bytes(data)
        return str(path)

    return make


def two_files(world: World) -> str:
    for name in ("a.tsv", "b.tsv"):
        write_mutations(world.tmp / "many" / name)
    return str(world.tmp / "many" / "*.tsv")


def unreadable(world: World) -> Any:
    path = write_mutations(world.tmp / "secret.tsv")
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:  # root could read it regardless of mode
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    with mock.patch.object(Path, "open", refuse):
        return submit(world, mutations=str(path))


def quota_full(world: World) -> Any:
    world.sim.config.max_jobs = 1
    world.job(status="Running")  # another task's job fills the account
    return submit(world)


def error_job(world: World) -> Any:
    bad = write_mutations(world.tmp / "bad.tsv", [("chr7", "140453136", "A", "Z")])
    return wait(world, world.job(bad, status="Error"))


def unknown_cancer_type(world: World) -> Any:
    return wait(world, world.job(status="Error", cancer_type="NOPE"))


def with_connection(
    change: Callable[[World], dict[str, Any]], step: Callable[[World], Any]
) -> Callable[[World], Any]:
    def run(world: World) -> Any:
        world.connection(**change(world))
        return step(world)

    return run


def deleted(step: str) -> Callable[[World], Any]:
    def run(world: World) -> Any:
        job_id = world.job()
        world.sim.delete_job(job_id)
        return download(world, job_id) if step == "download" else wait(world, job_id)

    return run


def not_a_zip(world: World) -> Any:
    job_id = world.job()
    world.sim.job(job_id).zip_path.write_bytes(b"<html><body>Internal Server Error</body></html>\n" * 20)
    return download(world, job_id, extract=True)


def cut_short(world: World) -> Any:
    """The server ends a plain 200 answer early while claiming that was all (a proxy that lies)."""
    job_id = world.job()
    world.sim.faults.lie_in_download("short_length", nbytes=300, times=10)
    return download(world, job_id)


def running(world: World) -> Any:
    world.sim.config.run_seconds = 60
    return download(world, world.job(status="Running"))


def foreign_job(world: World) -> Any:
    job_id = world.job()
    bob = world.sim.add_user("bob@example.org")
    world.connection(login="bob@example.org", password=bob)
    return download(world, job_id)


def destination_is_a_file(world: World) -> Any:
    world.out.parent.mkdir(parents=True, exist_ok=True)
    world.out.write_text("not a folder")
    try:
        return download(world)
    finally:
        world.out.unlink()


def list_answer_not_json(world: World) -> Any:
    world.sim.faults.rewrite("list", lambda data: (b"<html>Please log in</html>", "text/html"))
    return submit(world)


def unknown_status(world: World) -> Any:
    job_id = world.job()
    world.sim.faults.rewrite(
        "status", lambda data: (json.dumps({**data, "status": "Queued"}).encode(), "application/json")
    )
    return wait(world, job_id)


@dataclass(frozen=True)
class Case:
    run: Callable[[World], Any]
    error: type[Exception]
    words: tuple[str, ...]  # the problem, and what to do about it
    submits: int = 0  # submissions the step under test may make (the mistake shows only after one)


# fmt: off
CASES: dict[str, Case] = {
    # -- submission parameters ---------------------------------------------------------------------
    "no inputs": Case(lambda w: submit(w, mutations=None), CgiConfigError, ("No input given", "pass at least one of mutations, cnas or translocations")),
    "empty file": Case(lambda w: submit(w, mutations=file("e.tsv", b"")(w)), CgiConfigError, ("is empty", "e.tsv")),
    "missing file": Case(lambda w: submit(w, mutations=str(w.tmp / "missing.tsv")), CgiConfigError, ("does not exist", "check the path")),
    "missing file via file://": Case(lambda w: submit(w, cnas=f"file://{w.tmp}/gone.tsv"), CgiConfigError, ("cnas input", "does not exist", "check the path")),
    "a directory": Case(lambda w: submit(w, mutations=str(w.tmp / "in")), CgiConfigError, ("is a directory", "give the file itself")),
    "glob matches nothing": Case(lambda w: submit(w, mutations=str(w.tmp / "none-*.tsv")), CgiConfigError, ("matched no file", "check the pattern")),
    "glob matches two files": Case(lambda w: submit(w, mutations=two_files(w)), CgiConfigError, ("names 2 files", "give exactly one file")),
    "unreadable file": Case(unreadable, CgiConfigError, ("cannot be read", "check its permissions")),
    "input on unknown storage": Case(lambda w: submit(w, mutations="nosuch://bucket/a.tsv"), CgiConfigError, ("Cannot read input", "installed provider")),
    "unknown reference": Case(lambda w: submit(w, reference="hg37"), CgiConfigError, ("reference='hg37' is not valid", "use one of hg19, hg38")),
    "empty cancer_type": Case(lambda w: submit(w, cancer_type=""), CgiConfigError, ("cancer_type is empty", "e.g. 'CANCER'")),
    "blank cancer_type": Case(lambda w: submit(w, cancer_type="   "), CgiConfigError, ("cancer_type is empty", "acronym")),
    "cancer_type from a template that gave None": Case(lambda w: submit(w, cancer_type=None), CgiConfigError, ("cancer_type is empty",)),
    # -- connection --------------------------------------------------------------------------------
    "bad email/token (401)": Case(with_connection(lambda w: {"password": "f" * 20}, submit), CgiAuthError, ("email and token were refused", "password field of connection 'cgi_default'")),
    "unknown email (401)": Case(with_connection(lambda w: {"login": "mallory@example.org"}, submit), CgiAuthError, ("email and token were refused", "login field")),
    "missing email": Case(with_connection(lambda w: {"login": None}, submit), CgiConfigError, ("no CGI email (login field)", "Put your CGI account's email in the login field")),
    "missing token": Case(with_connection(lambda w: {"password": None}, submit), CgiConfigError, ("no CGI API token (password field)", "CGI account page")),
    "email with a space": Case(with_connection(lambda w: {"login": "alice example.org"}, submit), CgiConfigError, ("must be your CGI account's email",)),
    "CA bundle that does not exist": Case(with_connection(lambda w: {"extra": {"verify": str(w.tmp / "ca.pem")}}, submit), CgiConfigError, ("CA bundle", "does not exist", "Give the path of a CA bundle")),
    "host that is not a URL": Case(with_connection(lambda w: {"host": "ftp://cgi.example.org"}, submit), CgiConfigError, ("is not a server URL", "http or https")),
    "a server that is not CGI": Case(list_answer_not_json, CgiResponseError, ("not JSON", "Check that the connection's host is the Cancer Genome Interpreter")),
    # -- the account and the job -------------------------------------------------------------------
    "quota exceeded at submission": Case(quota_full, CgiQuotaError, ("limit of 1 jobs", "delete finished jobs", "CgiDeleteJobOperator"), submits=1),
    "an Error job": Case(error_job, CgiJobFailedError, ("ended in Error", "alt allele 'Z' is not valid", "Analysis failed")),
    "an unknown cancer type": Case(unknown_cancer_type, CgiJobFailedError, ("ended in Error", "Unknown cancer type 'NOPE'")),
    "a status this version does not know": Case(unknown_status, CgiResponseError, ("status 'Queued'", "Upgrade airflow-provider-tis")),
    "job id that is not one (sensor)": Case(lambda w: wait(w, "../api/v1"), CgiConfigError, ("is not a CGI job id", "check the XCom or template")),
    "job id that is not one (download)": Case(lambda w: download(w, "abc def"), CgiConfigError, ("is not a CGI job id", "check the XCom or template")),
    "job id rendered from None": Case(lambda w: download(w, "None"), CgiConfigError, ("check the XCom or template",)),
    "a deleted job (sensor)": Case(deleted("wait"), CgiJobFailedError, ("does not exist any more", "deleted")),
    "a deleted job (download)": Case(deleted("download"), CgiNotFoundError, ("No such job", "deleted")),
    "another account's job": Case(foreign_job, CgiNotFoundError, ("No such job for this account",)),
    "a job still running (download)": Case(running, CgiJobFailedError, ("is Running", "Wait for it with CgiJobSensor")),
    # -- results and destination -------------------------------------------------------------------
    "a zip that is not a zip": Case(not_a_zip, CgiTransferError, ("not a complete zip", "nothing was kept", "Run the task again")),
    "a zip cut short by the server": Case(cut_short, CgiTransferError, ("not a complete zip", "Run the task again")),
    "missing destination": Case(lambda w: download(w, destination=None), CgiConfigError, ("`destination` is missing", "give a local folder or a storage URL")),
    "destination rendered from None": Case(lambda w: download(w, destination="None"), CgiConfigError, ("`destination` is 'None'", "check the template or XCom")),
    "destination on unknown storage": Case(lambda w: download(w, destination="nosuch://bucket/out"), CgiConfigError, ("Cannot use destination", "installed provider")),
    "destination is a file": Case(destination_is_a_file, CgiConfigError, ("exists and is not a folder",)),
}
# fmt: on


@pytest.fixture(autouse=True)
def no_real_waits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        cgi_hook_module, "RetryPolicy", lambda: RetryPolicy(sleep=lambda s: time.sleep(min(s, 0.01)))
    )


def test_the_catalogue_is_big_enough():
    assert len(CASES) >= 15
    assert {case.error for case in CASES.values()} >= {
        CgiConfigError,
        CgiAuthError,
        CgiQuotaError,
        CgiJobFailedError,
        CgiNotFoundError,
        CgiTransferError,
    }


@pytest.mark.parametrize("name", list(CASES))
def test_bad_input(name, cgi_simulator, tmp_path, monkeypatch):
    case = CASES[name]
    world = World(cgi_simulator, tmp_path, monkeypatch)
    with pytest.raises(Exception) as err:  # the exact class is checked below
        case.run(world)
    text = str(err.value)
    assert type(err.value) is case.error, f"{type(err.value).__name__}: {text}"
    for word in case.words:
        assert word in text, f"{word!r} not in: {text}"
    assert cgi_simulator.token not in text
    # nothing expensive happened
    assert len(world.requests_to("submit")) == case.submits
    assert world.requests_to("delete") == []
    if case.submits == 0:
        assert set(cgi_simulator.jobs.jobs) == world.jobs_before  # no job was created
    if case.error is not CgiTransferError:
        assert world.requests_to("download") == []
    written = [p for p in world.out.rglob("*") if p.is_file()] if world.out.is_dir() else []
    assert written == []
