"""`make demo [SERVICE=tis|cgi]`: run an example DAG end to end against the local simulator, offline.

Starts the service's simulator, makes a throwaway Airflow home with SQLite, writes small valid inputs,
runs `airflow dags test` on the service's example DAG, and prints where the results landed.

`--deployment` (`make demo-deployment`) runs it on a real throwaway Airflow instead: scheduler, DAG
processor, triggerer and API server as separate processes, the wait deferred to the triggerer.
`--serve` then keeps that Airflow and the simulator running, with the UI's address printed, until Ctrl-C.
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
from airflow_provider_tis.testing.core.deployment import AirflowDeployment
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


def on_deployment(sim: Any, dag_id: str, env: dict[str, str], conf: dict[str, str], serve: bool) -> bool:
    """Run the DAG on a throwaway deployment; True if it succeeded."""
    variables = (
        {"tis_zip_password": env.pop("AIRFLOW_VAR_TIS_ZIP_PASSWORD")} if dag_id == "tis_imputation" else {}
    )
    prefix = dag_id.split("_")[0].upper()
    print("Starting Airflow: scheduler, DAG processor, triggerer and API server (about 30 s)...")
    with AirflowDeployment(
        ROOT / "example_dags",
        connections={f"{prefix.lower()}_default": sim.connection_json()},
        variables=variables,
        pools={"tis_active_jobs": 3},
        env={**env, f"{prefix}_EXAMPLE_DEFERRABLE": "true"},
        keep=serve,
    ) as airflow:
        print(f"Airflow UI: {airflow.url} (home {airflow.home})")
        run_id = airflow.trigger(dag_id, conf)
        print(f"Triggered {dag_id} run {run_id}; waiting for it...")
        state = airflow.wait_for_run(dag_id, run_id)
        print(f"The run ended: {state}.")
        if serve:
            print(f"Airflow stays up at {airflow.url} with the simulator at {sim.url}; Ctrl-C stops both.")
            try:
                while True:
                    airflow.check_alive()
                    time.sleep(1)
            except KeyboardInterrupt:
                pass
    return state == "success"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--service", choices=("tis", "cgi"), default="tis")
    parser.add_argument("--deployment", action="store_true", help="run on a real throwaway Airflow")
    parser.add_argument("--serve", action="store_true", help="with --deployment: keep running until Ctrl-C")
    args = parser.parse_args(argv)
    service = args.service
    results = ROOT / ".demo" / "results"
    with tempfile.TemporaryDirectory(prefix=f"{service}-demo-") as tmp:
        simulator, dag_id, env, conf = (tis_setup if service == "tis" else cgi_setup)(Path(tmp))
        with simulator as sim:
            print(f"{service.upper()} simulator running at {sim.url}")
            if args.deployment:
                started = time.monotonic()
                if not on_deployment(sim, dag_id, env, {**conf, "results": str(results)}, args.serve):
                    print("The DAG run failed.")
                    return 1
                print(f"Done in {time.monotonic() - started:.0f} s; results under {results}")
                return 0
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
