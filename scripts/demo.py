"""`make demo [SERVICE=tis|cgi]`: run an example DAG end to end against the local simulator, offline.

Starts the service's simulator, makes a throwaway Airflow home with SQLite, writes small valid inputs,
runs `airflow dags test` on the service's example DAG, and prints where the results landed.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.manifest import MANIFEST_FOLDER
from airflow_provider_tis.testing import CgiSimulator, TisSimulator, write_vcf
from airflow_provider_tis.testing.cgi import write_mutations
from airflow_provider_tis.testing.sandbox import AirflowSandbox

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

ROOT = Path(__file__).resolve().parent.parent


def tis_setup(tmp: Path) -> tuple[AbstractContextManager[Any], str, dict[str, str], Any]:
    inputs = tmp / "study"
    for chromosome in ("20", "21"):
        write_vcf(inputs / f"chr{chromosome}.vcf.gz", chromosomes=(chromosome,), samples=25, snps=200)
    print(f"Wrote 2 bgzipped VCFs to {inputs}")
    env = {
        "TIS_EXAMPLE_POLL_SECONDS": "1",
        "TIS_EXAMPLE_RETRY_SECONDS": "2",
        "AIRFLOW_VAR_TIS_ZIP_PASSWORD": "demo-zip-password",  # the example reads this Variable
    }
    return (
        TisSimulator(run_seconds=3, export_seconds=1),
        "tis_imputation",
        env,
        {"vcfs": str(inputs / "*.vcf.gz")},
    )


def cgi_setup(tmp: Path) -> tuple[AbstractContextManager[Any], str, dict[str, str], Any]:
    mutations = write_mutations(tmp / "mutations.tsv")
    print(f"Wrote a mutations file to {mutations}")
    env = {"CGI_EXAMPLE_POLL_SECONDS": "1", "CGI_EXAMPLE_RETRY_SECONDS": "2"}
    return CgiSimulator(run_seconds=3), "cgi_interpretation", env, {"mutations": str(mutations)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", choices=("tis", "cgi"), default="tis")
    service = parser.parse_args(argv).service
    results = ROOT / ".demo" / "results"
    with tempfile.TemporaryDirectory(prefix=f"{service}-demo-") as tmp:
        simulator, dag_id, env, conf = (tis_setup if service == "tis" else cgi_setup)(Path(tmp))
        with simulator as sim:
            print(f"{service.upper()} simulator running at {sim.url}")
            env[f"AIRFLOW_CONN_{service.upper()}_DEFAULT"] = sim.connection_json()
            sandbox = AirflowSandbox(Path(tmp) / "airflow-home", ROOT / "example_dags", env=env)
            print("Migrating a throwaway Airflow database (SQLite)...")
            sandbox.migrate()
            print(f"Running: airflow dags test {dag_id}")
            started = time.monotonic()
            run = sandbox.dags_test(dag_id, {**conf, "results": str(results)})
            if run.returncode:
                print(run.stdout[-5000:], run.stderr[-5000:], sep="\n")
                print("The DAG run failed.")
                return 1
            job_id = (
                next(iter(sim.jobs.jobs)) if service == "tis" else max(results.iterdir(), key=_mtime).name
            )
        folder = results / job_id
        print(
            f"DAG run succeeded in {time.monotonic() - started:.0f} s. {service.upper()} job {job_id}; results in {folder}:"
        )
        for path in sorted(p for p in folder.rglob("*") if p.is_file() and MANIFEST_FOLDER not in p.parts):
            print(f"  {path.relative_to(folder)}  ({path.stat().st_size} bytes)")
    return 0


def _mtime(path: Path) -> float:
    return path.stat().st_mtime


if __name__ == "__main__":
    sys.exit(main())
