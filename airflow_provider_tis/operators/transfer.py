"""Where result files are written: safe names, atomic writes, completeness checks."""

from __future__ import annotations

import os
import secrets
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import TisConfigError, TisError, TisResponseError
from airflow_provider_tis.version_compat import ObjectStoragePath

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.models import OutputFile
    from airflow_provider_tis.hooks.tis import TisDownload

CHUNK_BYTES = 8 << 20
_SIZE_UNITS = {"bytes": 1, "KB": 1 << 10, "MB": 1 << 20, "GB": 1 << 30, "TB": 1 << 40}


class TisTransferError(TisError):
    """A download could not be completed or verified; nothing was left under the final name."""


def safe_relative_name(name: str) -> str:
    """The server's file name as a relative path inside the destination, or an error.

    Refused: empty names, absolute paths, ``..`` segments, backslashes and NUL characters.
    """
    problem = None
    if not name or not name.strip():
        problem = "is empty"
    elif "\x00" in name:
        problem = "contains a NUL character"
    elif "\\" in name:
        problem = "contains a backslash"
    elif name.startswith("/") or (len(name) > 1 and name[1] == ":"):
        problem = "is an absolute path"
    elif any(part == ".." for part in name.split("/")):
        problem = "contains '..'"
    if problem:
        raise TisResponseError(
            f"The server listed an output file whose name {problem} ({name!r}); it would be written outside "
            "the destination folder, so nothing was downloaded. Report this to the server's administrators."
        )
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def destination_root(destination: str, conn_id: str | None) -> Any:
    """An ObjectStoragePath for a local folder or any storage URL (``file://``, ``s3://``, ``memory://``...)."""
    text = str(destination).strip()
    if not text:
        raise TisConfigError("`destination` is empty; give a local folder or a storage URL.")
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text))
    try:
        root = ObjectStoragePath(text, conn_id=conn_id)
        root.fs  # noqa: B018 - resolve the storage now, so an unknown scheme fails before any download
    except Exception as exc:
        raise TisConfigError(
            f"Cannot use destination {destination!r}: {exc}. Use a local folder or a URL whose scheme an "
            "installed provider supports (file://, s3:// with the Amazon provider, gs:// with Google, ...)."
        ) from exc
    if root.exists() and not root.is_dir():
        raise TisConfigError(f"Destination {destination!r} exists and is not a folder.")
    return root


def looks_complete(target: Any, file: OutputFile) -> bool:
    """Whether an existing file matches the server's listed size (which is truncated to whole units)."""
    try:
        size = target.stat().st_size
    except (FileNotFoundError, OSError):
        return False
    if file.size is None:
        return size > 0
    unit = next((u for name, u in _SIZE_UNITS.items() if file.size_text.endswith(" " + name)), 1)
    return file.size <= size < file.size + unit


def write_atomically(download: TisDownload, target: Any) -> int:
    """Stream a download to ``target``; it appears under its final name only when complete and verified.

    Returns the number of bytes written.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
    written = 0
    try:
        with partial.open("wb") as out:
            for chunk in download.iter_chunks(CHUNK_BYTES):
                out.write(chunk)
                written += len(chunk)
        expected = download.size
        if expected is not None and written != expected:
            raise TisTransferError(
                f"Download of {target.name} is incomplete: {written} bytes received, {expected} expected."
            )
        partial.rename(target)
    except BaseException:
        try:
            partial.unlink()
        except (FileNotFoundError, OSError):
            pass
        raise
    return written
