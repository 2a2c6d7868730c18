"""`make demo`: run the example DAG end to end against the local TIS simulator, offline.

Starts the simulator, makes a throwaway Airflow home with SQLite, writes two small valid VCFs,
runs `airflow dags test tis_imputation`, and prints where the results landed.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_tis.operators.manifest import MANIFEST_FOLDER
from airflow_provider_tis.testing import TisSimulator, write_vcf
from airflow_provider_tis.testing.sandbox import AirflowSandbox

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    results = ROOT / ".demo" / "results"
    with (
        tempfile.TemporaryDirectory(prefix="tis-demo-") as tmp,
        TisSimulator(run_seconds=3, export_seconds=1) as sim,
    ):
        print(f"TIS simulator running at {sim.url}")
        inputs = Path(tmp) / "study"
        for chromosome in ("20", "21"):
            write_vcf(inputs / f"chr{chromosome}.vcf.gz", chromosomes=(chromosome,), samples=25, snps=200)
        print(f"Wrote 2 bgzipped VCFs to {inputs}")
        sandbox = AirflowSandbox(
            Path(tmp) / "airflow-home",
            ROOT / "example_dags",
            env={
                "AIRFLOW_CONN_TIS_DEFAULT": sim.connection_json(),
                "TIS_EXAMPLE_POLL_SECONDS": "1",
                "TIS_EXAMPLE_RETRY_SECONDS": "2",
                "AIRFLOW_VAR_TIS_ZIP_PASSWORD": "demo-zip-password",  # the example reads this Variable
            },
        )
        print("Migrating a throwaway Airflow database (SQLite)...")
        sandbox.migrate()
        print("Running: airflow dags test tis_imputation")
        started = time.monotonic()
        run = sandbox.dags_test("tis_imputation", {"vcfs": str(inputs / "*.vcf.gz"), "results": str(results)})
        if run.returncode:
            print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
            print("The DAG run failed.")
            return 1
        job_id = next(iter(sim.jobs.jobs))
        folder = results / job_id
        print(
            f"DAG run succeeded in {time.monotonic() - started:.0f} s. TIS job {job_id}; results in {folder}:"
        )
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and MANIFEST_FOLDER not in p.parts):
            print(f"  {path.relative_to(folder)}  ({path.stat().st_size} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
