"""The CGI example DAG runs for real: `airflow dags test` on SQLite, against the CGI simulator over HTTP."""

from __future__ import annotations

import sqlite3

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.testing import CgiSimulator
from airflow_provider_tis.testing.cgi import write_mutations


def run(sandbox, sim, mutations, results, **env):
    environment = {
        "CGI_EXAMPLE_POLL_SECONDS": "0.5",
        "CGI_EXAMPLE_RETRY_SECONDS": "1",
        "AIRFLOW_CONN_CGI_DEFAULT": sim.connection_json(),
        **env,
    }
    conf = {"mutations": str(mutations), "results": str(results), "cancer_type": "LUAD", "reference": "hg38"}
    result = sandbox.dags_test("cgi_interpretation", conf, env=environment, timeout=240)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("deferrable", ["false", "true"])
def test_submit_wait_download_unpack_and_delete(sandbox, tmp_path, deferrable):
    mutations = write_mutations(tmp_path / "mutations.tsv")
    with CgiSimulator(run_seconds=1) as sim:
        code, output = run(sandbox, sim, mutations, tmp_path / "results", CGI_EXAMPLE_DEFERRABLE=deferrable)
        assert code == 0, output[-4000:]
        assert len(sim.requests_to("submit")) == 1
        assert sim.job_ids() == []  # deleted once its results were written
        assert len(sim.requests_to("delete")) == 1
        if deferrable == "true":
            assert "CgiJobTrigger" in output or "[DAG TEST] running trigger in line" in output
        token = sim.token
    (folder,) = (tmp_path / "results").iterdir()
    got = sorted(p.name for p in folder.iterdir() if p.name != MANIFEST_FOLDER)
    assert got == sorted(
        [f"cgi_{folder.name}.zip", "alterations.tsv", "biomarkers.tsv", "input01.tsv", "summary.txt"]
    )
    assert "mutation" in (folder / "summary.txt").read_text().lower()
    assert token not in output
    database = sqlite3.connect(sandbox.home / "airflow.db")
    for (table,) in database.execute("SELECT name FROM sqlite_master WHERE type='table'").fetchall():
        for row in database.execute(f'SELECT * FROM "{table}"').fetchall():
            assert token not in repr(row), table


def test_an_error_job_fails_the_sensor_with_the_log_tail(sandbox, tmp_path):
    broken = tmp_path / "mutations.tsv"
    broken.write_text("this is not a mutations file\n")
    with CgiSimulator(run_seconds=1) as sim:
        code, output = run(sandbox, sim, broken, tmp_path / "results")
        assert code != 0
        assert "ended in Error" in output and "Last log lines" in output
        assert len(sim.requests_to("submit")) == 1  # the sensor's failure did not resubmit
    assert not (tmp_path / "results").exists()
