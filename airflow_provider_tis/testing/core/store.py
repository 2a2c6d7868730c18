"""An object store for simulators: presigned, expiring URLs with Range support, like S3.

Service-neutral: the simulator signs URLs (HMAC-SHA256 of ``path|expires`` with its ``secret``) and maps
a path back to a stored file (:class:`StoreHost`); this serves them.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import threading
import time
from typing import TYPE_CHECKING, Protocol, cast
from urllib.parse import parse_qs, unquote, urlsplit

from airflow_provider_tis.testing.core.http_base import SimHandler, Simulated, byte_range

if TYPE_CHECKING:
    from pathlib import Path


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


class StoredObject(Protocol):
    """A file the store can serve."""

    path: Path
    size: int
    etag: str


class StoreHost(Simulated, Protocol):
    """What the store needs of its simulator."""

    secret: bytes
    store_gauge: ConcurrencyGauge

    def now(self) -> float:
        """The simulator's clock (URL expiry follows it, so tests can shift it)."""
        ...

    def stored_file(self, path: str) -> StoredObject | None:
        """The file at a (percent-decoded) URL path, or None."""
        ...


class StoreHandler(SimHandler):
    """An S3-like object store serving presigned URLs with Range support."""

    @property
    def sim(self) -> StoreHost:
        return cast("StoreHost", self.server.sim)

    def do_GET(self) -> None:
        self.begin_record("store", "store")
        with self.sim.store_gauge, contextlib.suppress(ConnectionError, TimeoutError):
            self._serve()
        self.record(0)  # only if no answer was sent

    do_HEAD = do_GET

    def _error(self, status: int, code: str, message: str, **headers: str) -> int:
        body = f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message></Error>'
        self._send(status, body.encode(), "application/xml", **headers)
        return status

    def _serve(self) -> int:
        time.sleep(self.sim.faults.take_delay("store"))
        fault = self.sim.faults.take_error("store")
        if fault is not None:
            headers = {"Retry_After": f"{fault.retry_after:g}"} if fault.retry_after is not None else {}
            code = "SlowDown" if fault.status in (429, 503) else "InternalError"
            return self._error(
                fault.status, code, fault.message or "We encountered an internal error.", **headers
            )
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        expires = query.get("X-Amz-Expires-At", "0")
        signature = hmac.new(self.sim.secret, f"{parts.path}|{expires}".encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(signature, query.get("X-Amz-Signature", "")):
            return self._error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.sim.now() > float(expires):
            return self._error(403, "AccessDenied", "Request has expired")
        sim_file = self.sim.stored_file(unquote(parts.path))
        if sim_file is None or not sim_file.path.exists():
            return self._error(404, "NoSuchKey", "The specified key does not exist.")
        size = sim_file.size
        start, end = 0, size - 1
        status = 200
        if header := self.headers.get("Range"):
            try:
                start, end = byte_range(header, size)
            except ValueError:
                return self._error(416, "InvalidRange", "The requested range is not satisfiable")
            status = 206
        headers = {"ETag": f'"{sim_file.etag}"', "Accept_Ranges": "bytes"}
        if status == 206:
            headers["Content_Range"] = f"bytes {start}-{end}/{size}"
        return self.send_file(sim_file.path, start, end, status, headers)
