"""CgiSimulator: a local Cancer Genome Interpreter REST API on 127.0.0.1, for tests and demos."""

from __future__ import annotations

import json
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.cgi.jobs import STATUSES, CgiConfig, CgiJob, CgiJobTable
from airflow_provider_tis.testing.cgi.server import ROUTES, make_server
from airflow_provider_tis.testing.core.faults import Faults
from airflow_provider_tis.testing.core.simulator import SimulatorBase

if TYPE_CHECKING:
    from pathlib import Path


def new_token() -> str:
    """A CGI-shaped API token: 20 hex characters (as users' code shows)."""
    return secrets.token_hex(10)


class CgiSimulator(SimulatorBase):
    """A faithful local CGI service (see ``shared/cgi-api.md`` §2), as a real HTTP server.

    The API root is ``{url}/api/v1``; every call needs ``Authorization: <email> <token>``. Use it as a
    context manager::

        with CgiSimulator(run_seconds=0.5) as sim:
            os.environ["AIRFLOW_CONN_CGI_DEFAULT"] = sim.connection_json()
            ...

    :param config: timings and limits (:class:`~.jobs.CgiConfig`); keyword arguments override single
        fields of it (``run_seconds``, ``max_jobs``, ``download_ranges``, ``reject_unknown_cancer_type``,
        ``cancer_types``, ``default_reference``).
    :param port: API port (0 picks a free one).
    :param email: the account :attr:`token` belongs to.
    :param token: its API token (default: a new random one).
    :param workdir: where uploads and results go (a temporary folder, removed on stop, by default).
    """

    def __init__(
        self,
        *,
        config: CgiConfig | None = None,
        port: int = 0,
        email: str = "alice@example.org",
        token: str | None = None,
        workdir: str | Path | None = None,
        **config_fields: Any,
    ) -> None:
        super().__init__(workdir, "cgi-sim-")
        self.config = replace(config or CgiConfig(), **config_fields)
        self.faults = Faults(ROUTES)
        self.users: dict[str, str] = {}
        self.email = email
        self.token = self.add_user(email, token)
        self.jobs = CgiJobTable(self.config, self.workdir)
        self._port = port
        self.url = ""

    # -- running ------------------------------------------------------------------------------

    def start(self) -> CgiSimulator:
        """Start serving; :attr:`url` is then ``http://127.0.0.1:<port>``."""
        server = make_server(self, self._port)
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        self.serve(server)
        return self

    @property
    def api_url(self) -> str:
        """The API root, ``{url}/api/v1`` (POST it to submit, GET it to list)."""
        return f"{self.url}/api/v1"

    # -- accounts -----------------------------------------------------------------------------

    def add_user(self, email: str, token: str | None = None) -> str:
        """Create (or re-key) an account; returns its token. Jobs are private to their account."""
        self.users[email] = token or new_token()
        return self.users[email]

    def rotate_token(self, email: str | None = None) -> str:
        """Issue a new token for the account (the old one then gets 401); returns the new one."""
        email = email or self.email
        token = self.add_user(email)
        if email == self.email:
            self.token = token
        return token

    def connection_json(self, token: str | None = None, **extra: Any) -> str:
        """A ready ``AIRFLOW_CONN_<ID>`` value (conn_type ``cgi``): host = :attr:`url` (the API is at
        ``/api/v1`` under it), login = :attr:`email`, password = the token, extra = ``extra``."""
        return json.dumps(
            {
                "conn_type": "cgi",
                "host": self.url,
                "login": self.email,
                "password": token or self.token,
                "extra": extra,
            }
        )

    # -- controlling the world ----------------------------------------------------------------

    def job_ids(self, email: str | None = None) -> list[str]:
        """The account's job ids, in the order ``GET /api/v1`` lists them (sorted by id)."""
        return [job.id for job in self.jobs.owned(email or self.email)]

    def delete_job(self, job_id: str) -> None:
        """Delete a job as its owner can on the web site: it then answers 404."""
        self.jobs.remove(job_id)

    def wait_for_status(self, job_id: str, *statuses: str, timeout: float = 30) -> CgiJob:
        """Wait until the job's status is one of ``statuses`` (default: Done or Error).

        :raises TimeoutError: not within ``timeout`` seconds.
        """
        wanted = statuses or ("Done", "Error")
        unknown = set(wanted) - set(STATUSES)
        if unknown:
            raise ValueError(f"unknown status {sorted(unknown)}; use {', '.join(STATUSES)}")
        return self.wait_for(job_id, "status", tuple(wanted), timeout)
