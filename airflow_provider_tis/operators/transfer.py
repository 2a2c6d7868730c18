"""Where result files are written: safe names, private atomic writes, resumable fetches, progress lines."""

from __future__ import annotations

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
)
from airflow_provider_tis.hooks.models import size_unit
from airflow_provider_tis.version_compat import ObjectStoragePath

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.models import OutputFile
    from airflow_provider_tis.hooks.tis import TisHook

CHUNK_BYTES = 1 << 20
MAX_RESUMES = 5
PROGRESS_EVERY_SECONDS = 10.0
_LOCAL = ("file", "local", "")


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
            f"The server listed a file whose name {problem} ({name!r}); it would be written outside "
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


def looks_complete(target: Any, file: OutputFile) -> bool:
    """Whether an existing file matches the server's listed size (which is truncated to whole units)."""
    try:
        size = target.stat().st_size
    except (FileNotFoundError, OSError):
        return False
    if file.size is None:
        return size > 0
    return file.size <= size < file.size + size_unit(file.size_text)


class PartialFile:
    """A file written under a hidden temporary name, then renamed into place or removed.

    Local files are created with mode 0600 (less the umask).
    """

    def __init__(self, target: Any) -> None:
        self.target = target
        self.path = target.parent / f".{target.name}.{secrets.token_hex(4)}.part"
        if is_local(target):
            make_private_dirs(target.parent.path)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
        for stale in target.parent.glob(f".{glob.escape(target.name)}.*.part"):  # left by a killed task
            stale.unlink()
        self.handle = self._open()

    def _open(self) -> Any:
        if is_local(self.path):
            return os.fdopen(os.open(self.path.path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb")
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
    request on the same storage link, which spends nothing; only when there is no link (it expired, or
    ``/share/results`` itself failed) is ``/share/results`` asked again: at most once more, and never for
    the file's last download. With ``md5=True`` the MD5 of the bytes is computed on the way.
    """
    partial = PartialFile(target)
    digest, written, link, hits, troubles = hashlib.md5(), 0, None, 0, 0
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
                if isinstance(exc, TisApiError) and not exc.is_transient:
                    raise
                troubles += 1
                if isinstance(exc, TisApiError) and exc.link:  # the storage failed: retry its link for free
                    link = exc.link
                _pause(hook, file, troubles, exc, log)
                continue
            with download:
                link = download.url
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
                except TisConnectionError as exc:
                    troubles += 1
                    _pause(hook, file, troubles, exc, log, at=written)
                    continue
            if total is not None and written != total:
                raise TisTransferError(
                    f"{file.name}: received {written} bytes, but the server announced {total}."
                )
            return Fetched(partial, written, digest.hexdigest() if md5 else "")
    except BaseException:
        partial.discard()
        raise


def _pause(hook: TisHook, file: OutputFile, troubles: int, exc: TisError, log: Any, at: int = 0) -> None:
    """Back off before continuing a broken download, or give up after :data:`MAX_RESUMES` troubles."""
    if troubles > MAX_RESUMES:
        raise TisTransferError(f"{file.name}: gave up after {MAX_RESUMES} broken transfers: {exc}") from exc
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
