"""The simulator's two HTTP servers: the Cloudgene 3 API and the object store downloads redirect to."""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import re
import shutil
import socket
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

from airflow_provider_tis.testing import jobs as J
from airflow_provider_tis.testing.faults import RequestRecord
from airflow_provider_tis.testing.multipart import MultipartError, boundary_of, read_multipart
from airflow_provider_tis.testing.tokens import decode_jwt

if TYPE_CHECKING:
    from airflow_provider_tis.testing.simulator import TisSimulator

PAGE_SIZE = 15
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


class HttpError(Exception):
    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


def escape_html(text: str) -> str:
    """Commons-Lang ``escapeHtml``: ``& < > "`` and every non-ASCII character become entities."""
    out = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    return "".join(c if ord(c) < 128 else f"&#{ord(c)};" for c in out)


def _ms(seconds: float) -> int:
    return int(seconds * 1000) if seconds > 0 else int(seconds)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _SimServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def sim(self) -> TisSimulator:
        return self.server.sim

    def _send(
        self, status: int, body: bytes = b"", content_type: str = "application/json", **headers: str
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "private")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, data: Any, status: int = 200) -> None:
        self._send(status, json.dumps(data).encode())

    def _drain(self) -> None:
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def _record(self, server: str, route: str, status: int, **extra: Any) -> None:
        token = self.headers.get("X-Auth-Token")
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        path = urlsplit(self.path).path
        self.sim.requests.append(
            RequestRecord(
                server, route, self.command, path, status, digest, range=self.headers.get("Range"), **extra
            )
        )

    def _abort(self) -> None:
        """Drop the connection without an answer."""
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class _ApiHandler(_Handler):
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
            self._drain()
            status = 403 if method == "DELETE" and path.startswith("/api/v2/jobs/") else 404
            self._json({"message": "Page Not Found", "success": False} if status == 404 else "", status)
            self._record("api", "unknown", status)
            return
        extra: dict[str, Any] = {}
        try:
            time.sleep(self.sim.faults.take_delay(route))
            fault = self.sim.faults.take_error(route)
            if fault is not None:
                self._drain()
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                body = fault.message or (
                    "This functionality is currently under maintenance."
                    if fault.status == 503
                    else "Server error"
                )
                raise HttpError(fault.status, body, headers)
            getattr(self, f"_route_{route}")(extra=extra, **match.groupdict())
            status = extra.pop("status", 200)
        except HttpError as err:
            status = err.status
            body_bytes = (
                json.dumps({"message": err.message, "success": False}).encode() if err.message else b""
            )
            self._send(err.status, body_bytes, **err.headers)
        except (ConnectionError, TimeoutError):
            status = 0
        self._record("api", route, status, **extra)

    # -- auth ---------------------------------------------------------------------------------

    def _username(self, *, required: bool = True) -> str | None:
        token = self.headers.get("X-Auth-Token")
        claims = decode_jwt(token, self.sim.secret, now=self.sim.jobs.now()) if token else None
        if claims is None:
            if required:
                self._drain()
                raise HttpError(401)
            return None
        username = claims.get("username")
        if self.sim.users.get(username) != claims.get("api_hash"):
            if required:
                self._drain()
                raise HttpError(403)  # revoked, or superseded by a newer token
            return None
        return username

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
        username = self._username(required=False)
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
                "username": username,
                "fullName": username.title(),
                "mail": f"{username}@example.org",
                "admin": False,
            }
        self._json(data)

    def _route_app(self, extra: dict[str, Any], app: str) -> None:
        username = self._username(required=False)
        self._maintenance()
        if username is None or app.split("@")[0] != self.sim.profile.app_id:
            raise HttpError(404, f"Application {app} not found or the request requires user authentication.")
        self._json(self.sim.profile.app_json())

    def _route_verify(self, extra: dict[str, Any]) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode()) if length else {}
        token = (form.get("token") or [""])[0]
        claims = decode_jwt(token, self.sim.secret, now=self.sim.jobs.now()) if token else None
        if claims is None or self.sim.users.get(claims.get("username")) != claims.get("api_hash"):
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
        job_id, job_dir = self.sim.jobs.new_job_dir()
        try:
            drop = self.sim.faults.take_upload_drop()
            length = int(length_header)
            if drop is not None:
                self.rfile.read(min(drop, length))
                self._abort()
                raise ConnectionError("upload dropped by fault injection")
            form = read_multipart(self.rfile, length, boundary, job_dir / "input")
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
            extra["status"] = 0
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
        self._send(301, b"", Location=location)
        extra["status"] = 301


class _StoreHandler(_Handler):
    """An S3-like object store serving presigned URLs with Range support."""

    def do_GET(self) -> None:
        status = 0
        with contextlib.suppress(ConnectionError, TimeoutError):
            status = self._serve()
        self._record("store", "store", status)

    do_HEAD = do_GET

    def _error(self, status: int, code: str, message: str) -> int:
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
        self._send(status, body.encode(), "application/xml")
        return status

    def _serve(self) -> int:
        time.sleep(self.sim.faults.take_delay("store"))
        fault = self.sim.faults.take_error("store")
        if fault is not None:
            return self._error(
                fault.status, "InternalError", fault.message or "We encountered an internal error."
            )
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        expires = query.get("X-Amz-Expires-At", "0")
        signature = hmac.new(self.sim.secret, f"{parts.path}|{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, query.get("X-Amz-Signature", "")):
            return self._error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.sim.jobs.now() > float(expires):
            return self._error(403, "AccessDenied", "Request has expired")
        sim_file = self.sim.stored_file(unquote(parts.path))
        if sim_file is None or not sim_file.path.exists():
            return self._error(404, "NoSuchKey", "The specified key does not exist.")
        size = sim_file.size
        start, end = 0, size - 1
        status = 200
        if header := self.headers.get("Range"):
            match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
            if not match or (not match.group(1) and not match.group(2)):
                return self._error(416, "InvalidRange", "The requested range is not satisfiable")
            if match.group(1):
                start = int(match.group(1))
                end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
            else:
                start = max(0, size - int(match.group(2)))
            if start >= size or start > end:
                return self._error(416, "InvalidRange", "The requested range is not satisfiable")
            status = 206
        length = end - start + 1
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(length))
        self.send_header("ETag", f'"{sim_file.etag}"')
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.end_headers()
        if self.command == "HEAD":
            return status
        drop = self.sim.faults.take_download_drop()
        to_send = length if drop is None else min(drop, length)
        with sim_file.path.open("rb") as handle:
            self.wfile.flush()
            sent = 0
            while sent < to_send:
                n = os.sendfile(
                    self.connection.fileno(), handle.fileno(), start + sent, min(to_send - sent, 8 << 20)
                )
                if n == 0:
                    break
                sent += n
        if drop is not None:
            self._abort()
        return status


class _SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[_Handler], sim: TisSimulator) -> None:
        self.sim = sim
        super().__init__(("127.0.0.1", port), handler)


def make_servers(sim: TisSimulator, port: int, store_port: int) -> tuple[_SimServer, _SimServer]:
    return _SimServer(port, _ApiHandler, sim), _SimServer(store_port, _StoreHandler, sim)


def presigned_path(job_id: str, name: str) -> str:
    return f"/tis-sim-bucket/{job_id}/outputs/output/{quote(name)}"
