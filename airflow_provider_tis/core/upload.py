"""Uploads: files streamed from where they are into a multipart body, in constant memory."""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, Protocol

from airflow_provider_tis.core.errors import ConfigError

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator

    from requests_toolbelt import MultipartEncoder


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
