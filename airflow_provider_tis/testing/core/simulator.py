"""What every service's simulator shares: running its HTTP servers, its workdir, its clock, its request log."""

from __future__ import annotations

import hashlib
import shutil
import tempfile
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from typing_extensions import Self

    from airflow_provider_tis.testing.core.faults import RequestRecord
    from airflow_provider_tis.testing.core.http_base import SimServer


class SimulatorBase:
    """The lifecycle and the views every simulator has. Subclasses set :attr:`jobs` (a job table with
    ``lock``, ``clock_offset``, ``now()``, ``advance()`` and ``jobs``) and implement :meth:`start`,
    calling :meth:`serve` with their servers.

    :param workdir: where uploads and outputs go (a temporary folder, removed on stop, by default).
    :param prefix: the temporary folder's name prefix.
    """

    jobs: Any

    def __init__(self, workdir: str | Path | None, prefix: str) -> None:
        self.requests: list[RequestRecord] = []
        self._own_workdir = workdir is None
        self.workdir = Path(workdir or tempfile.mkdtemp(prefix=prefix))
        self._servers: tuple[SimServer, ...] = ()

    def start(self) -> Self:
        raise NotImplementedError

    def serve(self, *servers: SimServer) -> None:
        """Serve each server from a daemon thread until :meth:`stop`."""
        self._servers = servers
        for server in servers:
            threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True).start()

    def stop(self) -> None:
        """Stop serving and remove the temporary workdir (a given ``workdir`` is kept)."""
        for server in self._servers:
            server.shutdown()
            server.server_close()
        self._servers = ()
        if hasattr(self.jobs, "close"):
            self.jobs.close()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the world ------------------------------------------------------------------------------

    def now(self) -> float:
        """The service's clock: wall time plus :meth:`shift_clock` offsets."""
        return float(self.jobs.now())

    def shift_clock(self, seconds: float) -> None:
        """Move the service's clock forward (jobs finish, retention, link expiry) without waiting."""
        with self.jobs.lock:
            self.jobs.clock_offset += seconds
            self.jobs.advance()

    def job(self, job_id: str) -> Any:
        """A job as it is now (KeyError if there is none)."""
        with self.jobs.lock:
            self.jobs.advance()
            return self.jobs.jobs[job_id]

    def wait_for(self, job_id: str, field: str, wanted: tuple[Any, ...], timeout: float) -> Any:
        """Wait until the job's ``field`` is one of ``wanted``; the job then.

        :raises TimeoutError: not within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if getattr(job, field) in wanted:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"job {job_id} has {field} {getattr(job, field)!r}, not in {wanted}")
            time.sleep(0.02)

    def log_requests_to(self, path: str | Path) -> None:
        """From now on, also append every request to ``path`` as a JSON line (tokens only hashed)."""
        from airflow_provider_tis.testing.core.faults import RequestLog

        self.requests = RequestLog(path)

    def requests_to(self, route: str) -> list[RequestRecord]:
        """Logged requests to one route (the service's route names)."""
        return [r for r in self.requests if r.route == route]

    def token_seen(self, token: str) -> list[RequestRecord]:
        """Requests that carried ``token`` (the log keeps only its SHA-256)."""
        digest = hashlib.sha256(token.encode()).hexdigest()
        return [r for r in self.requests if r.token_sha256 == digest]
