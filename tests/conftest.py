"""Test settings. Airflow reads its configuration at import, so this runs before anything imports it."""

from __future__ import annotations

import json
import logging
import os
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

_AIRFLOW_HOME = tempfile.mkdtemp(prefix="tis-test-airflow-home-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
os.environ["AIRFLOW__CORE__LOAD_EXAMPLES"] = "False"
os.environ["AIRFLOW__CORE__UNIT_TEST_MODE"] = "True"
os.environ["AIRFLOW__CORE__DAGS_FOLDER"] = str(Path(__file__).parent / "dags")
os.environ["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"] = f"sqlite:///{_AIRFLOW_HOME}/airflow.db"

import pytest  # noqa: E402

from airflow_provider_tis.testing.tokens import api_token  # noqa: E402

if TYPE_CHECKING:
    from collections.abc import Callable

SECRET = b"unit-test-secret"


def make_token(username: str = "alice", *, days: float = 30) -> str:
    return api_token(username, "hash-1", SECRET, lifetime=days * 86400)


@pytest.fixture
def set_connection(monkeypatch: pytest.MonkeyPatch):
    """Define an Airflow connection through its environment variable (JSON form)."""

    def _set(conn_id: str = "tis_default", **fields: object) -> None:
        fields.setdefault("conn_type", "tis")
        monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(fields))

    return _set


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture):
    """Every log line emitted during the test, from stdlib logging and from Airflow 3's structlog.

    Call it to get the lines so far, each with its formatted message and all its fields.
    """
    caplog.set_level(logging.DEBUG)
    try:
        import structlog.testing
    except ImportError:  # Airflow 2 logs through the standard library only
        yield lambda: [f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records]
        return
    with structlog.testing.capture_logs() as events:

        def lines() -> list[str]:
            stdlib = [f"{r.levelname} {r.name} {r.getMessage()}" for r in caplog.records]
            return stdlib + [_format(event) for event in events]

        yield lines


def _format(event: dict) -> str:
    """A structlog event as one line: the message with its %-arguments filled in, then the other fields."""
    fields = dict(event)
    message = str(fields.pop("event", ""))
    args = fields.pop("positional_args", ())
    if args:
        message = message % tuple(args)
    return " ".join([message, *(f"{k}={v}" for k, v in fields.items())])


@pytest.fixture
def recorded_waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Hooks (of every service) created from now on keep the default retry policy but wait at most 10 ms;
    returns the waits the policy chose (so tests can check the backoff without spending it)."""
    from airflow_provider_tis.hooks import cgi, retry, tis

    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(min(seconds, 0.01))

    for module in (tis, cgi):
        monkeypatch.setattr(module, "RetryPolicy", lambda: retry.RetryPolicy(sleep=sleep))
    return waits


@pytest.fixture
def vcf(tmp_path: Path) -> Path:
    """A small valid bgzipped VCF of chromosome 20."""
    from airflow_provider_tis.testing import write_vcf

    return write_vcf(tmp_path / "in" / "chr20.vcf.gz", chromosomes=("20",))


#: Job parameters for jobs the tests submit straight through the hook.
JOB_PARAMS = {"refpanel": "topmed-r3", "population": "all", "password": "Pw12345"}


@pytest.fixture
def submit(tis_simulator, vcf):
    """Submit ``vcf`` through the hook; returns the job id."""
    from airflow_provider_tis.hooks import TisHook

    return lambda: TisHook().submit_job([vcf], JOB_PARAMS)


@pytest.fixture
def finished_job(tis_simulator, submit) -> str:
    """The id of a job that has finished successfully."""
    job_id = submit()
    tis_simulator.wait_for_state(job_id, 4, 5)
    return job_id


def attach_memory_fs(fs: Any) -> Callable[[], None]:
    """Register ``fs`` (emptied) for memory:// ObjectStoragePaths on either Airflow; returns the cleanup."""
    from airflow_provider_tis.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.io import attach
        from airflow.sdk.io.store import _STORE_CACHE
    else:
        from airflow.io.store import _STORE_CACHE, attach

    _STORE_CACHE.clear()
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    attach("memory", fs=fs)
    return _STORE_CACHE.clear


@pytest.fixture
def memory_fs():
    """A fresh in-memory filesystem registered for memory:// ObjectStoragePaths."""
    from fsspec.implementations.memory import MemoryFileSystem

    fs = MemoryFileSystem()
    cleanup = attach_memory_fs(fs)
    yield fs
    cleanup()
