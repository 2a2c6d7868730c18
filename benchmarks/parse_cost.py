"""`make bench-parse`: what importing the provider's operators and sensors adds to a DAG file's parse.

Each round is a fresh interpreter that imports ``airflow.sdk`` (what a DAG file does first) and the Airflow
classes the operators build on, then times what ``example_dags/tis_imputation.py`` imports of the provider:
``SubmitImputationOperator``, ``DownloadResultsOperator`` and ``JobStateSensor`` (the packages export each
name on first use, so a DAG of one service loads that service's modules only). Prints the
median of the rounds and which HTTP libraries that import loaded (none is the goal: they load when a task
runs). The target of issue 15 is under 30 ms.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys

ROUNDS = int(os.environ.get("BENCH_ROUNDS", 15))
PROBE = """
import json, sys, time
import airflow.sdk  # noqa: F401
from airflow_provider_tis import version_compat  # noqa: F401
before, started = set(sys.modules), time.perf_counter()
from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator  # noqa: F401
from airflow_provider_tis.sensors import JobStateSensor  # noqa: F401
elapsed = time.perf_counter() - started
heavy = sorted({m.split(".")[0] for m in set(sys.modules) - before} & {"requests", "httpx", "requests_toolbelt", "urllib3"})
print(json.dumps({"ms": 1000 * elapsed, "heavy": heavy}))
"""


def main() -> int:
    runs = []
    for _ in range(ROUNDS):
        out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
        runs.append(json.loads(out.strip().splitlines()[-1]))
    median = statistics.median(run["ms"] for run in runs)
    heavy = sorted({name for run in runs for name in run["heavy"]})
    print(f"Import of the TIS operators and sensor after airflow.sdk, {ROUNDS} fresh interpreters:")
    print("| measure | value | target | met |")
    print("|---|---|---|---|")
    print(f"| import time, median (ms) | {median:.1f} | < 30 | {'yes' if median < 30 else 'no'} |")
    print(
        f"| import time, min / max (ms) | {min(r['ms'] for r in runs):.1f} / {max(r['ms'] for r in runs):.1f} |  |  |"
    )
    print(f"| HTTP libraries loaded | {', '.join(heavy) or 'none'} | none | {'yes' if not heavy else 'no'} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
