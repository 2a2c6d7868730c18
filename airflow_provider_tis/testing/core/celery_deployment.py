""":class:`AirflowDeployment` with the CeleryExecutor: a given metadata database (PostgreSQL), a Celery
broker (Redis) and result backend, N ``airflow celery worker`` processes, and the triggerer.

It starts no database or broker of its own: give their URLs (``make check-celery`` starts both, see
``benchmarks/celery_deployment.py``). Every worker gets its own name, which is also the hostname Airflow
records for the tasks it runs (``task_instance.hostname``), so workers on one machine can be told apart::

    with CeleryAirflowDeployment(
        "my_dags/",
        sql_alchemy_conn="postgresql+psycopg2://airflow@127.0.0.1:5432/airflow",
        broker_url="redis://127.0.0.1:6379/0",
        workers=2,
    ) as af:
        run_id = af.trigger("tis_imputation", conf={...})
        assert af.wait_for_run("tis_imputation", run_id) == "success"
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.core.deployment import AirflowDeployment, DeploymentError, free_port

if TYPE_CHECKING:
    from pathlib import Path

#: The environment variable that names a component's host for :func:`component_hostname`.
HOSTNAME_VARIABLE = "AIRFLOW_DEPLOYMENT_HOSTNAME"
TRIGGERER_HOSTNAME = "triggerer"


def component_hostname() -> str:
    """``[core] hostname_callable`` of the deployment: the name in ``AIRFLOW_DEPLOYMENT_HOSTNAME`` (each
    worker and the triggerer get one), else the machine's FQDN, as Airflow's default does."""
    import socket

    return os.environ.get(HOSTNAME_VARIABLE) or socket.getfqdn()


class CeleryAirflowDeployment(AirflowDeployment):
    """Scheduler, DAG processor, triggerer, API server and ``workers`` Celery workers, on 127.0.0.1.

    Takes every parameter of :class:`AirflowDeployment` (``parallelism`` is the scheduler's limit of
    running tasks), and:

    :param sql_alchemy_conn: the metadata database, ``postgresql+psycopg2://user@host:port/db``
        (:meth:`query` reads it with psycopg2; other databases are not supported here).
    :param broker_url: the Celery broker, e.g. ``redis://127.0.0.1:6379/0``.
    :param result_backend: the Celery result backend (default: the metadata database, ``db+...``).
    :param workers: how many ``airflow celery worker`` processes; they are named ``worker-1``,
        ``worker-2``... (their Celery node names are ``worker-N@<host>``).
    :param concurrency: task slots of each worker.
    """

    def __init__(
        self,
        dags_folder: str | Path,
        *,
        sql_alchemy_conn: str,
        broker_url: str,
        result_backend: str | None = None,
        workers: int = 2,
        concurrency: int = 1,
        **kwargs: Any,
    ) -> None:
        if not sql_alchemy_conn.startswith("postgresql"):
            raise DeploymentError(f"CeleryAirflowDeployment reads PostgreSQL only, not {sql_alchemy_conn!r}.")
        self.sql_alchemy_conn = sql_alchemy_conn
        self.broker_url = broker_url
        self.result_backend = result_backend or f"db+{sql_alchemy_conn}"
        self.concurrency = concurrency
        self.workers = [f"worker-{n}" for n in range(1, workers + 1)]
        super().__init__(dags_folder, **kwargs)
        self.components += self.workers

    def _environment(self, parallelism: int, extra: dict[str, str]) -> dict[str, str]:
        env = super()._environment(parallelism, {})
        env.update(
            {
                "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
                "AIRFLOW__CORE__HOSTNAME_CALLABLE": f"{__name__}.component_hostname",
                "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": self.sql_alchemy_conn,
                "AIRFLOW__CELERY__BROKER_URL": self.broker_url,
                "AIRFLOW__CELERY__RESULT_BACKEND": self.result_backend,
                # two deployments (or a LocalExecutor one) on one machine must not share the default port
                "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            }
        )
        return {**env, **extra}

    def command_of(self, component: str) -> tuple[list[str], dict[str, str]]:
        if component == "triggerer":
            return super().command_of(component)[0], {**self._env, HOSTNAME_VARIABLE: TRIGGERER_HOSTNAME}
        if component not in self.workers:
            return super().command_of(component)
        command = super().command_of("celery")[0] + [
            "worker",
            "--celery-hostname",
            f"{component}@%h",
            "--concurrency",
            str(self.concurrency),
            "--pid",
            str(self.home / f"{component}.pid"),  # the default is one file for every worker of a home
        ]
        env = {
            **self._env,
            HOSTNAME_VARIABLE: component,
            "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port()),  # each worker serves its logs
        }
        return command, env

    def wait_until_ready(self, timeout: float = 180) -> None:
        """Also wait until every Celery worker has connected to the broker and says it is ready."""
        deadline = time.monotonic() + timeout
        super().wait_until_ready(timeout)
        while waiting := [w for w in self.workers if not re.search(rf"{w}@\S+ ready", self.log_of(w))]:
            self.check_alive()
            if time.monotonic() > deadline:
                raise DeploymentError(f"Celery workers not ready within {timeout:g} s: {', '.join(waiting)}")
            time.sleep(0.5)

    def query(self, sql: str, *params: Any) -> list[tuple[Any, ...]]:
        """Rows of a read-only SQL query (``?`` placeholders, as for SQLite) on the PostgreSQL database."""
        # the celery extra's driver (untyped); not needed when the module is imported
        psycopg2 = importlib.import_module("psycopg2")
        dsn = re.sub(r"^postgresql\+\w+://", "postgresql://", self.sql_alchemy_conn)
        try:
            with contextlib.closing(psycopg2.connect(dsn, connect_timeout=10)) as db:
                db.set_session(readonly=True, autocommit=True)
                with db.cursor() as cursor:
                    cursor.execute(sql.replace("%", "%%").replace("?", "%s"), params)
                    return list(cursor.fetchall())
        except psycopg2.errors.UndefinedTable:  # a table not there yet while migrating
            return []
