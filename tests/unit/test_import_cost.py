"""A DAG file that imports the operators and sensors pulls in no HTTP library: DAG files are parsed every 30 s,
and requests, httpx and requests-toolbelt are needed only when a task runs (they are imported there)."""

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
import airflow_provider_tis.operators, airflow_provider_tis.sensors  # noqa: E401,F401
print(json.dumps(sorted(set(sys.modules) - before)))
"""


def test_importing_the_operators_and_sensors_imports_no_http_library():
    probe = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=120)
    assert probe.returncode == 0, probe.stderr[-2000:]
    added = json.loads(probe.stdout.strip().splitlines()[-1])
    assert any(name.startswith("airflow_provider_tis.operators") for name in added)  # the probe imported them
    assert [name for name in added if name.split(".")[0] in HEAVY] == []
