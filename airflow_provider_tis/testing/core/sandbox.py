"""A throwaway Airflow installation (AIRFLOW_HOME with SQLite) for running real DAGs offline."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any


class AirflowSandbox:
    """Runs Airflow CLI commands, such as ``airflow dags test``, in subprocesses against its own home.

    :param home: the AIRFLOW_HOME to use (created; its SQLite database is migrated by :meth:`migrate`).
    :param dags_folder: the folder of the DAGs to run (``airflow dags test`` needs the DAG inside it).
    :param env: extra environment variables for every command (connections, settings).
    """

    def __init__(self, home: str | Path, dags_folder: str | Path, env: dict[str, str] | None = None) -> None:
        self.home = Path(home)
        self.dags_folder = Path(dags_folder)
        self.env = dict(env or {})
        self.home.mkdir(parents=True, exist_ok=True)

    def environ(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW_", "AIRFLOW__"))}
        return {
            **base,
            "AIRFLOW_HOME": str(self.home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(self.dags_folder),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{self.home / 'airflow.db'}",
            **self.env,
            **(extra or {}),
        }

    def airflow(
        self, *args: str, env: dict[str, str] | None = None, timeout: float = 600
    ) -> subprocess.CompletedProcess[str]:
        """Run ``airflow <args>`` with this sandbox's environment; output is captured, not checked."""
        return subprocess.run(
            [sys.executable, "-m", "airflow", *args],
            env=self.environ(env),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def migrate(self) -> None:
        """Create the database and store the DAGs in it, as a DAG processor would (Airflow 2.10's
        ``dags test`` fails on a DatasetAlias that no DAG processor has stored: apache/airflow#42495)."""
        for command in (("db", "migrate"), ("dags", "reserialize")):
            result = self.airflow(*command)
            if result.returncode:
                raise RuntimeError(
                    f"airflow {' '.join(command)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
                )

    def dags_test(
        self,
        dag_id: str,
        conf: dict[str, Any] | None = None,
        *,
        env: dict[str, str] | None = None,
        timeout: float = 600,
    ) -> subprocess.CompletedProcess[str]:
        """``airflow dags test <dag_id> -c <conf>``; returncode 0 means the run succeeded."""
        return self.airflow("dags", "test", dag_id, "-c", json.dumps(conf or {}), env=env, timeout=timeout)
