"""The two streams the hook hands out: files to upload, and an open download."""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any, Protocol

import requests
import urllib3

from airflow_provider_tis.hooks.errors import TisConfigError, TisConnectionError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from requests_toolbelt import MultipartEncoder

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")


class UploadSource(Protocol):
    """Anything with a ``name``, ``stat()`` and ``open("rb")``: pathlib.Path, ObjectStoragePath."""

    @property
    def name(self) -> str: ...

    def stat(self) -> Any: ...

    def open(self, mode: str = ...) -> IO[bytes]: ...


class TisDownload:
    """An open, streaming download of one output file. Use as a context manager.

    :param response: the final response after following the server's redirect.
    """

    def __init__(self, response: requests.Response) -> None:
        self._response = response

    @property
    def size(self) -> int | None:
        """Content-Length in bytes, when the server sent one."""
        value = self._response.headers.get("Content-Length")
        return int(value) if value and value.isdigit() else None

    @property
    def offset(self) -> int | None:
        """The byte of the file the body starts at: the start of a honoured Range request, else 0.

        None for a 206 without a readable Content-Range: where its bytes belong is unknown.
        """
        if self._response.status_code != 206:
            return 0
        match = _CONTENT_RANGE.match(self._response.headers.get("Content-Range", ""))
        return int(match.group(1)) if match else None

    @property
    def total_size(self) -> int | None:
        """Size of the whole file: from Content-Range on a ranged answer, else Content-Length."""
        match = _CONTENT_RANGE.match(self._response.headers.get("Content-Range", ""))
        if self._response.status_code == 206:
            return int(match.group(2)) if match and match.group(2) != "*" else None
        return self.size

    @property
    def url(self) -> str:
        """The URL the bytes come from (a presigned link is a secret for an hour: never log it)."""
        return self._response.url

    @property
    def storage_link(self) -> str | None:
        """The presigned storage URL the server redirected to, which a resume may use without spending a
        download (a secret for an hour: never log it); None when the server sent the bytes itself
        (Cloudgene's local workspace), where every request is another counted download."""
        return self._response.url if self._response.history else None

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        received = 0
        raw = self._response.raw
        try:
            # read1 hands over whatever arrived, so a broken connection loses no received byte
            while chunk := raw.read1(chunk_size):
                received += len(chunk)
                yield chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # from None: the library's error can carry the presigned link, signature included
            raise TisConnectionError(
                f"The download broke after {received} bytes ({type(exc).__name__})."
            ) from None

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> TisDownload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SizedReader:
    """A file opened for upload, with its size known up front as the multipart encoder needs.

    Object-storage files (s3, gs, memory) cannot tell their length the way local files do.

    The request announces ``size`` bytes (Content-Length) before the first is read, so the file must give
    exactly that many. One that shrank would leave the server waiting for the missing bytes until the submit
    timeout (an hour); one that grew would be cut at ``size``, likely mid-write. Either way the upload is
    stopped at once with :class:`TisConfigError`, which propagates out of requests unwrapped (requests and
    urllib3 only wrap their own and socket errors) and which the operator does not retry.

    :param name: the file as the user knows it, for the error message.
    """

    def __init__(self, handle: IO[bytes], size: int, name: str | None = None) -> None:
        self.handle = handle
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

    def _changed(self, what: str) -> TisConfigError:
        return TisConfigError(
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
