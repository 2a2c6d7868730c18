"""Where files are written: safe names, local or storage destinations, private atomic writes.

Every decision about a path lives here: whether it is local (:func:`is_local`), what a server's name may
be (:func:`safe_relative_name`), where temporary files go and when a left-over one may be removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import glob
import os
import secrets
import tempfile
import time
from typing import Any

from airflow_provider_tis.core.errors import ConfigError, ProviderError, ResponseError
from airflow_provider_tis.version_compat import ObjectStoragePath

#: On object storage (no locks), a temporary file untouched this long was left by a killed writer.
STALE_PART_SECONDS = 3600.0
_LOCAL = ("file", "local", "")
_NAME_MAX_BYTES = 255  # NAME_MAX of Linux, macOS and Windows file systems
_TOKEN_BYTES = 4
_STEM_BYTES = _NAME_MAX_BYTES - len("..part") - 2 * _TOKEN_BYTES - 1


def safe_relative_name(name: str, error: type[ProviderError] = ResponseError) -> str:
    """The server's file name as a relative path inside the destination, or an error.

    Refused: empty names, names of folders (``.``, ``x/``), absolute paths, ``..`` segments, backslashes and NUL characters.
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
    elif name.split("/")[-1] in ("", "."):
        problem = "names a folder, not a file"  # ".", "./", "x/.": a folder would become the file
    if problem:
        raise error(
            f"The server listed a file whose name {problem} ({name!r}); it would be written outside "
            "the destination folder, so nothing was downloaded. Report this to the server's administrators."
        )
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def is_single_name(name: str) -> bool:
    """Whether ``name`` can be one file or folder name inside a destination: not empty, no surrounding
    spaces, no ``/``, backslash or NUL, not ``.`` or ``..`` (a name given by a user or a server)."""
    return (
        bool(name)
        and name == name.strip()
        and name not in (".", "..")
        and not any(c in name for c in "/\\\x00")
    )


def destination_root(
    destination: str | None, conn_id: str | None, error: type[ConfigError] = ConfigError
) -> Any:
    """An ObjectStoragePath for a local folder or any storage URL (``file://``, ``s3://``, ``memory://``...)."""
    text = "" if destination is None else str(destination).strip()
    if not text or text == "None":  # "None": a template or XCom that gave nothing, rendered as text
        what = "missing" if destination is None else "empty" if not text else "'None'"
        raise error(
            f"`destination` is {what}; give a local folder or a storage URL (check the template or XCom "
            "that provides it)."
        )
    if "://" not in text:
        text = "file://" + os.path.abspath(os.path.expanduser(text))
    try:
        root = ObjectStoragePath(text, conn_id=conn_id)
        root.fs  # noqa: B018 - resolve the storage now, so an unknown scheme fails before any download
    except Exception as exc:
        raise error(
            f"Cannot use destination {destination!r}: {exc}. Use a local folder or a URL whose scheme an "
            "installed provider supports (file://, s3:// with the Amazon provider, gs:// with Google, ...)."
        ) from exc
    if root.exists() and not root.is_dir():
        raise error(
            f"Destination {destination!r} exists and is not a folder: give a folder, or move the file away."
        )
    if is_local(root):
        existing = root.path
        while not os.path.exists(existing):  # it is created with the first file
            existing = os.path.dirname(existing)
        try:  # a real write: os.access says yes to root even where nothing can be written
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".tis-write-check-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise error(
                f"Destination {destination!r} is not writable by this worker ({existing}: {exc.strerror}). "
                "Choose a folder the worker's user can write to, or fix its permissions."
            ) from None
    return root


def is_local(path: Any) -> bool:
    return getattr(path, "protocol", "file") in _LOCAL


def size_of(path: Any) -> int | None:
    """The size of a file, or None when it is not there (or cannot be read)."""
    try:
        return int(path.stat().st_size)
    except (FileNotFoundError, OSError):
        return None


def make_private_dirs(path: str) -> None:
    """Create missing folders, each readable by the owner only (0700, less the umask): these are genomes.

    (``os.makedirs`` would apply the mode to the last folder only.)
    """
    missing = []
    while path and not os.path.isdir(path):
        missing.append(path)
        path = os.path.dirname(path)
    for folder in reversed(missing):
        try:
            os.mkdir(folder, 0o700)
        except FileExistsError:
            pass


def part_name(name: str) -> str:
    """A hidden temporary name for ``name``, unique to its writer and within the file system's name limit.

    The name is shortened, never the final one: a listed name of 255 bytes must still be downloadable.
    """
    stem = name.encode("utf-8", "surrogateescape")[:_STEM_BYTES].decode("utf-8", "ignore")
    return f".{stem}.{secrets.token_hex(_TOKEN_BYTES)}.part"


def _stale_parts(target: Any) -> list[Any]:
    """Temporary files of ``target`` whose writer is gone (a killed task), never another live writer's.

    A local writer holds a lock on its file while it lives (the system drops it when the process dies); a
    file no one holds is stale. Object storage has no locks: there only files untouched for an hour go.
    """
    stem = part_name(target.name)[1 : -(_TOKEN_BYTES * 2 + 6)]
    stale = []
    for candidate in target.parent.glob(f".{glob.escape(stem)}.{'?' * _TOKEN_BYTES * 2}.part"):
        if is_local(candidate):
            if not _held_by_a_writer(candidate.path):
                stale.append(candidate)
            continue
        try:
            modified = float(candidate.stat().st_mtime)
        except (OSError, AttributeError, KeyError, TypeError, ValueError):
            continue
        if modified and time.time() - modified > STALE_PART_SECONDS:  # 0: the storage keeps no times
            stale.append(candidate)
    return stale


def _held_by_a_writer(path: str) -> bool:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return True  # gone already, or not ours to judge
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    finally:
        os.close(fd)  # also releases the lock just taken
    return False


class PartialFile:
    """A file written under a hidden temporary name of its own, then renamed into place or removed.

    Local files are created with mode 0600 (less the umask).
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.path = target.parent / part_name(target.name)
        if is_local(target):
            make_private_dirs(target.parent.path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        for stale in _stale_parts(target):
            with contextlib.suppress(OSError):
                stale.unlink()
        self.handle = self._open()

    def _open(self) -> Any:
        if is_local(self.path):
            fd = os.open(self.path.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # "a writer lives": see _stale_parts; released on close or death
            return os.fdopen(fd, "wb")
        return self.path.open("wb")

    def restart(self) -> None:
        """Empty the file (the server did not honour a Range request)."""
        self.handle.close()
        self.handle = self._open()

    def commit(self) -> None:
        self.handle.close()
        self.path.rename(self.target)

    def discard(self) -> None:
        self.handle.close()
        try:
            self.path.unlink()
        except (FileNotFoundError, OSError):
            pass


def write_atomically(target: Any, data: bytes) -> None:
    """Write a small file under a temporary name, then rename it into place (private, like the results)."""
    partial = PartialFile(target)
    try:
        partial.handle.write(data)
    except BaseException:
        partial.discard()
        raise
    partial.commit()
