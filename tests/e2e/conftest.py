"""One throwaway Airflow home with the example DAGs per test module (SQLite, `airflow dags test`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from airflow_provider_tis.testing.sandbox import AirflowSandbox

EXAMPLE_DAGS = Path(__file__).resolve().parents[2] / "example_dags"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory) -> AirflowSandbox:
    box = AirflowSandbox(tmp_path_factory.mktemp("airflow-home"), EXAMPLE_DAGS)
    box.migrate()
    pool = box.airflow("pools", "set", "tis_active_jobs", "3", "TIS job limit")
    assert pool.returncode == 0, pool.stderr
    return box
