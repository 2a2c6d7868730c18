"""The bad-input catalogue: every mistake a user (or a server) can make, in one table.

Each row names what goes wrong, the error it must raise, and words that must appear in it: what the
problem is and how to fix it. Every row is also checked for what did not happen: no upload, no download
spent, nothing written to the destination. Rows without an error are inputs that are accepted with a
warning, and the warning is checked instead. README's "Troubleshooting" table is made from this one.
"""

from __future__ import annotations

import functools
import gzip
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from unittest import mock

import pytest

from airflow_provider_tis.hooks import TisHook
from airflow_provider_tis.hooks.errors import (
    TisConfigError,
    TisForbiddenError,
    TisResponseError,
)
from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.sensors import JobStateSensor
from airflow_provider_tis.testing import write_vcf
from tests.conftest import make_token
from tests.operators.conftest import make_context

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_tis.testing import TisSimulator

PARAMS = {"refpanel": "topmed-r3", "population": "all"}


@dataclass
class World:
    sim: TisSimulator
    tmp: Path
    vcf: Path
    monkeypatch: pytest.MonkeyPatch
    out: Path = field(init=False)

    def __post_init__(self) -> None:
        self.out = self.tmp / "out"

    def connection(self, **fields: Any) -> None:
        fields.setdefault("conn_type", "tis")
        self.monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", json.dumps(fields))

    def finished_job(self, **config: Any) -> str:
        for name, value in config.items():
            setattr(self.sim.config, name, value)
        job_id = TisHook().submit_job([self.vcf], PARAMS)
        self.sim.wait_for_state(job_id, 4)
        return job_id


def submit(world: World, files: Any = None, **kwargs: Any) -> str:
    kwargs = {**PARAMS, "capacity_poll_interval": 0.01, **kwargs}
    operator = SubmitImputationOperator(
        task_id="submit", files=str(world.vcf) if files is None else files, **kwargs
    )
    return operator.execute(make_context())


def wait(world: World, job_id: str) -> Any:
    return JobStateSensor(task_id="wait", job_id=job_id, mode="poke").poke(make_context(task_id="wait"))


def download(world: World, job_id: str | None = None, destination: Any = "", **kwargs: Any) -> Any:
    """Download into ``world.out`` unless another ``destination`` (None included) is given."""
    operator = DownloadResultsOperator(
        task_id="download",
        job_id=job_id or world.finished_job(),
        destination=str(world.out) if destination == "" else destination,
        **kwargs,
    )
    return operator.execute(make_context(task_id="download"))


def folder_in_the_way(world: World) -> Any:
    (world.tmp / "other" / "qc_report.txt").mkdir(parents=True)
    return download(world, destination=str(world.tmp / "other"))


def file(name: str, data: bytes) -> Callable[[World], str]:
    def make(world: World) -> str:
        path = world.tmp / name
        path.write_bytes(data)
        return str(path)

    return make


def unreadable(world: World) -> Any:
    path = write_vcf(world.tmp / "secret.vcf.gz")
    real_open = Path.open

    def refuse(self: Path, *args: Any, **kwargs: Any) -> Any:  # root could read it regardless of mode
        if self == path:
            raise PermissionError(13, "Permission denied")
        return real_open(self, *args, **kwargs)

    with mock.patch.object(Path, "open", refuse):
        return submit(world, str(path))


def shrinks_during_upload(world: World) -> Any:
    """The file loses half its bytes once its upload has started (its size was read before)."""
    size = world.vcf.stat().st_size

    def progress(log: Any, label: str) -> Callable[[int, int], None]:
        return lambda sent, total: os.truncate(world.vcf, size // 2)  # only the first call changes it

    # where they are defined: the operator imports them when it runs
    world.monkeypatch.setattr("airflow_provider_tis.core.progress.ProgressLog", progress)
    # A server waiting for the missing bytes would hold the task until the submit timeout: make that short.
    world.monkeypatch.setattr(
        "airflow_provider_tis.hooks.tis.TisHook", functools.partial(TisHook, submit_timeout=5)
    )
    return submit(world)


def foreign_job(world: World) -> Any:
    job_id = world.finished_job()
    world.connection(host=world.sim.url, password=world.sim.issue_token("bob"))
    return wait(world, job_id)


def job_answer(change: Callable[[dict], tuple[bytes, str]]) -> Callable[[World], Any]:
    def run(world: World) -> Any:
        job_id = world.finished_job()
        world.sim.faults.rewrite("job", change)
        return download(world, job_id)

    return run


def as_json(change: Callable[[dict], Any]) -> Callable[[dict], tuple[bytes, str]]:
    return lambda data: (json.dumps(change(data)).encode(), "application/json")


def output_named(name: str) -> Callable[[World], Any]:
    return lambda world: download(world, world.finished_job(extra_output_names=(name,)))


def with_sizes(text: str) -> Callable[[dict], dict]:
    def change(data: dict) -> dict:
        for param in data["outputParams"]:
            for item in param["files"]:
                item["size"] = text
        return data

    return change


@dataclass(frozen=True)
class Case:
    run: Callable[[World], Any]
    error: type[Exception] | None  # None: accepted, with a warning containing the words
    words: tuple[str, ...]  # the problem, and what to do about it


CASES: dict[str, Case] = {
    # -- parameters --------------------------------------------------------------------------------
    "build not hg19/hg38": Case(lambda w: submit(w, build="hg37"), TisConfigError, ("build='hg37' is not valid", "use one of hg19, hg38")),
    "unknown mode": Case(lambda w: submit(w, mode="phasing"), TisConfigError, ("mode='phasing' is not valid", "use one of qc_only, imputation")),
    "unknown phasing": Case(lambda w: submit(w, phasing="shapeit"), TisConfigError, ("phasing='shapeit' is not valid", "use one of")),
    "phasing the server lacks": Case(lambda w: submit(w, phasing="beagle"), TisConfigError, ("phasing='beagle' is not offered by this server", "use one of eagle, no_phasing")),
    "r2 filter not in the list": Case(lambda w: submit(w, r2_filter=0.5), TisConfigError, ("r2_filter='0.5' is not valid", "use one of 0, 0.001, 0.1, 0.2, 0.3")),
    "unknown refpanel": Case(lambda w: submit(w, refpanel="hrc-r1.1"), TisConfigError, ("refpanel='hrc-r1.1' is not offered by this server", "use one of topmed-r3")),
    "population not of the panel": Case(lambda w: submit(w, population="eur"), TisConfigError, ("population='eur' is not available", "use one of all, off")),
    "password with &": Case(lambda w: submit(w, password="a&b"), TisConfigError, ("password contains '&'", "HTML-escapes")),
    "password with <": Case(lambda w: submit(w, password="a<b"), TisConfigError, ("password contains '<'",)),
    "password with >": Case(lambda w: submit(w, password="a>b"), TisConfigError, ("password contains '>'",)),
    'password with "': Case(lambda w: submit(w, password='a"b'), TisConfigError, ("password contains '\"'",)),
    "password not ASCII": Case(lambda w: submit(w, password="pässword"), TisConfigError, ("password contains 'ä'",)),
    "password with $": Case(lambda w: submit(w, password="a$HOMEb"), TisConfigError, ("password contains '$'", "7z in a shell script")),
    "password with a backtick": Case(lambda w: submit(w, password="a`id`b"), TisConfigError, ("password contains '`'", "7z in a shell script")),
    "password with a backslash": Case(lambda w: submit(w, password="a\\b"), TisConfigError, ("password contains '\\'", "7z in a shell script")),
    'job name with "': Case(lambda w: submit(w, job_name='my "study"'), TisConfigError, ("job name contains '\"'",)),
    # -- files -------------------------------------------------------------------------------------
    "missing file": Case(lambda w: submit(w, str(w.tmp / "missing.vcf.gz")), TisConfigError, ("does not exist", "check the path")),
    "unreadable file": Case(unreadable, TisConfigError, ("cannot be read", "check its permissions")),
    "empty file": Case(lambda w: submit(w, file("e.vcf.gz", b"")(w)), TisConfigError, ("is empty", "bgzip")),
    "not gzip": Case(lambda w: submit(w, file("t.vcf.gz", b"##fileformat=VCFv4.2\n")(w)), TisConfigError, ("not gzip-compressed", "Compress it with `bgzip`")),
    "gzip but not BGZF": Case(lambda w: submit(w, file("g.vcf.gz", gzip.compress(b"##fileformat=VCFv4.2\n"))(w)), TisConfigError, ("gzip but not BGZF", "bgzip")),
    "not named .vcf.gz": Case(lambda w: submit(w, file("a.vcf", b"x")(w)), TisConfigError, ("is not named *.vcf.gz",)),
    "a directory": Case(lambda w: submit(w, (w.tmp / "d.vcf.gz").mkdir() or str(w.tmp / "d.vcf.gz")), TisConfigError, ("is a directory", "list the .vcf.gz files in it")),
    "duplicate base names": Case(lambda w: submit(w, [str(write_vcf(w.tmp / d / "s.vcf.gz")) for d in "xy"]), TisConfigError, ("have the same file name",)),
    "glob matches nothing": Case(lambda w: submit(w, str(w.tmp / "none-*.vcf.gz")), TisConfigError, ("matched no file", "check the pattern")),
    "no files": Case(lambda w: submit(w, []), TisConfigError, ("No input files given",)),
    "file shrinks during upload": Case(shrinks_during_upload, TisConfigError, ("changed during the upload", "chr20.vcf.gz", "bytes")),
    "input on unknown storage": Case(lambda w: submit(w, "nosuch://bucket/a.vcf.gz"), TisConfigError, ("Cannot read input", "installed provider")),
    # -- job ids -----------------------------------------------------------------------------------
    "empty job id": Case(lambda w: wait(w, ""), TisConfigError, ("is not a TIS job id", "check the XCom or template")),
    "malformed job id": Case(lambda w: wait(w, "../jobs"), TisConfigError, ("'../jobs' is not a TIS job id",)),
    "job id with a newline": Case(lambda w: wait(w, "job-20251016-224029-866\n"), TisConfigError, ("'job-20251016-224029-866\\n' is not a TIS job id",)),
    "another user's job": Case(foreign_job, TisForbiddenError, ("HTTP 403", "The job belongs to another user")),
    # -- destinations ------------------------------------------------------------------------------
    "unwritable destination": Case(lambda w: download(w, destination="/proc/tis-results"), TisConfigError, ("is not writable by this worker", "Choose a folder")),
    "destination is a file": Case(lambda w: download(w, destination=file("f", b"x")(w)), TisConfigError, ("exists and is not a folder",)),
    "unknown storage scheme": Case(lambda w: download(w, destination="nosuch://bucket/x"), TisConfigError, ("Cannot use destination", "installed provider supports")),
    "empty destination": Case(lambda w: download(w, destination=" "), TisConfigError, ("`destination` is empty", "give a local folder")),
    "no destination": Case(lambda w: download(w, destination=None), TisConfigError, ("`destination` is missing", "give a local folder")),
    "destination rendered as None": Case(lambda w: download(w, destination="None"), TisConfigError, ("`destination` is 'None'", "check the template or XCom")),
    "a folder where a result file goes": Case(folder_in_the_way, TisConfigError, ("A folder is in the way", "Move it away")),
    "include is an empty list": Case(lambda w: download(w, include=[]), TisConfigError, ("`include` is empty, so nothing is selected", "Leave it out")),
    # -- connections -------------------------------------------------------------------------------
    "no token": Case(lambda w: (w.connection(host=w.sim.url), submit(w)), TisConfigError, ("has no TIS API token", "password field")),
    "malformed token": Case(lambda w: (w.connection(host=w.sim.url, password="abc"), submit(w)), TisConfigError, ("is not a TIS API token", "Copy the token again")),
    "expired token": Case(lambda w: (w.connection(host=w.sim.url, password=make_token(days=-1)), submit(w)), TisConfigError, ("expired on", "Create a new token")),
    "host not http(s)": Case(lambda w: (w.connection(host="ftp://tis.example.org", password=w.sim.token), submit(w)), TisConfigError, ("is not a server URL", "Use e.g. https://")),
    "user and password in the host": Case(lambda w: (w.connection(host="https://me:pw@tis.example.org", password=w.sim.token), submit(w)), TisConfigError, ("must not contain a user or password", "put the API token in the connection's password field")),
    "CA bundle path missing": Case(lambda w: (w.connection(host=w.sim.url, password=w.sim.token, extra={"verify": str(w.tmp / "ca.pem")}), submit(w)), TisConfigError, ("Extra 'verify' of connection 'tis_default'", "does not exist", "CA bundle")),
    "bad timeout extra": Case(lambda w: (w.connection(host=w.sim.url, password=w.sim.token, extra={"timeout": "-1"}), submit(w)), TisConfigError, ("'timeout'", "must be positive")),
    "host without scheme (https assumed)": Case(lambda w: (w.connection(host="tis.example.org", password=w.sim.token), TisHook().settings.base_url), None, ("https://tis.example.org",)),
    "plain http to a remote host": Case(lambda w: (w.connection(host="http://tis.example.org", password=w.sim.token), TisHook("tis_default").settings), None, ("plain http to a remote host", "Use https")),
    "TLS verification off": Case(lambda w: (w.connection(host=w.sim.url, password=w.sim.token, extra={"verify": False}), TisHook().settings), None, ("TLS verification is off",)),
    # -- server answers ----------------------------------------------------------------------------
    "HTML instead of JSON": Case(job_answer(lambda d: (b"<html><body>Sign in</body></html>", "text/html")), TisResponseError, ("something that is not JSON", "Check that the connection's host is the imputation server")),
    "truncated JSON": Case(job_answer(lambda d: (json.dumps(d).encode()[:50], "application/json")), TisResponseError, ("not JSON",)),
    "unknown state number": Case(job_answer(as_json(lambda d: {**d, "state": 42})), TisResponseError, ("state 42", "Upgrade airflow-provider-tis")),
    "job without an id": Case(job_answer(as_json(lambda d: {k: v for k, v in d.items() if k != "id"})), TisResponseError, ("a job without an id", "report this to its administrators")),
    "job list of the wrong shape": Case(lambda w: (w.sim.faults.rewrite("jobs", as_json(lambda d: {"jobs": []})), submit(w)), TisResponseError, ("an unexpected job list", "Check that the connection's host")),
    "file name with ..": Case(output_named("../../escaped.txt"), TisResponseError, ("contains '..'", "outside the destination folder")),
    "absolute file name": Case(output_named("/etc/passwd"), TisResponseError, ("is an absolute path", "nothing was downloaded")),
    "file name with NUL": Case(output_named("a\x00b.txt"), TisResponseError, ("contains a NUL character",)),
    "file name '.'": Case(output_named("."), TisResponseError, ("names a folder, not a file", "nothing was downloaded")),
    "two files with one name": Case(output_named("chr_20.zip"), TisResponseError, ("would both be written to 'chr_20.zip'", "separate destinations")),
    "a file and a folder at one path": Case(output_named("statistics"), TisResponseError, ("would both be written to 'statistics'",)),
    "deeply nested JSON": Case(job_answer(lambda d: (b"[" * 100_000 + b"]" * 100_000, "application/json")), TisResponseError, ("JSON nested too deeply", "Check that the connection's host")),
    "answer too large": Case(job_answer(as_json(lambda d: {**d, "padding": " " * (9 << 20)})), TisResponseError, ("the answer was too large", "report this to its administrators")),
    "time out of range": Case(job_answer(as_json(lambda d: {**d, "endTime": 1e20})), TisResponseError, ("a time out of range (1e+20 ms", "administrators")),
    "time not a number": Case(job_answer(as_json(lambda d: {**d, "startTime": float("nan")})), TisResponseError, ("a time out of range (nan ms",)),
    "size out of range": Case(job_answer(as_json(with_sizes("9" * 400 + " MB"))), TisResponseError, ("a file size out of range", "administrators")),
    "size string never seen": Case(job_answer(as_json(with_sizes("12 parsecs"))), None, ("a size this provider does not understand ('12 parsecs')", "Content-Length")),
}  # fmt: skip


@pytest.fixture
def fresh_warnings(monkeypatch):
    """Connection warnings are logged once per process; start each test with none logged yet."""
    from airflow_provider_tis.hooks import tis

    monkeypatch.setattr(tis, "_warned", set())


@pytest.mark.parametrize("case", CASES)
def test_bad_input(case, tis_simulator, vcf, tmp_path, monkeypatch, logs, fresh_warnings):
    world = World(tis_simulator, tmp_path, vcf, monkeypatch)
    row = CASES[case]
    if row.error is None:
        text = "\n".join([str(row.run(world)), *logs()])
    else:
        with pytest.raises(row.error) as raised:
            row.run(world)
        text = str(raised.value)
        # Nothing expensive happened first (the operator's uploads carry a job name; test setup's do not),
        # no download was spent and nothing was written.
        assert not [r for r in tis_simulator.requests_to("submit") if "job-name" in r.fields]
        assert tis_simulator.requests_to("share") == []
        assert not world.out.exists() or not any(world.out.rglob("*"))
    for words in row.words:
        assert words in text, text


def test_tls_verification_off_is_warned_about_once(tis_simulator, monkeypatch, logs, fresh_warnings):
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(verify=False))
    for _ in range(3):
        TisHook().get_server()
    assert sum("TLS verification is off" in line for line in logs()) == 1
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json())
    TisHook().get_server()
    assert TisHook().session.verify is True  # on unless turned off


def test_the_readme_troubleshooting_table_lists_every_case():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    section = readme.split("## Troubleshooting", 1)[1].split("\n## ", 1)[0]
    rows = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert set(CASES) <= rows, sorted(set(CASES) - rows)
