"""The simulator's Cloudgene 3 API: routes, auth, submissions, job info and download redirects."""

from __future__ import annotations

import json
import re
import shutil
import time
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_tis.testing.core.http_base import HttpError, SimHandler, SimServer
from airflow_provider_tis.testing.core.multipart import MultipartError, boundary_of, read_multipart
from airflow_provider_tis.testing.core.store import StoreHandler
from airflow_provider_tis.testing.tis import jobs as J
from airflow_provider_tis.testing.tis.tokens import decode_jwt

if TYPE_CHECKING:
    from airflow_provider_tis.testing.tis.simulator import TisSimulator

PAGE_SIZE = 15
#: The rest of TIS's typed ``/api/v2/server`` record (fields per the facts sheet; null fields are left out
#: there, as here). [I] The values are guesses in the record's types: the real ones are site settings.
SERVER_LOOK: dict[str, Any] = {
    "background": "#11385e",
    "foreground": "#ffffff",
    "emailRequired": True,
    "userEmailDescription": "You will receive an email when your jobs finish.",
    "userWithoutEmailDescription": "Without an email address you cannot reset your password.",
    "oauth": [],
    "deprecatedApps": [],
    "experimentalApps": [],
}
_API_ROUTES = [
    ("GET", re.compile(r"^/api/v2/server$"), "server"),
    ("GET", re.compile(r"^/api/v2/server/apps/(?P<app>[^/]+)$"), "app"),
    ("POST", re.compile(r"^/api/v2/tokens/verify$"), "verify"),
    ("GET", re.compile(r"^/api/v2/jobs$"), "jobs"),
    ("GET", re.compile(r"^/api/v2/jobs/(?P<id>[^/]+)$"), "job"),
    ("GET", re.compile(r"^/api/v2/jobs/(?P<id>[^/]+)/status$"), "status"),
    ("GET", re.compile(r"^/api/v2/jobs/(?P<id>[^/]+)/cancel$"), "cancel"),
    ("GET", re.compile(r"^/api/v2/jobs/(?P<id>[^/]+)/restart$"), "restart"),
    ("POST", re.compile(r"^/api/v2/jobs/submit/(?P<app>[^/]+)$"), "submit"),
    ("GET", re.compile(r"^/share/results/(?P<hash>[^/]+)/(?P<name>.+)$"), "share"),
]


def escape_html(text: str) -> str:
    """Commons-Lang ``escapeHtml``: ``& < > "`` and every non-ASCII character become entities."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in out)


def _ms(seconds: float) -> int:
    return int(seconds * 1000) if seconds > 0 else int(seconds)


class ApiHandler(SimHandler):
    @property
    def sim(self) -> TisSimulator:
        return cast("TisSimulator", self.server.sim)

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_HEAD = do_GET
    do_DELETE = do_GET

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        method = "GET" if self.command == "HEAD" else self.command
        for route_method, pattern, route in _API_ROUTES:  # noqa: B007 - route is used after the loop
            match = pattern.match(path)
            if match and route_method == method:
                break
        else:
            self.begin_record("api", "unknown")
            self._drain()
            status = 403 if method == "DELETE" and path.startswith("/api/v2/jobs/") else 404
            self._json({"message": "Page Not Found", "success": False} if status == 404 else "", status)
            return
        extra = self.begin_record("api", route)
        maintenance = "This functionality is currently under maintenance."
        self.dispatch(
            route,
            lambda: getattr(self, f"_route_{route}")(extra=extra, **match.groupdict()),
            self._send_error,
            lambda status: maintenance if status == 503 else "Server error",
        )

    def _send_error(self, err: HttpError) -> None:
        body = json.dumps({"message": err.message, "success": False}).encode() if err.message else b""
        self._send(err.status, body, **err.headers)

    # -- auth ---------------------------------------------------------------------------------

    def _username(self) -> str:
        """The token's user; 401 without a valid token, 403 for a revoked or superseded one."""
        username = self._token_user()
        valid = username is not None and self.sim.users.get(username) == self._claims.get("api_hash")
        self.note(auth_ok=valid)
        if username is None:
            self._drain()
            raise HttpError(401)
        if not valid:
            self._drain()
            raise HttpError(403)  # revoked, or superseded by a newer token
        return username

    def _optional_username(self) -> str | None:
        """The token's user if a valid token came with the request (anonymous routes)."""
        username = self._token_user()
        if username is None or self.sim.users.get(username) != self._claims.get("api_hash"):
            return None
        return username

    def _token_user(self) -> str | None:
        token = self.headers.get("X-Auth-Token")
        claims = decode_jwt(token, self.sim.secret, now=self.sim.jobs.now()) if token else None
        self._claims: dict[str, Any] = claims or {}
        username = self._claims.get("username")
        return username if isinstance(username, str) else None

    def _maintenance(self) -> None:
        if self.sim.maintenance:
            raise HttpError(503, "This functionality is currently under maintenance.")

    def _job(self, job_id: str, username: str) -> J.SimJob:
        self.sim.jobs.advance()
        job = self.sim.jobs.jobs.get(job_id)
        if job is None or job.state == J.DELETED:
            raise HttpError(404, f"Job {job_id} not found.")
        if job.username != username:
            raise HttpError(403, "Access denied.")
        return job

    # -- routes -------------------------------------------------------------------------------

    def _route_server(self, extra: dict[str, Any]) -> None:
        username = self._optional_username()
        profile = self.sim.profile
        data: dict[str, Any] = {
            "name": profile.server_name,
            "apps": [{"id": profile.app_id, "name": profile.app_name, "version": profile.app_version}],
            "loggedIn": username is not None,
            profile.maintenance_key: self.sim.maintenance,
        }
        if self.sim.maintenance:
            data[profile.maintenance_key + "Message"] = self.sim.maintenance_message
        if username:
            data["user"] = {
                "username" if profile.typed_server else "name": username,
                "fullName": username.title(),
                "mail": f"{username}@example.org",
                "admin": False,
            }
        if profile.typed_server:
            data.update(SERVER_LOOK)
        self._json(data)

    def _route_app(self, extra: dict[str, Any], app: str) -> None:
        username = self._optional_username()
        self._maintenance()
        if username is None or app.split("@")[0] != self.sim.profile.app_id:
            raise HttpError(404, f"Application {app} not found or the request requires user authentication.")
        self._json(self.sim.profile.app_json())

    def _route_verify(self, extra: dict[str, Any]) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        token = (form.get("token") or [""])[0]
        claims = decode_jwt(token, self.sim.secret, now=self.sim.jobs.now()) if token else None
        if claims is None or self.sim.users.get(str(claims.get("username"))) != claims.get("api_hash"):
            self._json({"valid": False, "message": "Invalid API Token."})
            return
        expire = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(claims["exp"]))
        self._json(
            {
                "valid": True,
                "message": "API Token was created by %s and is valid.",
                "username": claims["username"],
                "name": claims.get("name"),
                "mail": claims.get("mail"),
                "expire": expire,
            }
        )

    def _route_jobs(self, extra: dict[str, Any]) -> None:
        username = self._username()
        self._maintenance()
        with self.sim.jobs.lock:
            self.sim.jobs.advance()
            mine = sorted(
                (j for j in self.sim.jobs.jobs.values() if j.username == username and j.state != J.DELETED),
                key=lambda j: j.id,
                reverse=True,
            )
            listed = [self._job_json(j, listing=True) for j in mine]
        query = parse_qs(urlsplit(self.path).query)
        count = len(listed)
        if "page" not in query:
            self._json(
                {
                    "count": count,
                    "page": 1 if count else 0,
                    "pageSize": count,
                    "prev": None,
                    "next": None,
                    "pages": [1] if count else [],
                    "data": listed,
                }
            )
            return
        pages = (count + PAGE_SIZE - 1) // PAGE_SIZE
        page = max(1, int(query["page"][0])) if query["page"][0].isdigit() else 1
        if not count:
            page = 0
        window = list(range(max(1, page - 3), min(pages, page + 3) + 1))
        self._json(
            {
                "count": count,
                "page": page,
                "pageSize": PAGE_SIZE,
                "prev": page - 1 if page > 1 else None,
                "next": page + 1 if page < pages else None,
                "pages": window,
                "data": listed[(page - 1) * PAGE_SIZE : page * PAGE_SIZE] if count else [],
            }
        )

    def _route_job(self, extra: dict[str, Any], id: str) -> None:
        username = self._username()
        self._maintenance()
        with self.sim.jobs.lock:
            job = self._job(id, username)
            extra["job_state"] = job.state
            self._json(self._job_json(job))

    _route_status = _route_job

    def _route_cancel(self, extra: dict[str, Any], id: str) -> None:
        username = self._username()
        self._maintenance()
        with self.sim.jobs.lock:
            job = self._job(id, username)
            self.sim.jobs.cancel(job)
            extra["job_state"] = job.state
            self._json(self._job_json(job))

    def _route_restart(self, extra: dict[str, Any], id: str) -> None:
        username = self._username()
        self._maintenance()
        with self.sim.jobs.lock:
            job = self._job(id, username)
            if job.state != J.DEAD:
                raise HttpError(400, f"Job {id} is not pending.")
            self.sim.jobs.restart_job(job)
        self._json(
            {
                "success": True,
                "message": "Your job was successfully added to the job queue.",
                "type": 0,
                "time": 0,
            }
        )

    def _route_submit(self, extra: dict[str, Any], app: str) -> None:
        username = self._username()
        assert username is not None
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise HttpError(411, "Content-Length required.")
        try:
            boundary = boundary_of(self.headers.get("Content-Type", ""))
        except MultipartError as exc:
            self._drain()
            raise HttpError(400, f"java.lang.IllegalArgumentException: {exc}") from None
        length = int(length_header)
        self.drop_upload_if_armed(length)  # before anything exists that a drop must clean up
        job_id, job_dir = self.sim.jobs.new_job_dir()
        try:
            keep = self.sim.jobs.config.keep_uploads
            form = read_multipart(self.rfile, length, boundary, job_dir / "input" if keep else None)
            extra["files"] = tuple(name for _, name, _ in form.files)
            extra["fields"] = {k: ("<redacted>" if k == "password" else v) for k, v in form.fields}
            # As on the real server, these checks run only once the whole body has arrived.
            self._maintenance()
            if app.split("@")[0] != self.sim.profile.app_id:
                raise HttpError(404, f"Application '{app}' not found.")
            limit = self.sim.jobs.config.max_active_jobs
            if self.sim.jobs.active_count(username) >= limit:
                raise HttpError(400, f"Only {limit} jobs per user can be executed simultaneously.")
            params = self._parse_params(form.fields, [name for name, _, _ in form.files])
        except BaseException:
            shutil.rmtree(job_dir, ignore_errors=True)
            raise
        self.sim.jobs.add(job_id, username, params, self.headers.get("User-Agent", ""))
        if self.sim.faults.take_submit_drop():
            self._abort()
            return
        self._json(
            {"success": True, "message": "Your job was successfully added to the job queue.", "id": job_id}
        )

    def _parse_params(self, fields: list[tuple[str, str]], file_parts: list[str]) -> dict[str, str]:
        """Cloudgene's JobParameterParser: strip ``input-``, refuse undeclared names, tick checkboxes."""
        declared = {p["id"]: p["type"] for p in self.sim.profile.app_json()["params"]}
        params: dict[str, str] = {}
        for raw_name in [*file_parts, *(name for name, _ in fields)]:
            name = raw_name.removeprefix("input-")
            if name not in declared and name != "job-name" and not name.endswith("-pattern"):
                raise HttpError(400, f"Parameter '{name}' not found.")
        for raw_name, value in fields:
            name = raw_name.removeprefix("input-")
            kind = declared.get(name, "text")
            params[name] = "true" if kind in ("checkbox", "terms_checkbox") else escape_html(value)
        return params

    def _job_json(self, job: J.SimJob, *, listing: bool = False) -> dict[str, Any]:
        jobs = self.sim.jobs
        finished = job.state not in J.ACTIVE
        position = -1
        if job.state in (J.RUNNING, J.EXPORTING):
            position = 0
        elif job.state == J.WAITING:
            waiting = sorted(
                (j for j in jobs.jobs.values() if j.state == J.WAITING), key=lambda j: j.submitted_on
            )
            position = waiting.index(job)
        files = [
            {
                "name": f.name,
                "path": f"s3://tis-sim-bucket/{job.id}/outputs/output/{f.name}",
                "hash": f.hash,
                "count": f.count,
                "size": J.display_size(f.size),
                "parameterId": 0,
                "user": None,
            }
            for f in job.files
        ]
        outputs = []
        if files:
            outputs = [
                {
                    "id": 1,
                    "description": "Downloads",
                    "value": f"s3://tis-sim-bucket/{job.id}/outputs/output",
                    "type": None,
                    "download": True,
                    "name": "output",
                    "tree": [],
                    "job": None,
                    "jobId": job.id,
                    "autoExport": False,
                    "hash": job.output_hash,
                    "files": files,
                }
            ]
        hide = listing and finished
        return {
            "application": self.sim.profile.application,
            "applicationId": job.app_id,
            "deletedOn": _ms(job.deleted_on),
            "endTime": _ms(job.end_time) if finished else 0,
            "id": job.id,
            "name": job.name,
            "logs": "",
            "state": job.state,
            "positionInQueue": position,
            "userAgent": job.user_agent,
            "startTime": _ms(job.start_time),
            "submittedOn": _ms(job.submitted_on),
            "username": None if hide else job.username,
            "currentTime": _ms(jobs.now()),
            "workspaceSize": None,
            "steps": [] if hide else job.steps,
            "outputParams": [] if hide else outputs,
        }

    def _route_share(self, extra: dict[str, Any], hash: str, name: str) -> None:
        with self.sim.jobs.lock:
            sim_file = self.sim.jobs.downloads.get(hash)
            if sim_file is None:
                raise HttpError(404, "download not found.")
            if sim_file.count == 0:
                raise HttpError(400, "number of max downloads exceeded.")
            if sim_file.count > 0:
                sim_file.count -= 1
            location = self.sim.presign(sim_file)
        if not self.sim.config.local_workspace:
            self._send(301, b"", Location=location)
            return
        if not sim_file.path.exists():
            raise HttpError(404, "File not found in workspace.")
        # Micronaut streams the InputStream: chunked, Range ignored, its default content type
        headers = {"Content_Type": "application/json"}
        self.send_file(sim_file.path, 0, sim_file.size - 1, 200, headers, chunked=True)


def make_servers(sim: TisSimulator, port: int, store_port: int) -> tuple[SimServer, SimServer]:
    return SimServer(port, ApiHandler, sim), SimServer(store_port, StoreHandler, sim)
