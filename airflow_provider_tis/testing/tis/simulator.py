"""TisSimulator: a local TOPMed/Michigan Imputation Server on 127.0.0.1, for tests and demos."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from airflow_provider_tis.testing.core.faults import Faults
from airflow_provider_tis.testing.core.simulator import SimulatorBase
from airflow_provider_tis.testing.core.store import ConcurrencyGauge
from airflow_provider_tis.testing.tis.jobs import JobTable, SimConfig, SimFile, SimJob
from airflow_provider_tis.testing.tis.profiles import PROFILES, Profile
from airflow_provider_tis.testing.tis.server import make_servers
from airflow_provider_tis.testing.tis.tokens import api_token

if TYPE_CHECKING:
    from pathlib import Path

#: The routes faults can be armed on: the API's, and ``store`` (the object store).
ROUTES = ("server", "app", "verify", "jobs", "job", "status", "cancel", "restart", "submit", "share", "store")


def presigned_path(job_id: str, name: str) -> str:
    """The object store path of an output file (unsigned)."""
    return f"/tis-sim-bucket/{job_id}/outputs/output/{quote(name)}"


class TisSimulator(SimulatorBase):
    """A faithful local imputation server (see ``shared/tis-api.md``), as a real HTTP server.

    Use it as a context manager::

        with TisSimulator(run_seconds=0.5) as sim:
            os.environ["AIRFLOW_CONN_TIS_DEFAULT"] = sim.connection_json()
            ...

    :param profile: ``"tis"`` (TOPMed) or ``"michigan"``, or a :class:`Profile`.
    :param config: timings and limits; keyword arguments override single fields of it.
    :param port: API port (0 picks a free one). Downloads redirect to a second server on ``store_port``.
    :param username: the user :attr:`token` belongs to.
    :param token_lifetime: seconds the issued token is valid.
    :param workdir: where uploads and outputs go (a temporary folder, removed on stop, by default).
    """

    def __init__(
        self,
        *,
        profile: str | Profile = "tis",
        config: SimConfig | None = None,
        port: int = 0,
        store_port: int = 0,
        username: str = "alice",
        token_lifetime: float = 30 * 86400,
        workdir: str | Path | None = None,
        **config_fields: Any,
    ) -> None:
        super().__init__(workdir, "tis-sim-")
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.config = replace(config or SimConfig(), **config_fields)
        self.secret = secrets.token_bytes(32)
        self.users: dict[str, str] = {}
        self.maintenance = False
        self.maintenance_message = "The server is in maintenance mode. Please try again later."
        self.faults = Faults(ROUTES)
        self.store_gauge = ConcurrencyGauge()
        self.jobs = JobTable(self.config, self.profile, self.workdir)
        self.username = username
        self.token = self.issue_token(username, lifetime=token_lifetime)
        self._port, self._store_port = port, store_port

    # -- running ------------------------------------------------------------------------------

    def start(self) -> TisSimulator:
        api, store = make_servers(self, self._port, self._store_port)
        self.url = f"http://127.0.0.1:{api.server_address[1]}"
        self.store_url = f"http://127.0.0.1:{store.server_address[1]}"
        self.serve(api, store)
        return self

    # -- users and tokens ---------------------------------------------------------------------

    def issue_token(self, username: str | None = None, *, lifetime: float = 30 * 86400) -> str:
        """A new API token; like the real server, it invalidates the user's previous one (403)."""
        username = username or self.username
        self.users[username] = secrets.token_hex(16)
        return api_token(username, self.users[username], self.secret, lifetime=lifetime)

    def revoke_token(self, username: str | None = None) -> None:
        """Revoke the user's token: it then gets 403."""
        self.users[username or self.username] = secrets.token_hex(16)

    def connection_json(self, token: str | None = None, **extra: Any) -> str:
        """A ready ``AIRFLOW_CONN_<ID>`` value pointing at this simulator."""
        return json.dumps(
            {"conn_type": "tis", "host": self.url, "password": token or self.token, "extra": extra}
        )

    # -- controlling the world ----------------------------------------------------------------

    def delete_job(self, job_id: str) -> None:
        """Delete a job as its owner can in the web UI: it then answers 404."""
        with self.jobs.lock:
            self.jobs.jobs[job_id].state = 10

    def restart(self) -> None:
        """Simulate a server restart: queued and running jobs become DEAD."""
        self.jobs.restart_server()

    def wait_for_state(self, job_id: str, *states: int, timeout: float = 30) -> SimJob:
        """Wait until the job's state is one of ``states`` (:raises TimeoutError: not in time)."""
        return self.wait_for(job_id, "state", states, timeout)

    # -- object store -------------------------------------------------------------------------

    def presign(self, sim_file: SimFile) -> str:
        path = presigned_path(sim_file.job_id, sim_file.name)
        expires = f"{self.now() + self.config.url_ttl:.3f}"
        signature = hmac.new(self.secret, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{self.store_url}{path}?X-Amz-Expires-At={expires}&X-Amz-Signature={signature}"

    def stored_file(self, path: str) -> SimFile | None:
        with self.jobs.lock:
            for sim_file in self.jobs.downloads.values():
                if unquote(presigned_path(sim_file.job_id, sim_file.name)) == path:
                    return sim_file
        return None
