"""The example DAGs run for real: `airflow dags test` on SQLite, against the simulator over HTTP."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest
import requests

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.hooks import TisHook
from airflow_provider_tis.testing import TisSimulator, write_vcf
from airflow_provider_tis.version_compat import AIRFLOW_V_3_0_PLUS

PARAMS = {"refpanel": "topmed-r3", "population": "all"}
ZIP_PASSWORD = "Zip-Secret_4711"  # the example DAG reads it from the Variable tis_zip_password


@pytest.fixture
def inputs(tmp_path) -> Path:
    folder = tmp_path / "study"
    for chromosome in ("20", "21"):
        write_vcf(folder / f"chr{chromosome}.vcf.gz", chromosomes=(chromosome,))
    return folder


def run(sandbox, sim, inputs, results, dag_id="tis_imputation", conf=None, connection_env=True, **env):
    environment = {
        "TIS_EXAMPLE_POLL_SECONDS": "0.5",
        "TIS_EXAMPLE_RETRY_SECONDS": "1",
        "AIRFLOW_VAR_TIS_ZIP_PASSWORD": ZIP_PASSWORD,
        **env,
    }
    if connection_env:
        environment["AIRFLOW_CONN_TIS_DEFAULT"] = sim.connection_json()
    conf = {"vcfs": str(inputs / "*.vcf.gz"), "results": str(results), **(conf or {})}
    result = sandbox.dags_test(dag_id, conf, env=environment, timeout=240)
    return result.returncode, result.stdout + result.stderr


def waited_in_a_trigger(output: str) -> bool:
    """Airflow 3's dags test names the trigger; 2.10's says it runs one inline."""
    return "JobStateTrigger" in output or "[DAG TEST] running trigger in line" in output


def in_background(action) -> threading.Thread:
    thread = threading.Thread(target=action, daemon=True)
    thread.start()
    return thread


def test_success_with_a_connection_added_by_the_cli(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=1, export_seconds=0.2) as sim:
        sandbox.airflow("connections", "delete", "tis_default")
        added = sandbox.airflow(
            "connections",
            "add",
            "tis_default",
            "--conn-type",
            "tis",
            "--conn-host",
            sim.url,
            "--conn-password",
            sim.token,
        )
        assert added.returncode == 0, added.stderr
        code, output = run(sandbox, sim, inputs, tmp_path / "results", connection_env=False)
        assert code == 0, output[-4000:]
        (job_id,) = sim.jobs.jobs
        files = sorted(
            str(p.relative_to(tmp_path / "results" / job_id))
            for p in (tmp_path / "results" / job_id).rglob("*.*")
            if MANIFEST_FOLDER not in p.parts
        )
        entries = list((tmp_path / "results" / job_id / MANIFEST_FOLDER).iterdir())
        assert len(entries) == len(sim.jobs.jobs[job_id].files)  # one per downloaded file
        assert files == sorted(
            [
                "chr_20.zip",
                "chr_21.zip",
                "chr20.dose.vcf.gz",  # unpacked with the zip password
                "chr20.info",
                "chr21.dose.vcf.gz",
                "chr21.info",
                "qc_report.txt",
                "quality-control.html",
                "statistics/summary.txt",
                "statistics/snps-excluded.txt",
                "statistics/chunks-excluded.txt",
            ]
        )
        assert "Input Validation: 2 valid VCF file(s) found." in output


def test_failed_job_reports_the_server_error(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=0.5, export_seconds=0.1, strand_flips=True) as sim:
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code != 0
        assert "TisJobFailedError" in output and "obvious strand flips have been detected" in output
        assert len(sim.jobs.jobs) == 1 and not (tmp_path / "results").exists()


def test_canceled_job(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=60, export_seconds=0.1, cancel_settle_seconds=0.5) as sim:

        def cancel_when_running():
            wait_for(lambda: any(j.state == 2 for j in list(sim.jobs.jobs.values())))
            job_id = next(iter(sim.jobs.jobs))
            requests.get(
                f"{sim.url}/api/v2/jobs/{job_id}/cancel", headers={"X-Auth-Token": sim.token}, timeout=10
            )

        in_background(cancel_when_running)
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code != 0
        assert "ended in state CANCELED (6). It was canceled." in output
        assert "Pipeline execution canceled." in output


def test_deferrable_waiting(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=2, export_seconds=0.2) as sim:
        code, output = run(sandbox, sim, inputs, tmp_path / "results", TIS_EXAMPLE_DEFERRABLE="true")
        assert code == 0, output[-4000:]
        assert waited_in_a_trigger(output)
        (job_id,) = sim.jobs.jobs
        assert (tmp_path / "results" / job_id / "chr_20.zip").exists()


def test_lost_submit_response_then_retry_makes_exactly_one_job(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=1, export_seconds=0.2) as sim:
        sim.faults.drop_submit_response()
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code == 0, output[-4000:]
        assert len(sim.jobs.jobs) == 1
        assert len(sim.requests_to("submit")) == 1
        assert "Reusing TIS job" in output


def wait_for(condition, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not reached")
        time.sleep(0.02)


def test_job_limit_and_maintenance_cost_no_rejected_upload(sandbox, inputs, tmp_path, monkeypatch):
    with TisSimulator(run_seconds=600, export_seconds=0.2, cancel_settle_seconds=0.2) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_TIS_OUTSIDE", sim.connection_json())
        outside = TisHook("tis_outside")
        busy = [outside.submit_job([inputs / "chr20.vcf.gz"], {**PARAMS, "job-name": n}) for n in "abc"]
        sim.maintenance = True

        def end_maintenance_then_free_a_slot():
            wait_for(lambda: len(sim.requests_to("server")) >= 2)  # the task saw the maintenance
            sim.maintenance = False
            wait_for(lambda: len(sim.requests_to("jobs")) >= 2)  # the task saw all slots taken
            sim.config.run_seconds = 1
            outside.cancel_job(busy[0])

        in_background(end_maintenance_then_free_a_slot)
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code == 0, output[-4000:]
        assert [r.status for r in sim.requests_to("submit")] == [200, 200, 200, 200]
        assert "The server is in maintenance" in output
        assert "3 of your jobs are queued or running (limit 3)" in output


def test_retired_job(sandbox, inputs, tmp_path):
    week = 7 * 86400
    with TisSimulator(run_seconds=0.5, export_seconds=0.1, retire_after=week) as sim:

        def retire_once_the_sensor_saw_success():
            wait_for(lambda: any(r.route == "job" and r.job_state == 4 for r in list(sim.requests)))
            sim.shift_clock(week + 60)

        in_background(retire_once_the_sensor_saw_success)
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code != 0
        assert "RETIRED (7). Its results were retired on" in output
        assert sim.requests_to("share") == []


def test_output_names_that_escape_the_destination(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=0.5, export_seconds=0.1, extra_output_names=("../../escaped.txt",)) as sim:
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code != 0
        assert "would be written outside the destination folder" in output
        assert sim.requests_to("share") == []
        assert not list(tmp_path.rglob("escaped.txt"))


def test_batches_example_maps_one_job_per_batch(sandbox, inputs, tmp_path):
    write_vcf(inputs / "chr22.vcf.gz", chromosomes=("22",))
    with TisSimulator(run_seconds=1, export_seconds=0.2) as sim:
        code, output = run(
            sandbox, sim, inputs, tmp_path / "results", dag_id="tis_batches", conf={"batch_size": 2}
        )
        assert code == 0, output[-4000:]
        assert sorted(r.files for r in sim.requests_to("submit")) == [
            ("chr20.vcf.gz", "chr21.vcf.gz"),
            ("chr22.vcf.gz",),
        ]
        assert (tmp_path / "results" / "batch-0" / "chr_21.zip").exists()
        assert (tmp_path / "results" / "batch-1" / "chr_22.zip").exists()


def test_no_secret_reaches_logs_xcom_rendered_fields_or_the_wrong_host(sandbox, inputs, tmp_path):
    with TisSimulator(run_seconds=1, export_seconds=0.2) as sim:
        code, output = run(sandbox, sim, inputs, tmp_path / "results")
        assert code == 0, output[-4000:]
        (job_id,) = sim.jobs.jobs
        assert (tmp_path / "results" / job_id / "chr20.dose.vcf.gz").exists()  # the password was used
        secrets = {"API token": sim.token, "zip password": ZIP_PASSWORD}

        places = {"console": output}
        log_files = [p for p in (sandbox.home / "logs").rglob("*") if p.is_file()]
        places |= {str(p): p.read_text(errors="replace") for p in log_files}
        database = dump_database(sandbox.home / "airflow.db")
        places |= database
        hits = [
            (what, place)
            for what, secret in secrets.items()
            for place, text in places.items()
            if secret in text
        ]
        assert hits == []
        # the search looked where the secrets would be: task logs, XComs and the rendered password fields
        assert any("Downloaded chr_20.zip" in text for text in places.values())
        assert any(job_id in text for place, text in database.items() if place.startswith("xcom"))
        rendered = "".join(t for p, t in database.items() if p.startswith("rendered_task_instance_fields"))
        assert "password" in rendered and "***" in rendered

        with_token = sim.token_seen(sim.token)
        assert with_token and {r.server for r in with_token} == {"api"}
        assert not {r.route for r in with_token} & {"share", "store"}
        assert sim.requests_to("share") and sim.requests_to("store")


def dump_database(path: Path) -> dict[str, str]:
    """Every row of every table of the Airflow database as text, keyed by ``table#rowid``."""
    rows = {}
    with sqlite3.connect(path) as db:
        tables = [name for (name,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for table in tables:
            for number, row in enumerate(db.execute(f'SELECT * FROM "{table}"')):
                rows[f"{table}#{number}"] = " ".join(
                    v.decode(errors="replace") if isinstance(v, bytes) else str(v) for v in row
                )
    return rows


def test_a_run_emits_lineage_and_points_the_results_alias_at_its_folder(sandbox, inputs, tmp_path):
    events_file = tmp_path / "openlineage.jsonl"
    transport = {"type": "file", "log_file_path": str(events_file), "append": True}
    with TisSimulator(run_seconds=1, export_seconds=0.2) as sim:
        code, output = run(
            sandbox, sim, inputs, tmp_path / "results", AIRFLOW__OPENLINEAGE__TRANSPORT=json.dumps(transport)
        )
        assert code == 0, output[-4000:]
        (job_id,) = sim.jobs.jobs
    events = [json.loads(line) for line in events_file.read_text().splitlines()]
    done = {e["job"]["name"].rsplit(".", 1)[-1]: e for e in events if e["eventType"] == "COMPLETE"}

    def datasets(event, kind):
        return {(d["namespace"], d["name"]) for d in event.get(kind, [])}

    assert datasets(done["submit"], "inputs") == {
        ("file", str(inputs / f"chr{c}.vcf.gz")) for c in ("20", "21")
    }
    folder = tmp_path / "results" / job_id
    assert {("file", str(folder / "chr_20.zip")), ("file", str(folder / "chr20.dose.vcf.gz"))} <= datasets(
        done["download"], "outputs"
    )
    for task in ("submit", "download"):
        facet = done[task]["run"]["facets"]["externalQuery"]
        assert (facet["externalQueryId"], facet["source"]) == (job_id, sim.url)

    kind = "asset" if AIRFLOW_V_3_0_PLUS else "dataset"  # Airflow 2.10 calls assets datasets
    with sqlite3.connect(sandbox.home / "airflow.db") as db:
        events = f"SELECT a.uri FROM {kind}_event e JOIN {kind} a ON a.id = e.{kind}_id"
        uris = [uri for (uri,) in db.execute(events)]
        aliases = [name for (name,) in db.execute(f"SELECT name FROM {kind}_alias")]
    assert f"file://{folder}" in uris and "tis_results" in aliases


def test_michigan_example_against_the_michigan_profile(sandbox, inputs, tmp_path):
    with TisSimulator(profile="michigan", run_seconds=1, export_seconds=0.2) as sim:
        code, output = run(
            sandbox,
            sim,
            inputs,
            tmp_path / "results",
            dag_id="michigan_imputation",
            connection_env=False,
            AIRFLOW_CONN_MICHIGAN_DEFAULT=sim.connection_json(app="imputationserver2"),
        )
        assert code == 0, output[-4000:]
        (submitted,) = sim.requests_to("submit")
        assert (
            submitted.fields["refpanel"] == "apps@hrc-r1.1@2.0.0" and submitted.fields["population"] == "eur"
        )
        assert submitted.fields["r2Filter"] == "0.3" and submitted.fields["phasing"] == "eagle"
        (folder,) = (tmp_path / "results").iterdir()
        got = sorted(
            str(p.relative_to(folder))
            for p in folder.rglob("*")
            if p.is_file() and MANIFEST_FOLDER not in p.parts
        )
        assert got == sorted(
            [
                "chr_20.zip",
                "chr_21.zip",
                "qc_report.txt",
                "statistics/summary.txt",
                "statistics/snps-excluded.txt",
                "statistics/chunks-excluded.txt",
            ]
        )
        assert waited_in_a_trigger(output)
