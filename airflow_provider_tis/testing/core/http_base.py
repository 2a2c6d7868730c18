"""What every simulated server shares: the request handler base, errors and the server class.

Service-neutral: a service's handler subclasses :class:`SimHandler`, narrows :attr:`SimHandler.sim` to
its simulator and says where its API token travels (:meth:`SimHandler.presented_token`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlsplit

from airflow_provider_tis.testing.core.faults import RequestRecord

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_tis.testing.core.faults import Faults


class Simulated(Protocol):
    """What the shared handler needs of a simulator: its faults and its request log."""

    faults: Faults
    requests: list[RequestRecord]


#: An endless body ends after this many 64 KiB blocks (4 GiB) all the same, should the client never stop.
ENDLESS_BLOCKS = 1 << 16


def byte_range(header: str, size: int) -> tuple[int, int]:
    """The inclusive (start, end) a single-range ``Range`` header asks of a ``size``-byte body.

    :param header: e.g. ``bytes=100-``, ``bytes=0-99`` or ``bytes=-500`` (the last 500 bytes).
    :param size: the body's length.
    :raises ValueError: malformed or not satisfiable (answer 416).
    """
    match = re.fullmatch(r"bytes=(\d*)-(\d*)", header.strip())
    if not match or (not match.group(1) and not match.group(2)):
        raise ValueError(header)
    if match.group(1):
        start = int(match.group(1))
        end = min(int(match.group(2)), size - 1) if match.group(2) else size - 1
    else:
        start, end = max(0, size - int(match.group(2))), size - 1
    if start >= size or start > end:
        raise ValueError(header)
    return start, end


class HttpError(Exception):
    """Raised by a route to answer ``status``; each service renders ``message`` in its own error body.

    :param status: the HTTP status.
    :param message: the error text (None: an empty body).
    :param headers: extra answer headers (``Retry-After``).
    """

    def __init__(
        self, status: int, message: str | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers or {}


class SimHandler(BaseHTTPRequestHandler):
    """Request handler base: answers, file bodies with injected faults, and the request log."""

    protocol_version = "HTTP/1.1"
    server: SimServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def sim(self) -> Simulated:
        """The simulator this server belongs to (subclasses narrow the type)."""
        return self.server.sim

    def presented_token(self) -> str | None:
        """The API token the request carries, for the log's ``token_sha256`` (TIS: ``X-Auth-Token``)."""
        return self.headers.get("X-Auth-Token")

    def _send(
        self, status: int, body: bytes = b"", content_type: str = "application/json", **headers: str
    ) -> None:
        self._head(status, len(body), content_type, **headers)
        if self.command != "HEAD":
            self.wfile.write(body)

    def _head(self, status: int, length: int, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(length))
        self.send_header("Cache-Control", "private")
        self.send_header("X-Content-Type-Options", "nosniff")
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()

    def finish_trickle(self) -> None:
        """Send the body of a trickled answer (:meth:`Faults.trickle`) a byte at a time, each within any
        read timeout; called once the route has let go of the simulator's locks."""
        body, interval = getattr(self, "_trickled", (b"", 0.0))
        self._trickled = (b"", 0.0)
        for i in range(len(body)):  # ends with a ConnectionError once the client hangs up
            time.sleep(interval)
            self.wfile.write(body[i : i + 1])

    def _json(self, data: Any, status: int = 200) -> None:
        entry = getattr(self, "_entry", None)
        change = self.sim.faults.take_rewrite(entry[1]) if entry and status < 300 else None
        body, content_type = (
            (json.dumps(data).encode(), "application/json") if change is None else change(data)
        )
        interval = self.sim.faults.take_trickle(entry[1]) if entry else 0.0
        if interval and self.command != "HEAD":
            self._head(status, len(body), content_type)
            self._trickled = (body, interval)  # sent by finish_trickle
        else:
            self._send(status, body, content_type)

    def dispatch(
        self,
        route: str,
        serve: Callable[[], None],
        send_error: Callable[[HttpError], None],
        default_message: Callable[[int], str | None] = lambda status: None,
    ) -> None:
        """Answer one request on ``route``: the armed delay and fault first (a fault answers instead of the
        route, worded by ``default_message`` unless the fault has a message), then ``serve``, then a trickled
        body; an :class:`HttpError` goes to ``send_error`` (each service words its errors its own way)."""
        try:
            time.sleep(self.sim.faults.take_delay(route))
            fault = self.sim.faults.take_error(route)
            if fault is not None:
                self._drain()
                headers = {"Retry-After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
                if fault.body is not None:  # a raw answer, e.g. a proxy's page
                    raw = {**headers, **fault.headers}
                    self._send(fault.status, fault.body, raw.pop("Content-Type", "text/html"), **raw)
                    return
                raise HttpError(fault.status, fault.message or default_message(fault.status), headers)
            serve()
            self.finish_trickle()  # outside the route's locks
        except HttpError as err:
            send_error(err)
        except (ConnectionError, TimeoutError):
            pass
        self.record(0)  # only if no answer was sent

    def drop_upload_if_armed(self, length: int) -> None:
        """With an armed upload drop, read part of the body, then close the connection (no answer)."""
        drop = self.sim.faults.take_upload_drop()
        if drop is not None:
            self.rfile.read(min(drop, length))
            self._abort()
            raise ConnectionError("upload dropped by fault injection")

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

    def note(self, **fields: Any) -> None:
        """Add fields (e.g. ``auth_ok``) to the current log entry, if one is open."""
        entry = getattr(self, "_entry", None)
        if entry is not None:
            entry[2].update(fields)

    def send_response(self, code: int, message: str | None = None) -> None:
        self.record(code)  # logged before the answer leaves, so a client never sees an answer first
        super().send_response(code, message)

    def record(self, status: int) -> None:
        """Append the log entry once; status 0 means the connection was dropped without an answer."""
        entry, self._entry = getattr(self, "_entry", None), None
        if entry is None:
            return
        server, route, extra = entry
        token = self.presented_token()
        digest = hashlib.sha256(token.encode()).hexdigest() if token else None
        path = urlsplit(self.path).path
        self.sim.requests.append(
            RequestRecord(
                server, route, self.command, path, status, digest, range=self.headers.get("Range"), **extra
            )
        )

    def send_file(
        self, path: Path, start: int, end: int, status: int, headers: dict[str, str], *, chunked: bool = False
    ) -> int:
        """Send bytes ``start..end`` (inclusive) of a file as the answer, honouring the armed download drop
        and protocol lies (:meth:`Faults.lie_in_download`). ``chunked``: no Content-Length (a local
        workspace streams that way)."""
        headers = dict(headers)
        lie = self.sim.faults.take_lie()
        kind, nbytes = lie if lie else ("", 0)
        if kind == "no_content_range":
            status, start = 206, min(nbytes, end + 1)
            headers.pop("Content_Range", None)
        if kind in ("short_chunked", "endless"):
            chunked = True
        if kind in ("short_chunked", "short_length"):
            end = min(end, start + nbytes - 1)
        self.send_response(status)
        self.send_header("Content-Type", headers.pop("Content_Type", "application/octet-stream"))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        if chunked:
            self.send_header("Transfer-Encoding", "chunked")
        else:
            self.send_header("Content-Length", str(end - start + 1))
        self.end_headers()
        if self.command == "HEAD":
            return status
        drop = self.sim.faults.take_download_drop()
        to_send = end - start + 1 if drop is None else min(drop, end - start + 1)
        with contextlib.suppress(ConnectionError), path.open("rb") as handle:
            if chunked:
                handle.seek(start)
                while to_send > 0 and (block := handle.read(min(to_send, 1 << 20))):
                    self._write_body(block, chunked)
                    to_send -= len(block)
            else:  # sendfile: the simulator must outrun the clients it benchmarks
                self.wfile.flush()
                while to_send > 0 and (
                    n := os.sendfile(self.connection.fileno(), handle.fileno(), start, min(to_send, 8 << 20))
                ):
                    start, to_send = start + n, to_send - n
            if kind == "endless" and drop is None:
                for _ in range(ENDLESS_BLOCKS):  # bounded, so a test that fails cannot hang
                    self._write_body(bytes(1 << 16), chunked=True)
        if drop is not None:
            self._abort()
        elif chunked:
            with contextlib.suppress(ConnectionError):
                self.wfile.write(b"0\r\n\r\n")
        return status

    def _write_body(self, block: bytes, chunked: bool) -> None:
        if chunked:
            self.wfile.write(f"{len(block):x}\r\n".encode() + block + b"\r\n")
        else:
            self.wfile.write(block)

    def _abort(self) -> None:
        """Drop the connection without an answer (logged first, like an answer)."""
        self.record(0)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.shutdown(socket.SHUT_RDWR)


class SimServer(ThreadingHTTPServer):
    """A threading HTTP server on 127.0.0.1 (port 0: a free one) that knows its simulator."""

    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, port: int, handler: type[SimHandler], sim: Simulated) -> None:
        self.sim = sim
        super().__init__(("127.0.0.1", port), handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return  # a client that hung up on an answer it did not want (a cap, a deadline): no traceback
        super().handle_error(request, client_address)
