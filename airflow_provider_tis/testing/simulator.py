"""TisSimulator: a local TOPMed/Michigan Imputation Server on 127.0.0.1, for tests and demos."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import shutil
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from airflow_provider_tis.testing.faults import Faults, RequestRecord
from airflow_provider_tis.testing.http_base import presigned_path
from airflow_provider_tis.testing.jobs import JobTable, SimConfig, SimFile, SimJob
from airflow_provider_tis.testing.profiles import PROFILES, Profile
from airflow_provider_tis.testing.server import make_servers
from airflow_provider_tis.testing.tokens import api_token


class ConcurrencyGauge:
    """Counts requests in progress; ``peak`` is the most seen at once (e.g. parallel downloads)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.current = self.peak = 0

    def __enter__(self) -> None:
        with self._lock:
            self.current += 1
            self.peak = max(self.peak, self.current)

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.current -= 1


class TisSimulator:
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
        self.profile = PROFILES[profile] if isinstance(profile, str) else profile
        self.config = replace(config or SimConfig(), **config_fields)
        self.secret = secrets.token_bytes(32)
        self.users: dict[str, str] = {}
        self.maintenance = False
        self.maintenance_message = "The server is in maintenance mode. Please try again later."
        self.faults = Faults()
        self.store_gauge = ConcurrencyGauge()
        self.requests: list[RequestRecord] = []
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix="tis-sim-"))
        self.jobs = JobTable(self.config, self.profile, self.workdir)
        self.username = username
        self.token = self.issue_token(username, lifetime=token_lifetime)
        self._port, self._store_port = port, store_port
        self._threads: list[threading.Thread] = []
        self._servers: tuple[Any, ...] = ()

    # -- running ------------------------------------------------------------------------------

    def start(self) -> TisSimulator:
        api, store = make_servers(self, self._port, self._store_port)
        self._servers = (api, store)
        self.url = f"http://127.0.0.1:{api.server_address[1]}"
        self.store_url = f"http://127.0.0.1:{store.server_address[1]}"
        for server in self._servers:
            thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self.jobs.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> TisSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

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

    def shift_clock(self, seconds: float) -> None:
        """Move the server's clock forward (retention, URL expiry) without waiting."""
        with self.jobs.lock:
            self.jobs.clock_offset += seconds
            self.jobs.advance()

    def delete_job(self, job_id: str) -> None:
        """Delete a job as its owner can in the web UI: it then answers 404."""
        with self.jobs.lock:
            self.jobs.jobs[job_id].state = 10

    def restart(self) -> None:
        """Simulate a server restart: queued and running jobs become DEAD."""
        self.jobs.restart_server()

    def job(self, job_id: str) -> SimJob:
        with self.jobs.lock:
            self.jobs.advance()
            return self.jobs.jobs[job_id]

    def wait_for_state(self, job_id: str, *states: int, timeout: float = 30) -> SimJob:
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job.state in states:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} is in state {job.state}, not in {states}")
            time.sleep(0.02)

    def requests_to(self, route: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.route == route]

    def token_seen(self, token: str) -> list[RequestRecord]:
        """Requests that carried ``token`` in ``X-Auth-Token``."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        return [r for r in self.requests if r.token_sha256 == digest]

    # -- object store -------------------------------------------------------------------------

    def presign(self, sim_file: SimFile) -> str:
        path = presigned_path(sim_file.job_id, sim_file.name)
        expires = f"{self.jobs.now() + self.config.url_ttl:.3f}"
        signature = hmac.new(self.secret, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        return f"{self.store_url}{path}?X-Amz-Expires-At={expires}&X-Amz-Signature={signature}"

    def stored_file(self, path: str) -> SimFile | None:
        with self.jobs.lock:
            for sim_file in self.jobs.downloads.values():
                if unquote(presigned_path(sim_file.job_id, sim_file.name)) == path:
                    return sim_file
        return None
