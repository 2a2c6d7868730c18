"""What the simulator's two HTTP servers share: the request handler base, errors and the server class."""

from __future__ import annotations

import contextlib
import hashlib
import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit

from airflow_provider_tis.testing.faults import RequestRecord

if TYPE_CHECKING:
    from airflow_provider_tis.testing.simulator import TisSimulator


class HttpError(Exception):
    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class SimHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer

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
        entry = getattr(self, "_entry", None)
        change = self.sim.faults.take_rewrite(entry[1]) if entry and status < 300 else None
        if change is not None:
            self._send(status, *change(data))
            return
        self._send(status, json.dumps(data).encode())

    def _drain(self) -> None:
        remaining = int(self.headers.get("Content-Length") or 0)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                break
            remaining -= len(chunk)

    def begin_record(self, server: str, route: str) -> dict[str, Any]:
        """Start the log entry of this request; route handlers add fields to the returned dict."""
        self._entry: tuple[str, str, dict[str, Any]] | None = (server, route, {})
        return self._entry[2]

    def send_response(self, code: int, message: str | None = None) -> None:
        self.record(code)  # logged before the answer leaves, so a client never sees an answer first
        super().send_response(code, message)

    def record(self, status: int) -> None:
        """Append the log entry once; status 0 means the connection was dropped without an answer."""
        entry, self._entry = getattr(self, "_entry", None), None
        if entry is None:
            return
        server, route, extra = entry
        token = self.headers.get("X-Auth-Token")
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        path = urlsplit(self.path).path
        self.sim.requests.append(
            RequestRecord(
                server, route, self.command, path, status, digest, range=self.headers.get("Range"), **extra
            )
        )

    def _abort(self) -> None:
        """Drop the connection without an answer (logged first, like an answer)."""
        self.record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[SimHandler], sim: TisSimulator) -> None:
        self.sim = sim
        super().__init__(("127.0.0.1", port), handler)


def presigned_path(job_id: str, name: str) -> str:
    return f"/tis-sim-bucket/{job_id}/outputs/output/{quote(name)}"
