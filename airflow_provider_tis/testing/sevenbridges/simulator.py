"""SevenBridgesSimulator: a local Seven Bridges / BioData Catalyst public API (v2) on 127.0.0.1."""

from __future__ import annotations

import json
import secrets
import threading
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_tis.testing.core.faults import Faults
from airflow_provider_tis.testing.core.simulator import SimulatorBase
from airflow_provider_tis.testing.core.store import ConcurrencyGauge
from airflow_provider_tis.testing.sevenbridges.apps import App, AppInput, AppOutput, demo_app, failing_app
from airflow_provider_tis.testing.sevenbridges.config import SbgConfig
from airflow_provider_tis.testing.sevenbridges.files import FileStore, SbgFile
from airflow_provider_tis.testing.sevenbridges.ratelimit import RateLimiter
from airflow_provider_tis.testing.sevenbridges.server import ROUTES, make_servers
from airflow_provider_tis.testing.sevenbridges.store import sign
from airflow_provider_tis.testing.sevenbridges.task_table import TaskTable
from airflow_provider_tis.testing.sevenbridges.tasks import TERMINAL, Task
from airflow_provider_tis.testing.sevenbridges.uploads import UploadTable

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

#: Options for fast tests (the pytest plugin's defaults): runs take a fraction of a second.
FAST: dict[str, Any] = {"queue_seconds": 0.05, "run_seconds": 0.3, "abort_seconds": 0.05}


def new_token() -> str:
    """A token shaped like the platform's: 32 hex characters [I from users' configuration files]."""
    return secrets.token_hex(16)


class SevenBridgesSimulator(SimulatorBase):
    """A faithful local Seven Bridges / BDC platform (see ``shared/sevenbridges-api.md`` §1), as real
    HTTP servers: the API at :attr:`url` (``http://127.0.0.1:<port>/v2``) and an object store for
    downloads and upload parts. Use it as a context manager::

        with SevenBridgesSimulator(run_seconds=0.5) as sim:
            os.environ["AIRFLOW_CONN_SEVENBRIDGES_DEFAULT"] = sim.connection_json()
            ...

    It starts with a user (:attr:`username`, :attr:`token`), a project (:attr:`project`), the app
    :attr:`demo_app` (two files and an int in; a report, the merged inputs and a folder with a nested
    folder out; ``threads`` over 64 makes it FAIL) and :attr:`failing_app` (every task FAILS).

    :param config: timings and limits (:class:`~.config.SbgConfig`); keyword arguments override single
        fields (``run_seconds``, ``rate_limit``, ``url_ttl`` ...).
    :param port: API port (0: a free one).
    :param store_port: object store port (0: a free one).
    :param username: the first user.
    :param token: that user's token (default: a random one).
    :param project: the name of that user's project (its id is ``<username>/<project>``).
    :param workdir: where files and upload parts go (a temporary folder, removed on stop, by default).
    """

    def __init__(
        self,
        *,
        config: SbgConfig | None = None,
        port: int = 0,
        store_port: int = 0,
        username: str = "alice",
        token: str | None = None,
        project: str = "demo",
        workdir: str | Path | None = None,
        **config_fields: Any,
    ) -> None:
        super().__init__(workdir, "sbg-sim-")
        self.config = replace(config or SbgConfig(), **config_fields)
        self.secret = secrets.token_bytes(32)
        self.faults = Faults(ROUTES)
        self.store_gauge = ConcurrencyGauge()
        self.lock = threading.RLock()
        self.files = FileStore(self.workdir, self.lock, self.now)
        self.jobs = TaskTable(self.config, self.files, self.lock)
        self.uploads = UploadTable(self.files, self.config, self.workdir, self.lock, self._presign_put)
        self.limiter = RateLimiter(self.config, self.now)
        self.tokens: dict[str, str] = {}  # token -> username
        self.users: set[str] = set()
        self._maintenance = 0  # answers left in the armed window; -1: until cleared
        self.username = username
        self.token = self.add_user(username, token)
        self.project = self.add_project(project)
        self.demo_app = self.jobs.add_app(demo_app(self.project)).id
        self.failing_app = self.jobs.add_app(failing_app(self.project)).id
        self._ports = (port, store_port)
        self.root_url = self.url = self.store_url = ""

    # -- running --------------------------------------------------------------------------------

    def start(self) -> SevenBridgesSimulator:
        """Start serving; :attr:`url` is then the API root ``http://127.0.0.1:<port>/v2``."""
        api, store = make_servers(self, *self._ports)
        self.root_url = f"http://127.0.0.1:{api.server_address[1]}"
        self.url = f"{self.root_url}/v2"
        self.store_url = f"http://127.0.0.1:{store.server_address[1]}"
        self.serve(api, store)
        return self

    def connection_json(self, token: str | None = None, project: str | None = None) -> str:
        """A ready ``AIRFLOW_CONN_<ID>`` value: conn_type ``sevenbridges``, host = :attr:`url` (the API
        root with ``/v2``), password = the token, ``extra.project`` = the project (§1.6)."""
        return json.dumps(
            {
                "conn_type": "sevenbridges",
                "host": self.url,
                "password": token or self.token,
                "extra": {"project": project or self.project},
            }
        )

    # -- users and tokens -----------------------------------------------------------------------

    def add_user(self, username: str, token: str | None = None) -> str:
        """Create a user (or give one a new token, which invalidates the old, §1.1); the token."""
        with self.lock:
            for old in [t for t, u in self.tokens.items() if u == username]:
                del self.tokens[old]
            token = token or new_token()
            self.tokens[token] = username
            self.users.add(username)
            return token

    def regenerate_token(self, username: str | None = None) -> str:
        """Regenerate a user's token, as in the UI: the old one then gets 401. The new token."""
        username = username or self.username
        token = self.add_user(username)
        if username == self.username:
            self.token = token
        return token

    def revoke(self, token: str | None = None) -> None:
        """Invalidate a token (default :attr:`token`): it then gets the platform's 401."""
        with self.lock:
            self.tokens.pop(token or self.token, None)

    def user_for(self, token: str | None) -> str | None:
        """The user a token belongs to, or None."""
        with self.lock:
            return self.tokens.get(token) if token else None

    def profile(self, username: str) -> dict[str, Any]:
        """``GET /user``'s body for a user."""
        return {
            "href": f"{self.url}/users/{username}",
            "username": username,
            "email": f"{username}@example.org",
            "first_name": username.capitalize(),
            "last_name": "Simulated",
            "affiliation": "Simulation",
            "phone": "",
            "address": "",
            "city": "",
            "state": "",
            "country": "",
            "zip_code": "",
            "role": "USER",
        }

    # -- the world ------------------------------------------------------------------------------

    def add_project(self, name: str, owner: str | None = None, members: Iterable[str] = ()) -> str:
        """Create a project (``owner`` default :attr:`username`); ``members`` may use it too. Its id."""
        project = self.files.add_project(owner or self.username, name)
        project.members.update(members)
        return project.id

    def add_app(
        self,
        name: str,
        inputs: Sequence[AppInput] = (),
        outputs: Sequence[AppOutput] = (AppOutput("report"),),
        *,
        project: str | None = None,
        steps: Sequence[str] = ("run",),
        fail_step: int | None = None,
        fail_message: str = "Job failed with exit code 1.",
    ) -> str:
        """Add an app (a new revision if it exists); its id ``owner/project/name`` (latest revision).

        :param inputs: declared inputs (ids, types ``File``, ``File[]``, ``Directory``, ``string``,
            ``int``, required or not).
        :param outputs: declared outputs; each task writes them as real files (:class:`AppOutput`).
        :param steps: the jobs a task runs, one after the other (``steps_total``).
        :param fail_step: index of the step where every task of it FAILS with ``fail_message``.
        """
        app = App(
            project or self.project,
            name,
            tuple(inputs),
            tuple(outputs),
            tuple(steps),
            fail_step=fail_step,
            fail_message=fail_message,
        )
        return self.jobs.add_app(app).id

    def add_file(
        self,
        name: str,
        content: bytes | str | Path = b"",
        *,
        project: str | None = None,
        parent: str | None = None,
        metadata: dict[str, Any] | None = None,
        tags: Sequence[str] = (),
    ) -> str:
        """Put a file in a project (or folder ``parent``) as if uploaded; its id."""
        data = content.read_bytes() if isinstance(content, Path) else content
        data = data.encode() if isinstance(data, str) else data
        project_id = self.files.files[parent].project if parent else project or self.project
        sim_file = self.files.add_file(
            project_id, parent, name, content=data, metadata=dict(metadata or {}), tags=list(tags)
        )
        return sim_file.id

    def add_folder(self, name: str, *, project: str | None = None, parent: str | None = None) -> str:
        """Create a folder in a project's root (or in folder ``parent``); its id."""
        project_id = self.files.files[parent].project if parent else project or self.project
        return self.files.add_folder(project_id, parent, name).id

    def file(self, file_id: str) -> SbgFile:
        """A file or folder (KeyError if there is none)."""
        with self.lock:
            return self.files.files[file_id]

    def read_file(self, file_id: str) -> bytes:
        """A file's content."""
        path = self.file(file_id).path
        if path is None:
            raise IsADirectoryError(file_id)
        return path.read_bytes()

    def task(self, task_id: str) -> Task:
        """A task as it is now (KeyError if there is none)."""
        return self.job(task_id)

    def wait_for_status(self, task_id: str, *statuses: str, timeout: float = 30) -> Task:
        """Wait until a task's status is one of ``statuses`` (default: COMPLETED, FAILED, ABORTED).

        :raises TimeoutError: not within ``timeout`` seconds.
        """
        return self.wait_for(task_id, "status", tuple(statuses or TERMINAL), timeout)

    # -- maintenance ------------------------------------------------------------------------------

    def arm_maintenance(self, times: int = 1) -> None:
        """The next ``times`` API requests get the maintenance answer: 503 with ``code`` 0, on which
        SBPY's default handler sleeps 300 s and retries (§1.3)."""
        with self.lock:
            self._maintenance = times

    def set_maintenance(self, on: bool) -> None:
        """Begin (until ended) or end a maintenance window."""
        with self.lock:
            self._maintenance = -1 if on else 0

    def take_maintenance(self) -> bool:
        """Whether this request gets the maintenance answer (uses one armed answer)."""
        with self.lock:
            if self._maintenance > 0:
                self._maintenance -= 1
                return True
            return self._maintenance < 0

    # -- the object store -------------------------------------------------------------------------

    def presign(self, sim_file: SbgFile) -> str:
        """A download URL of a file on the store, valid ``url_ttl`` seconds."""
        path = f"/sbg-sim-bucket/{sim_file.id}/{quote(sim_file.name)}"
        expires = f"{self.now() + self.config.url_ttl:.3f}"
        signature = sign(self.secret, f"{path}|{expires}")
        return f"{self.store_url}{path}?X-Amz-Expires-At={expires}&X-Amz-Signature={signature}"

    def _presign_put(self, path: str, expires_at: float) -> str:
        expires = f"{expires_at:.3f}"
        signature = sign(self.secret, f"PUT {path}|{expires}")
        return f"{self.store_url}{path}?X-Amz-Expires-At={expires}&X-Amz-Signature={signature}"

    def stored_file(self, path: str) -> SbgFile | None:
        """The file a store path names (for the store's GETs)."""
        return self.files.by_store_path(path)
