"""A DAG file that imports the operators and sensors pulls in no HTTP library, hook, trigger or data model:
DAG files are parsed every 30 s, and those are needed only when a task runs (they are imported there).
How long the import takes is measured by ``make bench-parse``, not by a timed test."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("requests", "httpx", "requests_toolbelt", "urllib3")

PROBE = """
import json, sys
try:
    import airflow.sdk  # noqa: F401 - what a DAG file imports first (Airflow 3)
except ImportError:
    import airflow  # noqa: F401 - Airflow 2
from airflow_provider_tis import version_compat  # noqa: F401 - the Airflow classes the operators build on
before = set(sys.modules)
exec(sys.argv[1])
print(json.dumps(sorted(set(sys.modules) - before)))
"""
EVERYTHING = "from airflow_provider_tis.operators import *\nfrom airflow_provider_tis.sensors import *"
TIS_DAG = (
    "from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator\n"
    "from airflow_provider_tis.sensors import JobStateSensor"
)


def imported_by(code: str) -> list[str]:
    probe = subprocess.run([sys.executable, "-c", PROBE, code], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    return list(json.loads(probe.stdout.strip().splitlines()[-1]))


def test_importing_every_operator_and_sensor_imports_no_http_library():
    added = imported_by(EVERYTHING)
    assert {"airflow_provider_tis.operators.cgi", "airflow_provider_tis.sensors.tis"} <= set(added)
    assert [name for name in added if name.split(".")[0] in HEAVY] == []


def test_a_dag_of_one_service_loads_none_of_the_other_services_modules():
    added = imported_by(TIS_DAG)
    assert "airflow_provider_tis.operators.submit" in added
    assert [name for name in added if name.rsplit(".", 1)[-1] in ("cgi", "cgi_models")] == []


def test_a_tis_dag_imports_no_hook_trigger_or_model():
    added = set(imported_by(TIS_DAG))
    assert {"airflow_provider_tis.operators.download", "airflow_provider_tis.sensors.tis"} <= added
    for module in (
        "airflow_provider_tis.hooks.tis",
        "airflow_provider_tis.hooks.models",
        "airflow_provider_tis.hooks.outcome",
        "airflow_provider_tis.triggers.tis",
    ):
        assert module not in added


def test_importing_every_operator_and_sensor_imports_no_hook_or_trigger_module():
    added = imported_by(EVERYTHING)
    light = {"airflow_provider_tis.hooks", "airflow_provider_tis.hooks.defaults"}  # names only
    assert [name for name in added if name.split(".")[1] in ("hooks", "triggers") and name not in light] == []
