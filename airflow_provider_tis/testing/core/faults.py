"""Fault injection for the simulators, and the log of requests they received (service-neutral).

Each service names its own routes (``Faults(routes)``), so a typo in a test's route is an error
rather than a fault that never fires.
"""

from __future__ import annotations

import dataclasses
import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

LIES = ("short_chunked", "short_length", "no_content_range", "endless")


@dataclass(frozen=True)
class RequestRecord:
    """One request as a simulator saw it.

    :param server: ``"api"`` (the service's API) or ``"store"`` (the object store TIS downloads redirect to).
    :param route: the service's name for the endpoint (``"unknown"`` for no route).
    :param method: the HTTP method.
    :param path: the URL path, without the query.
    :param status: the status answered, 0 when the connection was dropped without an answer.
    :param token_sha256: SHA-256 of the API token if one arrived (the token itself is never stored).
    :param fields: submitted text fields (secrets redacted) for submissions.
    :param files: names of uploaded files for submissions.
    :param range: the ``Range`` header, if any.
    :param job_state: the state the answer reported, for routes that return a job (TIS: an int, CGI: a
        status string).
    :param auth_ok: whether the credentials matched an account (None where the route did not check).
    """

    server: str
    route: str
    method: str
    path: str
    status: int
    token_sha256: str | None
    fields: dict[str, str] = field(default_factory=dict)
    files: tuple[str, ...] = ()
    range: str | None = None
    job_state: int | str | None = None
    auth_ok: bool | None = None


class RequestLog(list[RequestRecord]):
    """The request log, also appended to a file as JSON lines as requests arrive (a token only ever as its
    SHA-256), so that users can see what their DAG sent.

    :param path: the file (appended to; created if missing).
    """

    def __init__(self, path: str | Path) -> None:
        super().__init__()
        self.path = Path(path)
        self._lock = threading.Lock()

    def append(self, record: RequestRecord) -> None:
        super().append(record)
        line = json.dumps({"time": round(time.time(), 3), **dataclasses.asdict(record)})
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


@dataclass
class _Error:
    status: int
    retry_after: float | None
    message: str | None
    skip: int = 0
    body: bytes | None = None  # sent as it is, instead of a JSON message
    headers: dict[str, str] = field(default_factory=dict)


class Faults:
    """Arm faults; each is used up by the requests it hits. Thread-safe.

    :param routes: the route names of the service (what :meth:`fail`, :meth:`slow`, :meth:`rewrite`
        and :meth:`trickle` accept).
    """

    def __init__(self, routes: Iterable[str]) -> None:
        self.routes = tuple(routes)
        self._lock = threading.Lock()
        self._errors: dict[str, deque[_Error]] = defaultdict(deque)
        self._delays: dict[str, list[Any]] = {}
        self._download_drops: deque[int] = deque()
        self._submit_drops = 0
        self._upload_drops: deque[int] = deque()
        self._lies: deque[tuple[str, int]] = deque()
        self._rewrites: dict[str, deque[Callable[[Any], tuple[bytes, str]]]] = defaultdict(deque)
        self._trickles: dict[str, deque[float]] = defaultdict(deque)

    def _check(self, route: str) -> None:
        if route not in self.routes:
            raise ValueError(f"unknown route {route!r}; use one of {', '.join(self.routes)}")

    def fail(
        self,
        route: str,
        times: int = 1,
        *,
        status: int = 503,
        retry_after: float | None = None,
        message: str | None = None,
        after: int = 0,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer ``times`` requests to ``route`` with ``status`` (and ``Retry-After``), once ``after``
        more requests to it have been answered normally. ``body`` and ``headers`` replace the JSON error
        body (e.g. a gzip page with ``Content-Encoding: gzip`` from a proxy)."""
        self._check(route)
        with self._lock:
            queue = self._errors[route]
            queue.extend(_Error(status, retry_after, message, 0, body, headers or {}) for _ in range(times))
            queue[len(queue) - times].skip = after

    def rewrite(self, route: str, change: Callable[[Any], tuple[bytes, str]], times: int = 1) -> None:
        """Replace the next ``times`` successful JSON answers on ``route``: ``change`` gets the parsed
        JSON and returns the body and content type to send instead (a broken or surprising server)."""
        self._check(route)
        with self._lock:
            self._rewrites[route].extend([change] * times)

    def trickle(self, route: str, interval: float, times: int = 1) -> None:
        """Send the next ``times`` JSON answers on API ``route`` one byte every ``interval`` seconds: each
        byte within any read timeout, the whole answer taking minutes."""
        self._check(route)
        with self._lock:
            self._trickles[route].extend([interval] * times)

    def slow(self, route: str, seconds: float, times: int | None = None, *, after: int = 0) -> None:
        """Delay answers on ``route`` by ``seconds`` (the next ``times`` requests, or all), once ``after``
        more requests to it have been answered without delay."""
        self._check(route)
        with self._lock:
            self._delays[route] = [seconds, times, after]

    def drop_download_after(self, nbytes: int, times: int = 1) -> None:
        """The next ``times`` file downloads (TIS: the object store; CGI: ``?action=download``) close
        the connection after sending ``nbytes`` of the body."""
        with self._lock:
            self._download_drops.extend([nbytes] * times)

    def lie_in_download(self, kind: str, nbytes: int = 100, times: int = 1) -> None:
        """The next ``times`` file bodies (from the object store, or from ``/share/results`` in a local
        workspace) break the protocol in a way no connection error shows:

        - ``"short_chunked"``: chunked, no Content-Length, ends cleanly after ``nbytes``;
        - ``"short_length"``: Content-Length ``nbytes``, and that many bytes;
        - ``"no_content_range"``: 206 without Content-Range, the file from ``nbytes`` on;
        - ``"endless"``: chunked, the file then zeros without end (until the client hangs up).
        """
        if kind not in LIES:
            raise ValueError(f"unknown lie {kind!r}; use one of {', '.join(LIES)}")
        with self._lock:
            self._lies.extend([(kind, nbytes)] * times)

    def take_lie(self) -> tuple[str, int] | None:
        with self._lock:
            return self._lies.popleft() if self._lies else None

    def drop_submit_response(self, times: int = 1) -> None:
        """Create the job, then close the connection without answering (a lost response)."""
        with self._lock:
            self._submit_drops += times

    def drop_upload_after(self, nbytes: int, times: int = 1) -> None:
        """Close the connection after receiving ``nbytes`` of a submission body (no job is created)."""
        with self._lock:
            self._upload_drops.extend([nbytes] * times)

    def clear(self) -> None:
        with self._lock:
            self._errors.clear()
            self._delays.clear()
            self._download_drops.clear()
            self._upload_drops.clear()
            self._lies.clear()
            self._rewrites.clear()
            self._trickles.clear()
            self._submit_drops = 0

    # -- used by the server -------------------------------------------------------------------

    def take_error(self, route: str) -> _Error | None:
        with self._lock:
            queue = self._errors.get(route)
            if not queue:
                return None
            if queue[0].skip:
                queue[0].skip -= 1
                return None
            return queue.popleft()

    def take_delay(self, route: str) -> float:
        with self._lock:
            entry = self._delays.get(route)
            if not entry:
                return 0.0
            seconds, times, after = entry
            if after:
                entry[2] = after - 1
                return 0.0
            if times is not None:
                entry[1] = times - 1
                if times - 1 <= 0:
                    del self._delays[route]
            return float(seconds or 0)

    def take_rewrite(self, route: str) -> Callable[[Any], tuple[bytes, str]] | None:
        with self._lock:
            queue = self._rewrites.get(route)
            return queue.popleft() if queue else None

    def take_trickle(self, route: str) -> float:
        """Seconds between the bytes of the answer, or 0 to send it at once."""
        with self._lock:
            queue = self._trickles.get(route)
            return queue.popleft() if queue else 0.0

    def take_download_drop(self) -> int | None:
        with self._lock:
            return self._download_drops.popleft() if self._download_drops else None

    def take_upload_drop(self) -> int | None:
        with self._lock:
            return self._upload_drops.popleft() if self._upload_drops else None

    def take_submit_drop(self) -> bool:
        with self._lock:
            if self._submit_drops:
                self._submit_drops -= 1
                return True
            return False
