"""The object store behind the platform: presigned GETs of files (the shared store, with Range and
expiry), plus presigned PUTs of multipart upload parts, answered with an S3-style ``ETag``.

A PUT URL is signed over ``PUT <path>|<expires>``, so it cannot be used to read, nor a GET URL to write.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_tis.testing.core.store import StoreHandler

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator

#: The fault route of part uploads (the store's GETs are ``"store"``).
PUT_ROUTE = "part_upload"


def sign(secret: bytes, message: str) -> str:
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


class SbgStoreHandler(StoreHandler):
    """GET/HEAD as the shared store; PUT for upload parts (``/sbg-sim-uploads/<upload id>/<part>``)."""

    @property
    def sbg(self) -> SevenBridgesSimulator:
        return cast("SevenBridgesSimulator", self.server.sim)

    def do_PUT(self) -> None:
        self.begin_record("store", PUT_ROUTE)
        with self.sim.store_gauge, contextlib.suppress(ConnectionError, TimeoutError):
            self._put()
        self.record(0)  # only if no answer was sent

    def _put(self) -> int:
        time.sleep(self.sim.faults.take_delay(PUT_ROUTE))
        fault = self.sim.faults.take_error(PUT_ROUTE)
        if fault is not None:
            self._drain()
            code = "SlowDown" if fault.status in (429, 503) else "InternalError"
            return self._error(fault.status, code, fault.message or "We encountered an internal error.")
        parts = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        expires = query.get("X-Amz-Expires-At", "0")
        signature = sign(self.sim.secret, f"PUT {parts.path}|{expires}")
        if not hmac.compare_digest(signature, query.get("X-Amz-Signature", "")):
            self._drain()
            return self._error(
                403, "SignatureDoesNotMatch", "The request signature we calculated does not match."
            )
        if self.sim.now() > float(expires):
            self._drain()
            return self._error(403, "AccessDenied", "Request has expired")
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            return self._error(
                411, "MissingContentLength", "You must provide the Content-Length HTTP header."
            )
        length = int(length_header)
        self.drop_upload_if_armed(length)  # reads part of the body, then hangs up
        segments = parts.path.strip("/").split("/")
        upload_id, part = (segments[1], segments[2]) if len(segments) == 3 else ("", "")
        with tempfile.NamedTemporaryFile(dir=self.sbg.uploads.folder, delete=False) as out:
            remaining = length
            while remaining > 0 and (block := self.rfile.read(min(remaining, 1 << 20))):
                out.write(block)
                remaining -= len(block)
        received = Path(out.name)
        if remaining > 0:
            received.unlink(missing_ok=True)
            raise ConnectionError("the part upload ended early")
        etag = self.sbg.uploads.store_part(upload_id, int(part), received) if part.isdigit() else None
        if etag is None:
            received.unlink(missing_ok=True)
            return self._error(404, "NoSuchUpload", "The specified upload does not exist.")
        self._send(200, b"", "application/octet-stream", ETag=f'"{etag}"')
        return 200
