"""The built wheel, installed into a clean virtualenv, is a working Airflow provider."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import airflow
import pytest
from packaging.version import Version

from airflow_provider_tis import __version__

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import json, sys
from airflow.providers_manager import ProvidersManager
try:
    from airflow.dag_processing.dagbag import DagBag  # Airflow >= 3.1
except ImportError:
    from airflow.models.dagbag import DagBag
manager = ProvidersManager()
provider = manager.providers["airflow-provider-tis"]
connection_type = provider.data["connection-types"][0]
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({
    "version": provider.version,
    "hook": manager.hooks["tis"].hook_class_name if manager.hooks.get("tis") else None,
    "field_behaviour": manager.field_behaviours.get("tis"),
    "conn_fields": sorted(connection_type.get("conn-fields", {})),
    "form_widgets": sorted(k for k in manager.connection_form_widgets if k.startswith("extra__tis__")),
    "dags": sorted(bag.dag_ids),
    "import_errors": {str(k): str(v)[-300:] for k, v in bag.import_errors.items()},
}))
"""


def run(*args: str | Path, env: dict[str, str], cwd: Path) -> str:
    result = subprocess.run(
        [str(a) for a in args], env=env, cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    assert uv, "uv is part of the test extra"
    out = tmp_path_factory.mktemp("dist")
    run(uv, "build", "--quiet", "--wheel", "--out-dir", out, ROOT, env=dict(os.environ), cwd=out)
    (built,) = out.glob("*.whl")
    return built


def test_the_wheel_holds_the_package_and_nothing_else(wheel):
    assert wheel.name == f"airflow_provider_tis-{__version__}-py3-none-any.whl"
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {
        "airflow_provider_tis",
        f"airflow_provider_tis-{__version__}.dist-info",
    }
    assert "airflow_provider_tis/py.typed" in names and "airflow_provider_tis/testing/simulator.py" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "get_provider_info" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_the_installed_wheel_is_a_provider_with_its_connection_form_and_example_dags(wheel, tmp_path):
    uv = shutil.which("uv", path=str(Path(sys.executable).parent)) or shutil.which("uv")
    venv = tmp_path / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "VIRTUAL_ENV", "PYTHONPATH"))}
    env |= {"AIRFLOW_HOME": str(tmp_path / "home"), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    run(uv, "venv", "--quiet", "--python", sys.executable, venv, env=env, cwd=tmp_path)
    pins = [f"apache-airflow=={airflow.__version__}"]
    if airflow.__version__.startswith("2."):
        pins.append("universal-pathlib<0.3")
    python = venv / "bin" / "python"
    run(uv, "pip", "install", "--quiet", "--python", python, wheel, *pins, env=env, cwd=tmp_path)

    listed = run(venv / "bin" / "airflow", "providers", "list", env=env, cwd=tmp_path)
    assert "airflow-provider-tis" in listed and __version__ in listed

    found = json.loads(
        run(python, "-c", CHECK, ROOT / "example_dags", env=env, cwd=tmp_path).splitlines()[-1]
    )
    assert found["version"] == __version__
    assert found["hook"] == "airflow_provider_tis.hooks.tis.TisHook"
    assert found["field_behaviour"]["relabeling"] == {"host": "Server URL", "password": "API token"}
    assert set(found["field_behaviour"]["hidden_fields"]) == {"schema", "login", "port"}
    assert found["conn_fields"] == ["app", "max_active_jobs", "timeout", "verify"]
    if Version(airflow.__version__) < Version("3.2"):  # older Airflow builds the form from the hook's widgets
        assert found["form_widgets"] == [f"extra__tis__{f}" for f in found["conn_fields"]]
    assert found["import_errors"] == {}
    assert found["dags"] == [
        "cgi_interpretation",
        "gencove_samples",
        "michigan_imputation",
        "sevenbridges_workflow",
        "tis_batches",
        "tis_imputation",
    ]
