"""The transfer engine: stream one file into a temporary file, resuming broken transfers, and verify it.

A service describes each file as a :class:`Source` (how to open it, how to resume it, how many downloads
it has left, what size it should have); :func:`fetch` does the rest the same way for every service.
"""

from __future__ import annotations

import hashlib
import re
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from airflow_provider_tis.core.errors import ApiError, NetworkError, ProviderError, is_temporary
from airflow_provider_tis.core.files import PartialFile
from airflow_provider_tis.core.progress import ProgressLog
from airflow_provider_tis.core.retry import RETRYABLE_STATUS, retry_after_seconds

_T = TypeVar("_T")

if TYPE_CHECKING:
    from collections.abc import Callable, Iterator, Sequence

    import requests

    from airflow_provider_tis.core.http import HttpClient
    from airflow_provider_tis.core.retry import RetryPolicy

CHUNK_BYTES = 1 << 20
MAX_RESUMES = 5
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-\d+/(\d+|\*)$")


class TransferError(ProviderError):
    """A download could not be completed or verified; nothing was left under the final name."""


class LinkExpiredError(ApiError):
    """The storage refused a download link: it has expired (a new one costs a download)."""


class Source(Protocol):
    """One file to download, as its service describes it.

    ``name`` names it in messages; ``listed`` is the ``[low, high)`` byte range its listing promises (None:
    unknown); ``size_text`` that listing as shown; ``downloads_left`` is None where opening it costs nothing,
    -1 for unlimited, else how many opens are left (a retry never spends the last, nor opens more than twice). ``open(start)`` is one counted download;
    ``resume(link, start)`` continues on a storage link for free (raising :class:`LinkExpiredError` once it
    expired). ``transfer_error`` is the service's :class:`TransferError`.
    """

    @property
    def name(self) -> str: ...

    @property
    def listed(self) -> tuple[int, int] | None: ...

    @property
    def size_text(self) -> str: ...

    @property
    def downloads_left(self) -> int | None: ...

    @property
    def retry_policy(self) -> RetryPolicy: ...

    @property
    def transfer_error(self) -> type[TransferError]: ...

    def open(self, start: int) -> Download: ...

    def resume(self, link: str, start: int) -> Download: ...


class Download:
    """An open, streaming download of one file. Use as a context manager.

    :param response: the final response (after a storage redirect, if any).
    :param network: raised when the connection breaks (the service's network error).
    """

    def __init__(self, response: requests.Response, network: type[NetworkError] = NetworkError) -> None:
        self._response = response
        self._network = network

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
        import requests  # where it is used: DAG files never need it
        import urllib3

        received = 0
        raw = self._response.raw
        try:
            # read1 hands over whatever arrived, so a broken connection loses no received byte
            while chunk := raw.read1(chunk_size):
                received += len(chunk)
                yield chunk
        except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
            # from None: the library's error can carry the presigned link, signature included
            raise self._network(
                f"The download broke after {received} bytes ({type(exc).__name__})."
            ) from None

    def close(self) -> None:
        self._response.close()

    def __enter__(self) -> Download:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@dataclass
class Fetched:
    """A downloaded file waiting under its temporary name: commit it once verified."""

    partial: PartialFile
    size: int
    checksum: str  # hex digest of the bytes, when asked for (else "")


def fetch(file: Source, target: Any, log: Any, *, checksum: str | None = None) -> Fetched:
    """Download one file into a :class:`PartialFile`, resuming broken transfers.

    Normally one ``/share/results`` hit. A broken transfer, or a storage error, continues with an HTTP Range
    request on the same storage link, which spends nothing; only when there is no link (it expired,
    ``/share/results`` itself failed, or the server sends the bytes itself instead of redirecting to a
    storage) is ``/share/results`` asked again: at most once more, and never for the file's last download.
    The bytes received must match what the server promised (Content-Length or Content-Range, and the listed
    size within its display precision). With ``checksum`` (a hashlib name: ``"md5"``, ``"sha256"``) the
    digest of the bytes is computed on the way, across resumes, never by reading the file again.
    """
    partial = PartialFile(target)
    digest, written, link, hits, troubles = hashlib.new(checksum or "md5"), 0, None, 0, 0
    listed = file.listed
    progress = ProgressLog(log, file.name)
    try:
        while True:
            try:
                if link is None:
                    _check_budget(file, hits)
                    hits += 1  # the server counts the hit even when the answer is an error
                    download = file.open(written)
                else:
                    download = file.resume(link, written)
            except LinkExpiredError:
                log.info("%s: the download link expired; asking the server for a new one.", file.name)
                link = None
                continue
            except (NetworkError, ApiError) as exc:
                if not is_temporary(exc, bounded=True):
                    raise
                troubles += 1
                if isinstance(exc, ApiError) and exc.link:  # the storage failed: retry its link for free
                    link = exc.link
                _pause(file, troubles, exc, log)
                continue
            with download:
                link = download.storage_link or link
                if download.offset is None:
                    raise file.transfer_error(
                        f"{file.name}: the server answered a Range request with HTTP 206 but no valid "
                        "Content-Range, so where its bytes belong is unknown; nothing was kept."
                    )
                if download.offset != written:  # the range was not honoured: start over
                    partial.restart()
                    digest, written = hashlib.new(checksum or "md5"), 0
                total = download.total_size
                try:
                    for chunk in download.iter_chunks(CHUNK_BYTES):
                        partial.handle.write(chunk)
                        if checksum:
                            digest.update(chunk)
                        written += len(chunk)
                        progress(written, total)
                        if listed is not None and written >= listed[1]:  # an endless body stops here
                            raise file.transfer_error(
                                f"{file.name}: the server sent more than the {file.size_text} it lists "
                                f"({written} bytes and counting); nothing was kept."
                            )
                except NetworkError as exc:
                    troubles += 1
                    _pause(file, troubles, exc, log, at=written)
                    continue
            _check_received(file, written, total, listed)
            return Fetched(partial, written, digest.hexdigest() if checksum else "")
    except BaseException:
        partial.discard()
        raise


def _check_received(file: Source, written: int, total: int | None, listed: tuple[int, int] | None) -> None:
    """The body ended normally: it must hold what the headers announced and what the job lists."""
    if total is not None and written != total:
        raise file.transfer_error(
            f"{file.name}: received {written} bytes, but the server announced {total}; nothing was kept. "
            "Run the task again."
        )
    if listed is not None and not listed[0] <= written < listed[1]:
        raise file.transfer_error(
            f"{file.name}: received {written} bytes, but the job lists it as {file.size_text}; the transfer "
            "ended early (or the server's answer is wrong). Nothing was kept; run the task again."
        )


def _pause(file: Source, troubles: int, exc: ProviderError, log: Any, at: int = 0) -> None:
    """Back off before continuing a broken download, or give up after :data:`MAX_RESUMES` troubles."""
    if troubles > MAX_RESUMES:
        # from None: the chain could carry a presigned link; the message says what broke
        raise file.transfer_error(
            f"{file.name}: gave up after {MAX_RESUMES} broken transfers: {exc}"
        ) from None
    policy = file.retry_policy
    delay = policy.delay(troubles, exc.retry_after if isinstance(exc, ApiError) else None)
    where = f" at byte {at}" if at else ""
    log.warning("%s: the transfer broke%s (%s); continuing in %.1f s.", file.name, where, exc, delay)
    policy.sleep(delay)


def _check_budget(file: Source, hits: int) -> None:
    """A retry must leave the file at least one download; the first hit may use the last one."""
    if file.downloads_left is None:  # opening it again costs nothing
        return
    left = None if file.downloads_left < 0 else file.downloads_left - hits  # -1: unlimited
    if hits and (hits >= 2 or (left is not None and left <= 1)):
        raise file.transfer_error(
            f"{file.name}: the download could not be completed, and trying again would spend "
            f"{'its last download' if left == 1 else 'another download'} ({left} left). Run the task again "
            "later; files already downloaded are kept."
        )


class LinkDownload(Download):
    """A download from a presigned link, which a broken transfer resumes on for free (a secret: never log it)."""

    def __init__(self, response: requests.Response, network: type[NetworkError], link: str) -> None:
        super().__init__(response, network)
        self._link = link

    @property
    def storage_link(self) -> str | None:
        return self._link


@dataclass(frozen=True)
class LinkErrors:
    """A service's exceptions for downloads from presigned links.

    :param service: the service's name in messages.
    :param api: raised for an error answer of the storage (the service's ApiError).
    :param expired: raised when a link that worked before is refused (the service's LinkExpiredError).
    :param network: raised when a transfer breaks.
    :param transfer: the service's TransferError.
    """

    service: str
    api: type[ApiError]
    expired: type[LinkExpiredError]
    network: type[NetworkError]
    transfer: type[TransferError]


class LinkSource:
    """A file behind presigned links that its service hands out on request, for :func:`fetch`.

    Each open asks ``new_link()`` for a fresh link (an API call; no download is counted); a broken transfer
    resumes on the same link with a Range request; a 403 there means the link expired, and a new one is
    asked for. A 403 on a fresh link is an error. No credentials are sent to the storage.

    :param name: the file, in messages.
    :param size: its size, if listed: the bytes received must match it.
    :param new_link: asks the service for a fresh link.
    :param http: the service's client (its session streams the link).
    :param errors: the service's exceptions.
    """

    downloads_left = None

    def __init__(
        self,
        name: str,
        size: int | None,
        new_link: Callable[[], str],
        http: HttpClient,
        errors: LinkErrors,
    ) -> None:
        self.name, self._new_link, self._http, self._errors = name, new_link, http, errors
        self.listed = None if size is None else (size, size + 1)
        self.size_text = "an unknown size" if size is None else f"{size} bytes"
        self.transfer_error = errors.transfer
        self.retry_policy = http.endpoint.retry_policy

    def open(self, start: int) -> Download:
        return self._stream(self._new_link(), start, fresh=True)

    def resume(self, link: str, start: int) -> Download:
        return self._stream(link, start, fresh=False)

    def _stream(self, url: str, start: int, *, fresh: bool) -> Download:
        errors, action = self._errors, f"download {self.name}"
        response = self._http.stream(url, start=start, action=action)
        status = response.status_code
        if status in (200, 206):
            return LinkDownload(response, errors.network, url)
        said = f"{errors.service} could not {action}: the storage answered HTTP {status}"
        if status == 403 and not fresh:
            raise errors.expired(f"{said}; the download link has expired.", status=403)
        if status in RETRYABLE_STATUS:
            raise errors.api(
                f"{said}; try again later.",
                status=status,
                retry_after=retry_after_seconds(response),
                link=url,
            )
        gone = "; the file is no longer there" if status == 404 else ""
        raise errors.api(f"{said}{gone}.", status=status)


def run_parallel(jobs: Sequence[Callable[[], _T]], workers: int, name: str) -> list[_T]:
    """Run ``jobs`` (one file each) ``workers`` at a time; their results in order. The first failure is
    raised, and jobs not started by then never start.

    :param name: the threads' name prefix (shows in logs).
    """
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name) as pool:
        futures = [pool.submit(job) for job in jobs]
        done, pending = wait(futures, return_when=FIRST_EXCEPTION)
        for future in pending:  # after a failure, start nothing more
            future.cancel()
        for future in done:
            future.result()  # raises the first failure
    return [future.result() for future in futures]
