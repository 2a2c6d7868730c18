"""The two streams the hook hands out: files to upload, and an open download."""

from __future__ import annotations

import re
from typing import IO, TYPE_CHECKING, Any, Protocol

import requests
import urllib3

from airflow_provider_tis.hooks.errors import TisConnectionError

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
    def offset(self) -> int:
        """The byte of the file the body starts at: the start of a honoured Range request, else 0."""
        match = _CONTENT_RANGE.match(self._response.headers.get("Content-Range", ""))
        return int(match.group(1)) if self._response.status_code == 206 and match else 0

    @property
    def total_size(self) -> int | None:
        """Size of the whole file: from Content-Range on a ranged answer, else Content-Length."""
        match = _CONTENT_RANGE.match(self._response.headers.get("Content-Range", ""))
        if self._response.status_code == 206:
            return int(match.group(2)) if match and match.group(2) != "*" else None
        return self.size

    @property
    def url(self) -> str:
        """The presigned URL the bytes come from (a secret for an hour: never log it)."""
        return self._response.url

    def iter_chunks(self, chunk_size: int = 1 << 20) -> Iterator[bytes]:
        received = 0
        raw = self._response.raw
        try:
            # read1 hands over whatever arrived, so a broken connection loses no received byte
            while chunk := raw.read1(chunk_size):
                received += len(chunk)
                yield chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            raise TisConnectionError(
                f"The download broke after {received} bytes ({type(exc).__name__})."
            ) from exc

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> TisDownload:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class SizedReader:
    """A file opened for upload, with its size known up front as the multipart encoder needs.

    Object-storage files (s3, gs, memory) cannot tell their length the way local files do.
    """

    def __init__(self, handle: IO[bytes], size: int) -> None:
        self.handle = handle
        self.size = size
        self._position = 0

    @property
    def len(self) -> int:
        """Bytes not read yet (what requests-toolbelt asks ``len`` for)."""
        return max(self.size - self._position, 0)

    def read(self, size: int = -1) -> bytes:
        data = self.handle.read(size)
        self._position += len(data)
        return data

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
