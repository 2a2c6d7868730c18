"""A streaming multipart/form-data reader: file parts go straight to disk, memory stays bounded."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

if TYPE_CHECKING:
    from io import BufferedIOBase

_CHUNK = 1 << 20
_DISPOSITION = re.compile(r'(\w+)="([^"]*)"')


class MultipartError(ValueError):
    """The body is not valid multipart/form-data."""


@dataclass
class FormData:
    """Text fields in order, and the uploaded files as (part name, original name, saved path)."""

    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[tuple[str, str, Path]] = field(default_factory=list)


def boundary_of(content_type: str) -> bytes:
    match = re.search(r'boundary="?([^";]+)"?', content_type or "")
    if not content_type.startswith("multipart/form-data") or not match:
        raise MultipartError("expected multipart/form-data with a boundary")
    return match.group(1).encode()


def read_multipart(
    stream: BinaryIO | BufferedIOBase,
    length: int,
    boundary: bytes,
    upload_dir: Path | None,
    *,
    folder_per_part: bool = False,
) -> FormData:
    """Read exactly ``length`` bytes of a multipart body, saving file parts under ``upload_dir``.

    :param stream: the request body.
    :param length: its Content-Length.
    :param boundary: from :func:`boundary_of`.
    :param upload_dir: where files go. A file is saved under its base name, so two uploads with the same
        name overwrite each other, as on the TIS server. ``None`` discards file contents (for benchmarks).
    :param folder_per_part: save each file under ``upload_dir/<part name>/`` instead, for services whose
        parts have distinct meanings (CGI's ``mutations``, ``cnas`` ...) and may share a file name.
    """
    form = FormData()
    delimiter = b"\r\n--" + boundary
    remaining = length
    buffer = bytearray(b"\r\n")  # lets the first boundary match the general delimiter

    def fill() -> bool:
        nonlocal remaining
        if remaining <= 0:
            return False
        chunk = stream.read(min(_CHUNK, remaining))
        if not chunk:
            raise MultipartError("the body ended early")
        remaining -= len(chunk)
        buffer.extend(chunk)
        return True

    def read_until(marker: bytes) -> bytes:
        while (index := buffer.find(marker)) < 0:
            if len(buffer) > 64 * 1024:
                raise MultipartError("part headers too long")
            if not fill():
                raise MultipartError("unexpected end of body")
        found = bytes(buffer[:index])
        del buffer[: index + len(marker)]
        return found

    read_until(delimiter)
    while True:
        while len(buffer) < 2 and fill():
            pass
        if buffer[:2] == b"--":
            break
        del buffer[:2]  # CRLF after the boundary
        headers = read_until(b"\r\n\r\n").decode("utf-8", "replace")
        params = dict(_DISPOSITION.findall(headers))
        name = params.get("name", "")
        filename = params.get("filename")
        if filename is None:
            form.fields.append((name, read_until(delimiter).decode("utf-8", "replace")))
            continue
        base = Path(filename.replace("\\", "/")).name
        base = base if base not in ("", ".", "..") else "upload"
        if upload_dir is None:
            target = Path(os.devnull)
        elif folder_per_part:
            folder = upload_dir / (re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".") or "part")
            folder.mkdir(parents=True, exist_ok=True)
            target = folder / base
        else:
            target = upload_dir / base
        with target.open("wb", buffering=0) as out:
            _copy_part(buffer, delimiter, fill, out)
        form.files.append((name, base, target))
    while fill():  # the epilogue
        buffer.clear()
    return form


def _copy_part(buffer: bytearray, delimiter: bytes, fill, out: BinaryIO) -> None:
    keep = len(delimiter) - 1
    while True:
        index = buffer.find(delimiter)
        if index >= 0:
            out.write(memoryview(buffer)[:index])
            del buffer[: index + len(delimiter)]
            return
        if len(buffer) > keep:
            out.write(memoryview(buffer)[: len(buffer) - keep])
            del buffer[: len(buffer) - keep]
        if not fill():
            raise MultipartError("a file part was not terminated")
