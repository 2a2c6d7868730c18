"""Where result files are written: safe names, private atomic writes, resumable fetches, progress lines."""

from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import secrets
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import (
    TisApiError,
    TisConfigError,
    TisConnectionError,
    TisDownloadLinkExpiredError,
    TisError,
    TisResponseError,
    is_temporary,
)
from airflow_provider_tis.hooks.models import size_bounds
from airflow_provider_tis.version_compat import ObjectStoragePath

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.models import OutputFile
    from airflow_provider_tis.hooks.tis import TisHook

CHUNK_BYTES = 1 << 20
MAX_RESUMES = 5
PROGRESS_EVERY_SECONDS = 10.0
#: On object storage (no locks), a temporary file untouched this long was left by a killed writer.
STALE_PART_SECONDS = 3600.0
_LOCAL = ("file", "local", "")
_NAME_MAX_BYTES = 255  # NAME_MAX of Linux, macOS and Windows file systems
_TOKEN_BYTES = 4
_STEM_BYTES = _NAME_MAX_BYTES - len("..part") - 2 * _TOKEN_BYTES - 1


class TisTransferError(TisError):
    """A download could not be completed or verified; nothing was left under the final name."""


def safe_relative_name(name: str) -> str:
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
        raise TisResponseError(
            f"The server listed a file whose name {problem} ({name!r}); it would be written outside "
            "the destination folder, so nothing was downloaded. Report this to the server's administrators."
        )
    return "/".join(part for part in name.split("/") if part not in ("", "."))


def destination_root(destination: str | None, conn_id: str | None) -> Any:
    """An ObjectStoragePath for a local folder or any storage URL (``file://``, ``s3://``, ``memory://``...)."""
    text = "" if destination is None else str(destination).strip()
    if not text or text == "None":  # "None": a template or XCom that gave nothing, rendered as text
        what = "missing" if destination is None else "empty" if not text else "'None'"
        raise TisConfigError(
            f"`destination` is {what}; give a local folder or a storage URL (check the template or XCom "
            "that provides it)."
        )
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
    if is_local(root):
        existing = root.path
        while not os.path.exists(existing):  # it is created with the first file
            existing = os.path.dirname(existing)
        try:  # a real write: os.access says yes to root even where nothing can be written
            fd, probe = tempfile.mkstemp(dir=existing, prefix=".tis-write-check-")
            os.close(fd)
            os.unlink(probe)
        except OSError as exc:
            raise TisConfigError(
                f"Destination {destination!r} is not writable by this worker ({existing}: {exc.strerror}). "
                "Choose a folder the worker's user can write to, or fix its permissions."
            ) from None
    return root


def is_local(path: Any) -> bool:
    return getattr(path, "protocol", "file") in _LOCAL


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


class ProgressLog:
    """Logs ``<label>: percent, MB and MB/s`` at most every 10 seconds, and once at the end."""

    def __init__(self, log: Any, label: str, every: float = PROGRESS_EVERY_SECONDS) -> None:
        self.log, self.label, self.every = log, label, every
        self.started = self.last = time.monotonic()
        self.finished = False

    def __call__(self, done: int, total: int | None) -> None:
        now = time.monotonic()
        complete = total is not None and done >= total
        if self.finished or (now - self.last < self.every and not complete):
            return
        self.last, self.finished = now, complete
        rate = done / max(now - self.started, 1e-6) / 1e6
        if total:
            self.log.info(
                "%s: %.0f%% (%.1f of %.1f MB, %.1f MB/s).",
                self.label,
                100 * done / total,
                done / 1e6,
                total / 1e6,
                rate,
            )
        else:
            self.log.info("%s: %.1f MB (%.1f MB/s).", self.label, done / 1e6, rate)


@dataclass
class Fetched:
    """A downloaded file waiting under its temporary name: commit it once verified."""

    partial: PartialFile
    size: int
    md5: str


def fetch(hook: TisHook, file: OutputFile, target: Any, log: Any, *, md5: bool = False) -> Fetched:
    """Download one file into a :class:`PartialFile`, resuming broken transfers.

    Normally one ``/share/results`` hit. A broken transfer, or a storage error, continues with an HTTP Range
    request on the same storage link, which spends nothing; only when there is no link (it expired,
    ``/share/results`` itself failed, or the server sends the bytes itself instead of redirecting to a
    storage) is ``/share/results`` asked again: at most once more, and never for the file's last download.
    The bytes received must match what the server promised (Content-Length or Content-Range, and the listed
    size within its display precision). With ``md5=True`` the MD5 of the bytes is computed on the way.
    """
    partial = PartialFile(target)
    digest, written, link, hits, troubles = hashlib.md5(), 0, None, 0, 0
    listed = size_bounds(file.size_text)
    progress = ProgressLog(log, file.name)
    try:
        while True:
            try:
                if link is None:
                    _check_budget(file, hits)
                    hits += 1  # the server counts the hit even when the answer is an error
                    download = hook.open_download(file, start=written)
                else:
                    download = hook.resume_download(link, written, file.name)
            except TisDownloadLinkExpiredError:
                log.info("%s: the download link expired; asking the server for a new one.", file.name)
                link = None
                continue
            except (TisConnectionError, TisApiError) as exc:
                if not is_temporary(exc, bounded=True):
                    raise
                troubles += 1
                if isinstance(exc, TisApiError) and exc.link:  # the storage failed: retry its link for free
                    link = exc.link
                _pause(hook, file, troubles, exc, log)
                continue
            with download:
                link = download.storage_link or link
                if download.offset is None:
                    raise TisTransferError(
                        f"{file.name}: the server answered a Range request with HTTP 206 but no valid "
                        "Content-Range, so where its bytes belong is unknown; nothing was kept."
                    )
                if download.offset != written:  # the range was not honoured: start over
                    partial.restart()
                    digest, written = hashlib.md5(), 0
                total = download.total_size
                try:
                    for chunk in download.iter_chunks(CHUNK_BYTES):
                        partial.handle.write(chunk)
                        if md5:
                            digest.update(chunk)
                        written += len(chunk)
                        progress(written, total)
                        if listed is not None and written >= listed[1]:  # an endless body stops here
                            raise TisTransferError(
                                f"{file.name}: the server sent more than the {file.size_text} it lists "
                                f"({written} bytes and counting); nothing was kept."
                            )
                except TisConnectionError as exc:
                    troubles += 1
                    _pause(hook, file, troubles, exc, log, at=written)
                    continue
            _check_received(file, written, total, listed)
            return Fetched(partial, written, digest.hexdigest() if md5 else "")
    except BaseException:
        partial.discard()
        raise


def _check_received(
    file: OutputFile, written: int, total: int | None, listed: tuple[int, int] | None
) -> None:
    """The body ended normally: it must hold what the headers announced and what the job lists."""
    if total is not None and written != total:
        raise TisTransferError(
            f"{file.name}: received {written} bytes, but the server announced {total}; nothing was kept. "
            "Run the task again."
        )
    if listed is not None and not listed[0] <= written < listed[1]:
        raise TisTransferError(
            f"{file.name}: received {written} bytes, but the job lists it as {file.size_text}; the transfer "
            "ended early (or the server's answer is wrong). Nothing was kept; run the task again."
        )


def _pause(hook: TisHook, file: OutputFile, troubles: int, exc: TisError, log: Any, at: int = 0) -> None:
    """Back off before continuing a broken download, or give up after :data:`MAX_RESUMES` troubles."""
    if troubles > MAX_RESUMES:
        # from None: the chain could carry a presigned link; the message says what broke
        raise TisTransferError(f"{file.name}: gave up after {MAX_RESUMES} broken transfers: {exc}") from None
    policy = hook.retry_policy
    delay = policy.delay(troubles, exc.retry_after if isinstance(exc, TisApiError) else None)
    where = f" at byte {at}" if at else ""
    log.warning("%s: the transfer broke%s (%s); continuing in %.1f s.", file.name, where, exc, delay)
    policy.sleep(delay)


def _check_budget(file: OutputFile, hits: int) -> None:
    """A retry must leave the file at least one download; the first hit may use the last one."""
    left = None if file.count < 0 else file.count - hits
    if hits and (hits >= 2 or (left is not None and left <= 1)):
        raise TisTransferError(
            f"{file.name}: the download could not be completed, and trying again would spend "
            f"{'its last download' if left == 1 else 'another download'} ({left} left). Run the task again "
            "later; files already downloaded are kept."
        )
