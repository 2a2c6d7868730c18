"""Reading the body of an API answer within a size cap and a deadline, in the sync and async client alike.

Without them a broken or hostile server (or a proxy in front of it) can exhaust the memory of a worker or
of the triggerer with a small compressed body (0.2 MB of gzip unpacks to hundreds of MB), or hold a call
forever by sending a byte now and then, each within the read timeout.
"""

from __future__ import annotations

import time
import zlib
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.errors import ErrorKinds, scrub

#: Largest successful answer read, decompressed: a job with hundreds of steps and files is far below.
MAX_ANSWER_BYTES = 8 << 20
#: Largest error body read, decompressed: the message is one line, a proxy's error page a few KiB. The
#: rest is dropped rather than refused, so the status (a 503 that a wait outlasts) is what counts.
MAX_ERROR_BYTES = 64 << 10
#: What API calls accept: the encodings :class:`_Body` unpacks itself, a bounded amount at a time.
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK_BYTES = 64 << 10
_SNIPPET_CHARS = 200
_ZLIB_ENCODINGS = ("gzip", "x-gzip", "deflate")
_GZIP_OR_ZLIB = zlib.MAX_WBITS | 32  # wbits that accept both headers (some servers' "deflate" is gzip)

if TYPE_CHECKING:
    from collections.abc import Mapping

    import httpx
    import requests


def parse_json(
    response: requests.Response | httpx.Response, action: str, secret: str | None, errors: ErrorKinds
) -> Any:
    """The answer's JSON; anything else (not JSON, nested too deeply to parse) is the service's response
    error showing the start of the body, with ``secret`` (the token) and URLs' query strings removed."""
    try:
        return response.json()
    except (ValueError, RecursionError) as exc:
        what = (
            "JSON nested too deeply to read"
            if isinstance(exc, RecursionError)
            else "something that is not JSON"
        )
        snippet = scrub(response.content.decode("utf-8", "replace"), secret)[:_SNIPPET_CHARS].strip()
        raise errors.response(
            f"{errors.service} answered {action} with {what} (HTTP {response.status_code}, "
            f"{response.headers.get('Content-Type', 'no content type')}): {snippet!r}. "
            f"Check that the connection's host is {errors.server}."
        ) from None


class _Body:
    """An answer's body as it arrives, unpacked here rather than by the HTTP library, never more than
    the cap plus one byte: a library unpacks each network read whole, a thousand times its size."""

    def __init__(self, status: int, headers: Mapping[str, str], action: str, errors: ErrorKinds) -> None:
        self.errors = errors
        self.success = status < 300
        self.limit = MAX_ANSWER_BYTES if self.success else MAX_ERROR_BYTES
        self.action = action
        encoding = headers.get("Content-Encoding", "").strip().lower()
        self.unknown = encoding not in ("", "identity", *_ZLIB_ENCODINGS)  # not what we accept
        self._inflate = zlib.decompressobj(_GZIP_OR_ZLIB) if encoding in _ZLIB_ENCODINGS else None
        self._chunks: list[bytes] = []
        self._size = 0

    def feed(self, data: bytes) -> bool:
        """Take raw bytes; False once over the cap (stop reading)."""
        try:
            while data and self._size <= self.limit:
                if self._inflate is None:
                    out, data = data, b""
                else:  # at most the room left, plus one byte to tell "over the cap"
                    out = self._inflate.decompress(data, self.limit + 1 - self._size)
                    data = self._inflate.unconsumed_tail
                self._chunks.append(out)
                self._size += len(out)
        except zlib.error:
            if self.success:
                raise self.errors.response(
                    f"{self.errors.service} answered {self.action} with broken gzip or deflate data. "
                    f"Check that the connection's host is {self.errors.server}."
                ) from None
            return False  # an error body: what unpacked so far will do, its status says the rest
        return self._size <= self.limit

    def content(self) -> bytes:
        """The body: an error body is cut at its cap; a successful answer over it is refused."""
        if self.unknown and self.success:
            raise self.errors.response(
                f"{self.errors.service} answered {self.action} in an encoding it was not asked for. "
                f"Check that the connection's host is {self.errors.server}."
            )
        if self.unknown:
            return b""  # an error: its status says enough
        body = b"".join(self._chunks)
        if len(body) > self.limit and self.success:
            raise self.errors.response(
                f"{self.errors.service} answered {self.action} with more than {self.limit >> 20} MiB: the "
                "answer was too large for any answer of its API, so it was not read. Check that the "
                f"connection's host is {self.errors.server}; if it is, report this to its administrators."
            )
        return body[: self.limit]


def read_answer(response: requests.Response, action: str, seconds: float, errors: ErrorKinds) -> None:
    """Read a streamed answer's body into ``response.content``.

    The whole body must arrive within ``seconds`` of the headers: past that, or when the connection
    breaks, a ``requests`` error is raised that the retry loop treats like any read timeout or broken
    connection. A successful answer over :data:`MAX_ANSWER_BYTES` raises the service's response error.
    """
    import requests  # where it is used: DAG files never need it
    import urllib3

    deadline = time.monotonic() + seconds
    body = _Body(response.status_code, response.headers, action, errors)
    complete = False
    try:
        # read1 returns what has arrived, so the deadline is checked between the bytes of a trickle
        while not body.unknown and (data := response.raw.read1(_CHUNK_BYTES, decode_content=False)):
            if not body.feed(data):
                break
            if time.monotonic() > deadline:
                raise requests.ReadTimeout(
                    f"the answer to '{action}' was not complete {seconds:g} s after it started"
                )
        else:
            complete = not body.unknown
    except requests.RequestException:  # ours, above (an OSError too)
        raise
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ReadTimeout(f"read timeout ({type(exc).__name__})") from None
    except (urllib3.exceptions.HTTPError, OSError) as exc:
        raise requests.ConnectionError(f"the answer broke off ({type(exc).__name__})") from None
    finally:
        if not complete:
            response.close()  # drop the connection: the rest of the body is never read
    response._content = body.content()


async def aread_answer(response: httpx.Response, action: str, errors: ErrorKinds) -> None:
    """The async twin of :func:`read_answer` (its caller bounds the time with ``asyncio.wait_for``)."""
    body = _Body(response.status_code, response.headers, action, errors)
    try:
        if not body.unknown:
            async for data in response.aiter_raw():
                if not body.feed(data):
                    break
    finally:
        await response.aclose()
    response._content = body.content()
