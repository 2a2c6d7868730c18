"""The Seven Bridges example DAG runs for real: `airflow dags test` on SQLite, against the Seven Bridges
simulator over HTTP: upload two files, run the demo app on them, wait (deferred or not), download the outputs."""

from __future__ import annotations

import pytest

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.testing.sevenbridges import FAST, SevenBridgesSimulator


def run(sandbox, sim, tmp_path, **env):
    environment = {
        "SBG_EXAMPLE_POLL_SECONDS": "0.5",
        "SBG_EXAMPLE_RETRY_SECONDS": "1",
        "AIRFLOW_CONN_SEVENBRIDGES_DEFAULT": sim.connection_json(),
        **env,
    }
    conf = {
        "reads": str(tmp_path / "reads.fq"),
        "reference": str(tmp_path / "ref.fa"),
        "app": sim.demo_app,
        "results": str(tmp_path / "results"),
    }
    result = sandbox.dags_test("sevenbridges_workflow", conf, env=environment, timeout=240)
    return result.returncode, result.stdout + result.stderr


@pytest.mark.parametrize("deferrable", ["true", "false"])
def test_upload_run_wait_and_download(sandbox, tmp_path, deferrable):
    (tmp_path / "reads.fq").write_bytes(b"ACGTACGT\n" * 50)
    (tmp_path / "ref.fa").write_bytes(b">chr1\nNNNN\n")
    with SevenBridgesSimulator(**FAST) as sim:
        code, output = run(sandbox, sim, tmp_path, SBG_EXAMPLE_DEFERRABLE=deferrable)
        assert code == 0, output[-4000:]
        assert len(sim.requests_to("upload_init")) == 2
        assert len(sim.requests_to("task_create")) == 1 and len(sim.requests_to("task_run")) == 1
        (task,) = sim.jobs.jobs.values()
        assert task.status == "COMPLETED"
        if deferrable == "true":
            assert "SevenBridgesTaskTrigger" in output or "[DAG TEST] running trigger in line" in output
        merged = sim.read_file(task.outputs["merged"]["path"])
        token = sim.token
    folder = tmp_path / "results" / task.id
    got = sorted(
        str(p.relative_to(folder))
        for p in folder.rglob("*")
        if p.is_file() and MANIFEST_FOLDER not in p.parts
    )
    assert got == [
        "sample.merged.bin",
        "sample.report.json",
        "sample_qc/details/inputs.tsv",
        "sample_qc/summary.json",
    ]
    assert (folder / "sample.merged.bin").read_bytes() == merged == b"ACGTACGT\n" * 50 + b">chr1\nNNNN\n"
    assert token not in output
