"""The simulated API server (``/v2``): routing, the token, maintenance, the rate limit, error bodies.

Every request, in this order: an armed fault (the shared base), an armed maintenance window (503 with
``code`` 0, §1.3), the token (``X-SBG-Auth-Token``, or ``Authorization: Bearer``; 401 otherwise), the
rate limit (429 code 1000 with the three headers, which every authenticated answer carries), then the
route. Errors are the platform's JSON body ``{status, code, message, more_info}``.
"""

from __future__ import annotations

import json
import re
import secrets
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_tis.testing.core.http_base import HttpError, SimHandler, SimServer
from airflow_provider_tis.testing.sevenbridges import api_files, api_tasks, api_uploads
from airflow_provider_tis.testing.sevenbridges.call import Call
from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError, error_body
from airflow_provider_tis.testing.sevenbridges.store import PUT_ROUTE, SbgStoreHandler

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.call import Route
    from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator

_ID = r"(?P<id>[^/]+)"
#: (method, path under /v2, route name, function); the first match wins.
TABLE: list[tuple[str, str, str, Route]] = [
    ("GET", r"/user", "user", api_files.user),
    ("GET", r"/rate_limit", "rate_limit", api_files.rate_limit),
    ("GET", r"/projects", "projects", api_files.projects),
    ("GET", r"/projects/(?P<owner>[^/]+)", "projects", api_files.projects),
    ("GET", r"/projects/(?P<owner>[^/]+)/(?P<name>[^/]+)", "project", api_files.project),
    ("GET", r"/files", "files", api_files.files),
    ("POST", r"/files", "folder_create", api_files.folder_create),
    ("GET", rf"/files/{_ID}", "file", api_files.file),
    ("DELETE", rf"/files/{_ID}", "file_delete", api_files.file_delete),
    ("GET", rf"/files/{_ID}/list", "folder_list", api_files.folder_list),
    ("GET", rf"/files/{_ID}/download_info", "download_info", api_files.download_info),
    ("POST", r"/bulk/files/get", "bulk_files_get", api_files.bulk_files_get),
    ("POST", r"/upload/multipart", "upload_init", api_uploads.upload_init),
    ("GET", rf"/upload/multipart/{_ID}", "upload_info", api_uploads.upload_info),
    ("DELETE", rf"/upload/multipart/{_ID}", "upload_abort", api_uploads.upload_abort),
    ("GET", rf"/upload/multipart/{_ID}/part/(?P<part>[^/]+)", "upload_part", api_uploads.upload_part),
    ("POST", rf"/upload/multipart/{_ID}/part", "upload_report", api_uploads.upload_report),
    ("POST", rf"/upload/multipart/{_ID}/complete", "upload_complete", api_uploads.upload_complete),
    ("GET", r"/apps", "apps", api_tasks.apps),
    ("GET", r"/apps/(?P<id>[^/]+/[^/]+/[^/]+(?:/\d+)?)", "app", api_tasks.app),
    ("GET", r"/tasks", "tasks", api_tasks.tasks),
    ("POST", r"/tasks", "task_create", api_tasks.task_create),
    ("GET", rf"/tasks/{_ID}", "task", api_tasks.task),
    ("PATCH", rf"/tasks/{_ID}", "task_edit", api_tasks.task_edit),
    ("DELETE", rf"/tasks/{_ID}", "task_delete", api_tasks.task_delete),
    ("POST", rf"/tasks/{_ID}/actions/run", "task_run", api_tasks.task_run),
    ("POST", rf"/tasks/{_ID}/actions/abort", "task_abort", api_tasks.task_abort),
    ("POST", rf"/tasks/{_ID}/actions/clone", "task_clone", api_tasks.task_clone),
    ("POST", rf"/tasks/{_ID}/actions/(?P<action>[^/]+)", "task_action", api_tasks.task_action),
    ("GET", rf"/tasks/{_ID}/execution_details", "execution_details", api_tasks.execution_details),
    ("POST", r"/bulk/tasks/get", "bulk_tasks_get", api_tasks.bulk_tasks_get),
]
_COMPILED = [(method, re.compile(f"/v2{path}/?"), name, fn) for method, path, name, fn in TABLE]

#: Route names, for :class:`~airflow_provider_tis.testing.core.faults.Faults` and the request log:
#: the API's, ``store`` (downloads from the object store) and ``part_upload`` (PUTs of upload parts).
ROUTES = (*dict.fromkeys(name for _, _, name, _ in TABLE), "store", PUT_ROUTE)


class SbgApiHandler(SimHandler):
    """Request handler of :class:`~.simulator.SevenBridgesSimulator`'s API."""

    @property
    def sbg(self) -> SevenBridgesSimulator:
        return cast("SevenBridgesSimulator", self.server.sim)

    def presented_token(self) -> str | None:
        """``X-SBG-Auth-Token`` (§1.1), or the token of ``Authorization: Bearer`` (OAuth, which SBPY
        also sends)."""
        token = self.headers.get("X-SBG-Auth-Token")
        if token:
            return token
        auth = (self.headers.get("Authorization") or "").split()
        return auth[1] if len(auth) == 2 and auth[0].lower() == "bearer" else None

    def _head(self, status: int, length: int, content_type: str, **headers: str) -> None:
        super()._head(status, length, content_type, **{**self._extra, **headers})

    def do_GET(self) -> None:
        self._extra: dict[str, str] = {"X-Request-Id": secrets.token_hex(16)}
        parts = urlsplit(self.path)
        route: tuple[str, Route, dict[str, str]] | None = None
        allowed = []
        for method, pattern, name, fn in _COMPILED:
            match = pattern.fullmatch(parts.path)
            if match:
                allowed.append(method)
                if method == self.command and route is None:
                    route = (name, fn, match.groupdict())
        if route is None:
            self.begin_record("api", "unknown")
            self._drain()
            if allowed:
                self._error(SbgApiError(405, 90006, headers={"Allow": ", ".join(dict.fromkeys(allowed))}))
            else:
                self._error(SbgApiError(404, 90003, more_info=f"No route {self.command} {parts.path}."))
            return
        name, fn, params = route
        extra = self.begin_record("api", name)
        self.dispatch(name, lambda: self._serve(name, fn, params, parts.query, extra), self._error)

    do_POST = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET

    def _error(self, err: HttpError) -> None:
        self._send(err.status, json.dumps(error_body(err)).encode(), "application/json", **err.headers)

    def _serve(self, name: str, fn: Route, params: dict[str, str], query: str, extra: dict[str, Any]) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length > 0 else b""
        sim = self.sbg
        if sim.take_maintenance():  # [I] before the token: maintenance is the platform's front door
            raise SbgApiError(503, 0)
        user = sim.user_for(self.presented_token())
        self.note(auth_ok=user is not None)
        if user is None:  # [I] the 401's code: the table's general "Unauthorized."
            raise SbgApiError(401, 90001, more_info="Send a valid token in the X-SBG-Auth-Token header.")
        budget = sim.limiter.peek(user) if name == "rate_limit" else sim.limiter.take(user)
        self._extra.update(budget.headers(sim.config.reset_in_ms))
        if not budget.allowed:
            raise SbgApiError(429, 1000)
        call = Call(sim, user, params, parse_qs(query, keep_blank_values=True), raw, self._url(), extra)
        with sim.lock:
            sim.jobs.advance()
            status, body = fn(call)
        self._extra.update(call.headers)
        if status == 204:
            self._send(204)
        else:
            self._json(body, status)

    def _url(self) -> str:
        return f"{self.sbg.root_url}{urlsplit(self.path).path.rstrip('/')}"


def make_servers(sim: SevenBridgesSimulator, port: int, store_port: int) -> tuple[SimServer, SimServer]:
    """The API server and the object store of ``sim`` on 127.0.0.1 (port 0: a free one)."""
    return SimServer(port, SbgApiHandler, sim), SimServer(store_port, SbgStoreHandler, sim)
