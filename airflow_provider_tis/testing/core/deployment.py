"""A real, throwaway Airflow 3 deployment next to the simulators: scheduler, DAG processor, triggerer and
API server as separate processes (LocalExecutor, SQLite, a free port), for tests and demos of real DAGs.

Unlike ``airflow dags test``, which runs a deferred trigger inline in its own process, here a worker
serializes the trigger into the database, a separate triggerer runs it, and a new worker process resumes
the task: what a production deployment does. Use it as a context manager::

    with TisSimulator() as sim, AirflowDeployment("my_dags/", connections={"tis_default": sim.connection_json()}) as af:
        run_id = af.trigger("tis_imputation", conf={...})
        assert af.wait_for_run("tis_imputation", run_id) == "success"

Every child process runs in its own process group and is ended (SIGTERM, then SIGKILL) on exit; the
temporary home is removed unless ``keep=True``. ``CeleryAirflowDeployment`` (``celery_deployment.py``)
runs the same with the CeleryExecutor, PostgreSQL, a broker and N Celery workers.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
from base64 import urlsafe_b64encode
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

#: The long-running components, each one ``airflow <command>`` process.
COMPONENTS = ("scheduler", "dag-processor", "triggerer", "api-server")
#: Their job types in the ``job`` table (the API server has none: its port is checked instead).
_JOB_TYPES = {"scheduler": "SchedulerJob", "dag-processor": "DagProcessorJob", "triggerer": "TriggererJob"}
TERMINAL_RUN_STATES = ("success", "failed")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DeploymentError(RuntimeError):
    """A component did not start, or died; the message ends with the tail of its log."""


class AirflowDeployment:
    """Airflow's four long-running components as separate processes, on 127.0.0.1, with their own home.

    :param dags_folder: the folder of the DAG files to run.
    :param home: the AIRFLOW_HOME (default: a new temporary folder, removed on stop unless ``keep``).
    :param connections: connection id -> connection JSON (or URI), stored in the database (encrypted
        with the deployment's own Fernet key), as ``airflow connections add`` would.
    :param variables: variable name -> value, stored in the database.
    :param pools: pool name -> slots.
    :param env: extra environment for every component (e.g. the example DAGs' ``TIS_EXAMPLE_*``).
    :param port: the API server's port (0: a free one).
    :param parallelism: how many tasks the LocalExecutor runs at once.
    :param keep: keep the home (logs, database) after stop.
    """

    def __init__(
        self,
        dags_folder: str | Path,
        *,
        home: str | Path | None = None,
        connections: dict[str, str] | None = None,
        variables: dict[str, str] | None = None,
        pools: dict[str, int] | None = None,
        env: dict[str, str] | None = None,
        port: int = 0,
        parallelism: int = 8,
        keep: bool = False,
    ) -> None:
        self.dags_folder = Path(dags_folder).resolve()
        self._own_home = home is None
        self.home = Path(home or tempfile.mkdtemp(prefix="airflow-deployment-")).resolve()
        self.connections = dict(connections or {})
        self.variables = dict(variables or {})
        self.pools = dict(pools or {})
        self.port = port or free_port()
        self.keep = keep
        self.url = f"http://127.0.0.1:{self.port}"
        self.components: list[str] = list(COMPONENTS)  # started in this order
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self._logs: dict[str, IO[bytes]] = {}
        self._token: str | None = None
        self._env = self._environment(parallelism, env or {})

    # -- environment ----------------------------------------------------------------------------

    def _environment(self, parallelism: int, extra: dict[str, str]) -> dict[str, str]:
        """One configuration for every component: they must agree on the database, the JWT secret, the
        Fernet key and where the Execution API is (a worker that guesses wrong cannot start tasks)."""
        bin_dir = str(Path(sys.executable).parent)  # this venv's own `airflow`, first on PATH
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        return {
            **base,
            "PATH": f"{bin_dir}{os.pathsep}{base.get('PATH', '')}",
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__EXECUTOR": "LocalExecutor",
            "AIRFLOW__CORE__PARALLELISM": str(parallelism),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "AIRFLOW__CORE__FERNET_KEY": urlsafe_b64encode(secrets.token_bytes(32)).decode(),
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_ALL_ADMINS": "True",
            "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.url}/execution/",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            "AIRFLOW__API__BASE_URL": f"{self.url}/",
            "AIRFLOW__API__HOST": "127.0.0.1",
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__WORKERS": "1",
            "AIRFLOW__API_AUTH__JWT_SECRET": secrets.token_urlsafe(32),
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL": "10",
            "AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC": "1",
            "AIRFLOW__SCHEDULER__TASK_QUEUED_TIMEOUT": "300",
            "AIRFLOW__TRIGGERER__JOB_HEARTBEAT_SEC": "1",
            **extra,
        }

    @property
    def environ(self) -> dict[str, str]:
        """The environment every component runs with (for your own ``airflow`` commands)."""
        return dict(self._env)

    def airflow(
        self, *args: str, timeout: float = 300, check: bool = True
    ) -> subprocess.CompletedProcess[str]:
        """Run a one-off ``airflow <args>`` against this deployment; output captured."""
        result = subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self._env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode:
            raise DeploymentError(f"airflow {' '.join(args[:2])} failed:\n{result.stderr[-3000:]}")
        return result

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self, timeout: float = 180) -> Self:
        """Migrate the database, store the connections, variables and pools, start every component and
        wait until each is alive and the DAGs are parsed.

        :raises DeploymentError: on Airflow 2 (its components differ: a webserver, no API server or
            Execution API), or when a component does not come up.
        """
        from airflow_provider_tis.version_compat import AIRFLOW_V_3_0_PLUS

        if not AIRFLOW_V_3_0_PLUS:
            raise DeploymentError("AirflowDeployment runs Airflow 3's components; this is Airflow 2.")
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "logs").mkdir(exist_ok=True)
        try:
            self.airflow("db", "migrate")
            for conn_id, value in self.connections.items():
                option = "--conn-json" if value.lstrip().startswith("{") else "--conn-uri"
                self.airflow("connections", "add", conn_id, option, value)
            for name, value in self.variables.items():
                self.airflow("variables", "set", name, value)
            for name, slots in self.pools.items():
                self.airflow("pools", "set", name, str(slots), f"{name} (AirflowDeployment)")
            for component in self.components:
                self.start_component(component)
            self.wait_until_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return self

    def start_component(self, component: str) -> None:
        """Start one component (again, after :meth:`stop_component`); its output goes to
        ``<home>/logs/<component>.log`` (appended)."""
        log = (self.home / "logs" / f"{component}.log").open("ab")
        self._logs[component] = log
        command, env = self.command_of(component)
        self.processes[component] = subprocess.Popen(
            command,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: stopping it ends its children too
        )

    def command_of(self, component: str) -> tuple[list[str], dict[str, str]]:
        """The command line and environment of a component (subclasses add their own components)."""
        return [sys.executable, "-m", "airflow", component], self._env

    def stop_component(self, component: str, timeout: float = 30) -> None:
        """End one component and every process it started (SIGTERM, then SIGKILL)."""
        process = self.processes.pop(component, None)
        if process is not None:
            _end_group(process, timeout)
        log = self._logs.pop(component, None)
        if log is not None:
            log.close()

    def restart_component(self, component: str) -> None:
        """Stop and start one component (e.g. the triggerer in the middle of a wait)."""
        self.stop_component(component)
        self.start_component(component)

    def stop(self) -> None:
        """End every component (and their children) and remove the temporary home unless ``keep``."""
        for component in list(self.processes):
            self.stop_component(component)
        if self._own_home and not self.keep:
            shutil.rmtree(self.home, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait_until_ready(self, timeout: float = 180) -> None:
        """Wait until the scheduler, DAG processor and triggerer heartbeat and the API server answers.

        :raises DeploymentError: a component exited, or not ready within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            self.check_alive()
            missing = [c for c in _JOB_TYPES if not self.job_alive(_JOB_TYPES[c])]
            if not self._api_answers():
                missing.append("api-server")
            if not missing:
                return
            if time.monotonic() > deadline:
                raise DeploymentError(f"not ready within {timeout:g} s: {', '.join(missing)}")
            time.sleep(0.5)

    def check_alive(self) -> None:
        """Raise if a component exited, with the tail of its log."""
        for component, process in self.processes.items():
            if process.poll() is not None:
                raise DeploymentError(
                    f"{component} exited with {process.returncode}:\n{self.log_of(component)[-3000:]}"
                )

    def job_alive(self, job_type: str, within: float = 30) -> bool:
        """Whether a component of ``job_type`` (e.g. ``TriggererJob``) heartbeat in the last ``within`` s."""
        rows = self.query(
            "SELECT latest_heartbeat FROM job WHERE job_type = ? AND state = 'running' "
            "ORDER BY latest_heartbeat DESC LIMIT 1",
            job_type,
        )
        if not rows or rows[0][0] is None:
            return False
        beat = _epoch(rows[0][0])
        return time.time() - beat < within

    def _api_answers(self) -> bool:
        import requests  # the testing extra's client; not needed when the module is imported

        try:
            return requests.get(f"{self.url}/api/v2/monitor/health", timeout=5).status_code == 200
        except requests.RequestException:
            return False

    # -- reading it -----------------------------------------------------------------------------

    def log_of(self, component: str) -> str:
        """Everything a component printed so far (all its starts)."""
        path = self.home / "logs" / f"{component}.log"
        return path.read_text(errors="replace") if path.exists() else ""

    def task_logs(self, dag_id: str, run_id: str, task_id: str) -> dict[int, str]:
        """The task's log of each try, by try number (Airflow's file task handler, under the home)."""
        found: dict[int, str] = {}
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        for path in folder.rglob("attempt=*.log"):
            if match := re.fullmatch(r"attempt=(\d+)\.log", path.name):  # not the triggerer's .trigger.N.log
                found[int(match.group(1))] = path.read_text(errors="replace")
        return found

    def trigger_logs(self, dag_id: str, run_id: str, task_id: str) -> list[str]:
        """What the triggerer logged of the task's triggers: one log per triggerer that ran one."""
        folder = self.home / "logs" / f"dag_id={dag_id}" / f"run_id={run_id}" / f"task_id={task_id}"
        return [
            path.read_text(errors="replace") for path in sorted(folder.rglob("attempt=*.log.trigger.*.log"))
        ]

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query on the deployment's database (it may not exist yet: no rows)."""
        database = self.home / "airflow.db"
        if not database.exists():
            return []
        try:
            with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True, timeout=10)) as db:
                return list(db.execute(sql, params).fetchall())
        except sqlite3.OperationalError as exc:  # a table not there yet while migrating
            if "no such table" in str(exc):
                return []
            raise

    # -- the REST API -----------------------------------------------------------------------------

    def api(self, method: str, path: str, body: Any = None, *, expect: tuple[int, ...] = (200,)) -> Any:
        """Call the public REST API (``/api/v2/...``) as an admin; returns the JSON answer.

        :raises DeploymentError: the answer's status is not in ``expect``.
        """
        import requests

        if self._token is None:  # all users are admins here: a token needs no credentials
            answer = requests.get(f"{self.url}/auth/token", timeout=30)
            answer.raise_for_status()
            self._token = answer.json()["access_token"]
        response = requests.request(
            method,
            f"{self.url}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self._token}"},
            timeout=60,
        )
        if response.status_code not in expect:
            raise DeploymentError(f"{method} {path} answered {response.status_code}: {response.text[:2000]}")
        return response.json() if response.content else None

    def wait_for_dag(self, dag_id: str, timeout: float = 120) -> None:
        """Wait until the DAG processor has stored ``dag_id``."""
        deadline = time.monotonic() + timeout
        while not self.query("SELECT 1 FROM dag WHERE dag_id = ? AND NOT is_stale", dag_id):
            self.check_alive()
            if time.monotonic() > deadline:
                raise DeploymentError(
                    f"DAG {dag_id} not parsed within {timeout:g} s:\n{self.log_of('dag-processor')[-3000:]}"
                )
            time.sleep(0.5)

    def trigger(self, dag_id: str, conf: dict[str, Any] | None = None, run_id: str | None = None) -> str:
        """Start a run of ``dag_id`` now; returns its run id."""
        self.wait_for_dag(dag_id)
        body: dict[str, Any] = {"logical_date": None, "conf": conf or {}}
        if run_id:
            body["dag_run_id"] = run_id
        answer = self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", body)
        return str(answer["dag_run_id"])

    def run_state(self, dag_id: str, run_id: str) -> str | None:
        rows = self.query("SELECT state FROM dag_run WHERE dag_id = ? AND run_id = ?", dag_id, run_id)
        return rows[0][0] if rows else None

    def task_state(self, dag_id: str, run_id: str, task_id: str) -> str | None:
        rows = self.query(
            "SELECT state FROM task_instance WHERE dag_id = ? AND run_id = ? AND task_id = ? AND map_index = -1",
            dag_id,
            run_id,
            task_id,
        )
        return rows[0][0] if rows else None

    def wait_for_task(
        self, dag_id: str, run_id: str, task_id: str, states: tuple[str, ...], timeout: float = 300
    ) -> str:
        """Wait until the task instance is in one of ``states``; returns it."""
        deadline = time.monotonic() + timeout
        while (state := self.task_state(dag_id, run_id, task_id)) not in states:
            self.check_alive()
            if time.monotonic() > deadline:
                raise DeploymentError(f"{dag_id}.{task_id} is {state}, not in {states}, after {timeout:g} s")
            time.sleep(0.2)
        return str(state)

    def wait_for_run(self, dag_id: str, run_id: str, timeout: float = 600) -> str:
        """Wait until the run ends; returns ``success`` or ``failed``."""
        deadline = time.monotonic() + timeout
        while (state := self.run_state(dag_id, run_id)) not in TERMINAL_RUN_STATES:
            self.check_alive()
            if time.monotonic() > deadline:
                raise DeploymentError(f"run {run_id} of {dag_id} is {state} after {timeout:g} s")
            time.sleep(0.5)
        return str(state)


def _epoch(value: Any) -> float:
    """Seconds since the epoch of a timestamp as SQLite (UTC text) or PostgreSQL (a datetime) returns it."""
    from datetime import datetime, timezone

    stamp = datetime.fromisoformat(str(value).replace(" ", "T"))
    return (stamp if stamp.tzinfo else stamp.replace(tzinfo=timezone.utc)).timestamp()


def _end_group(process: subprocess.Popen[bytes], timeout: float) -> None:
    """SIGTERM the process group, then SIGKILL what is left of it after ``timeout`` seconds."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        pass
    with contextlib.suppress(ProcessLookupError):  # children that outlived their parent, too
        os.killpg(process.pid, signal.SIGKILL)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(10)
