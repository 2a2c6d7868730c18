"""Uploads: files streamed from where they are into a multipart body, in constant memory, or sent in parts
(a multipart upload to a storage) with a bounded number of parts in memory."""

from __future__ import annotations

import math
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_tis.core.errors import ConfigError, ProviderError
from airflow_provider_tis.core.retry import RETRYABLE_STATUS

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Mapping

    import requests
    from requests_toolbelt import MultipartEncoder

    from airflow_provider_tis.core.retry import RetryPolicy

_R = TypeVar("_R")


class UploadSource(Protocol):
    """Anything with a ``name``, ``stat()`` and ``open("rb")``: pathlib.Path, ObjectStoragePath."""

    @property
    def name(self) -> str: ...

    def stat(self) -> Any: ...

    def open(self, mode: str = ...) -> IO[bytes]: ...


class SizedReader:
    """A file opened for upload, with its size known up front as the multipart encoder needs.

    Object-storage files (s3, gs, memory) cannot tell their length the way local files do.

    The request announces ``size`` bytes (Content-Length) before the first is read, so the file must give
    exactly that many. One that shrank would leave the server waiting for the missing bytes until the submit
    timeout (an hour); one that grew would be cut at ``size``, likely mid-write. Either way the upload is
    stopped at once with ``error`` (the service's config error), which propagates out of requests unwrapped (requests and
    urllib3 only wrap their own and socket errors) and which the operator does not retry.

    :param name: the file as the user knows it, for the error message.
    :param error: the exception raised when the file changes (the service's config error).
    """

    def __init__(
        self, handle: IO[bytes], size: int, name: str | None = None, error: type[ConfigError] = ConfigError
    ) -> None:
        self.handle = handle
        self.error = error
        self.size = size
        self.name = name or str(getattr(handle, "name", "an input file"))
        self._position = 0

    @property
    def len(self) -> int:
        """Bytes not read yet (what requests-toolbelt asks ``len`` for)."""
        return max(self.size - self._position, 0)

    def read(self, size: int = -1) -> bytes:
        remaining = self.size - self._position
        if remaining <= 0:
            if size != 0 and self.handle.read(1):  # one byte more than announced: the file grew
                raise self._changed(f"it grew beyond {self.size} bytes")
            return b""
        data = self.handle.read(remaining if size < 0 else min(size, remaining))
        if not data and size != 0:  # a short read is fine; only the end of the file is not
            raise self._changed(f"it ended after {self._position} bytes")
        self._position += len(data)
        return data

    def _changed(self, what: str) -> ConfigError:
        return self.error(
            f"Input file {self.name} changed during the upload: it was {self.size} bytes when the upload "
            f"started, and {what}. The upload was stopped and no job was created. Make sure nothing writes "
            "to the file while the task runs, then run the task again."
        )

    def tell(self) -> int:
        return self._position


class MultipartBody:
    """A streamed multipart body that requests sends with a Content-Length, in 4 MiB blocks.

    requests-toolbelt lays the parts out (boundary, part headers, total length); the file bodies are then
    read straight into the socket in large blocks. Given the encoder itself, urllib3 would pull 16 KiB at a
    time through the encoder's buffer, at about half the speed of curl. Memory stays at about one block.

    :param encoder: the requests-toolbelt encoder of the form fields and files.
    :param progress: called with (bytes sent, total bytes) after each block.
    """

    BLOCK = 4 << 20

    def __init__(self, encoder: MultipartEncoder, progress: Callable[[int, int], None] | None = None) -> None:
        self.encoder = encoder
        self.progress = progress
        self.content_type = encoder.content_type

    @classmethod
    def of(
        cls, fields: list[tuple[str, Any]], progress: Callable[[int, int], None] | None = None
    ) -> MultipartBody:
        """The body of form ``fields``: ``(name, value)`` or ``(name, (filename, reader, content type))``."""
        from requests_toolbelt import MultipartEncoder  # where it is used: DAG files never need it

        return cls(MultipartEncoder(fields=fields), progress)

    def __len__(self) -> int:
        return self.encoder.len

    def __iter__(self) -> Iterator[bytes]:
        boundary = self.encoder.boundary.encode()  # "--" + the boundary value
        sent, total = 0, self.encoder.len

        def count(chunk: bytes) -> bytes:
            nonlocal sent
            sent += len(chunk)
            if self.progress is not None:
                self.progress(sent, total)
            return chunk

        for part in self.encoder.parts:
            yield count(boundary + b"\r\n" + part.headers)
            while chunk := part.body.read(self.BLOCK):
                yield count(chunk)
            yield count(b"\r\n")
        yield count(boundary + b"--\r\n")


def part_count(size: int, part_size: int) -> int:
    """How many parts of ``part_size`` bytes hold ``size`` bytes (an empty file is one empty part)."""
    return max(1, math.ceil(size / part_size))


def send_in_parts(
    reader: SizedReader,
    part_size: int,
    send: Callable[[int, bytes], _R],
    *,
    parallel: int,
    progress: Callable[[int, int], None] | None = None,
) -> list[_R]:
    """Read ``reader`` in parts of ``part_size`` bytes, numbered from 1, and ``send(number, data)`` each
    from a pool of ``parallel`` threads; the results in part order.

    Memory stays at ``parallel`` parts (one more while a sent part is let go): a part is read only once a
    sender is free for it. The
    first failure stops the reading; the parts in flight finish, then that error is raised (the caller
    aborts the upload). A file that changes meanwhile raises the reader's error (see :class:`SizedReader`).

    :param progress: called with (bytes sent, total bytes) after each part.
    """
    total = part_count(reader.size, part_size)
    free = threading.Semaphore(max(1, parallel))
    futures: list[Future[_R]] = []
    sent, lock, failed = 0, threading.Lock(), threading.Event()

    def run(number: int, data: bytes) -> _R:
        nonlocal sent
        try:
            result = send(number, data)
        except BaseException:
            failed.set()
            raise
        finally:
            free.release()
        with lock:
            sent += len(data)
            done = sent
        if progress is not None:
            progress(done, reader.size)
        return result

    with ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="upload-part") as pool:
        try:
            for number in range(1, total + 1):
                free.acquire()
                if failed.is_set():
                    free.release()
                    break
                try:
                    data = _read_part(reader, part_size)
                    if number == total:
                        reader.read(1)  # past the announced size: raises if the file grew
                except BaseException:
                    free.release()
                    raise
                futures.append(pool.submit(run, number, data))
        finally:
            wait(futures)  # the parts in flight finish before the caller aborts the upload
    for future in futures:
        future.result()  # the first failure, in part order
    return [future.result() for future in futures]


def _read_part(reader: SizedReader, size: int) -> bytes:
    """``size`` bytes, or what is left of the file (a storage stream may return less per read)."""
    chunks: list[bytes] = []
    while size > 0 and (chunk := reader.read(size)):
        chunks.append(chunk)
        size -= len(chunk)
    return chunks[0] if len(chunks) == 1 else b"".join(chunks)


@dataclass(frozen=True)
class PartLink:
    """Where one part of a multipart upload goes: a presigned storage URL (a secret while it lasts), the
    method, and the headers the storage wants (never credentials of the API)."""

    url: str = field(repr=False)
    method: str = "PUT"
    headers: Mapping[str, str] = field(default_factory=dict)


def put_part(
    session: requests.Session,
    data: bytes,
    link: Callable[[], PartLink],
    *,
    policy: RetryPolicy,
    timeout: tuple[float, float],
    verify: bool | str,
    error: type[ProviderError],
    what: str,
) -> str:
    """Send one part to its presigned link; the ETag the storage answers.

    Temporary failures (a refused or broken connection, 429, 5xx, an answer without an ETag) are retried
    with ``policy``'s backoff up to its ``max_attempts``; a 403 (the link expired) asks ``link()`` for a new
    one, once. Anything else raises ``error`` naming ``what``, never the URL (its query is a signature).
    """
    import requests  # where it is used: DAG files never need it

    target, renewed, attempt = link(), False, 0
    while True:
        attempt += 1
        status, etag, problem = 0, None, ""
        try:
            with session.request(
                target.method,
                target.url,
                data=data,
                headers=dict(target.headers),
                timeout=timeout,
                allow_redirects=False,
                stream=True,  # the body is not read: an error page is dropped with the connection
                verify=verify,
            ) as answer:
                status, etag = answer.status_code, answer.headers.get("ETag")
        except requests.RequestException as exc:  # its text holds the presigned URL: not shown
            problem = type(exc).__name__
        if 200 <= status < 300 and etag:
            return etag
        problem = problem or (f"HTTP {status}" if status >= 300 else "an answer without an ETag")
        if status == 403 and not renewed:
            target, renewed = link(), True
            continue
        if (status >= 300 and status not in RETRYABLE_STATUS) or attempt >= policy.max_attempts:
            raise error(f"The storage did not take {what} ({problem}, attempt {attempt}).")
        policy.sleep(policy.delay(attempt))
