"""When and how long to wait before retrying an idempotent request."""

from __future__ import annotations

import functools
import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


class Response(Protocol):
    """What retry decisions read of a response; requests and httpx responses both fit."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...


#: Answers that pass by themselves: rate limiting, a proxy's bad gateway or gateway timeout, maintenance.
#: A wait (sensor, trigger) outlasts them until its own timeout; see ``errors.is_temporary``.
TEMPORARY_STATUS = frozenset({429, 502, 503, 504})
#: A loop with a small attempt limit also retries a 500: it is often a one-off crash of one request,
#: but a 500 that persists is a server bug, so it is never waited out for the hours a job runs.
RETRYABLE_STATUS = TEMPORARY_STATUS | {500}


@functools.cache
def transient_errors() -> tuple[type[BaseException], ...]:
    """Library errors of a call that may succeed when sent again: refused or lost connections, timeouts.

    Imported when first asked for, not when a DAG file imports an operator (it is parsed every 30 s).
    """
    import httpx
    import requests

    return (requests.ConnectionError, requests.Timeout, httpx.TransportError)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter, honouring ``Retry-After``.

    :param max_attempts: attempts in all, the first one included (1 disables retries).
    :param initial_delay: seconds before the first retry; doubles each time.
    :param max_delay: longest single wait in seconds (a longer ``Retry-After`` is capped to it).
    :param max_elapsed: give up when the next wait would end later than this many seconds after
        the first attempt started.
    """

    max_attempts: int = 5
    initial_delay: float = 1.0
    max_delay: float = 60.0
    max_elapsed: float = 300.0
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    #: For services whose endpoint recognises maintenance answers (``Endpoint.maintenance``): seconds
    #: between tries while the server is down for maintenance, and the longest time to wait it out in
    #: all (these waits count neither as attempts nor toward ``max_elapsed``).
    maintenance_delay: float = 60.0
    max_maintenance: float = 1800.0

    def next_delay(
        self, attempt: int, elapsed: float, error: BaseException | None, response: Response | None
    ) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or None to give up.

        :param elapsed: seconds since the first attempt started (waits included).
        """
        if not is_retryable(error, response) or attempt >= self.max_attempts:
            return None
        delay = self.delay(attempt, retry_after_seconds(response))
        return None if elapsed + delay > self.max_elapsed else delay

    def maintenance_wait(self, waited: float, retry_after: float | None = None) -> float | None:
        """Seconds to wait before trying again a server down for maintenance, or None to give up.

        :param waited: seconds already waited for this maintenance by this call.
        :param retry_after: the server's ``Retry-After``, if it sent one (capped at ``max_delay``).
        """
        delay = min(retry_after, self.max_delay) if retry_after else self.maintenance_delay
        delay = min(delay, self.max_maintenance - waited)
        return delay if delay >= 0.001 else None  # not a last try of a few float-rounding nanoseconds

    def delay(self, attempt: int, retry_after: float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based), or the server's Retry-After."""
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return random.uniform(backoff / 2, backoff)


def is_retryable(error: BaseException | None, response: Response | None) -> bool:
    if response is not None:
        return response.status_code in RETRYABLE_STATUS
    return isinstance(error, transient_errors())


def retry_after_seconds(response: Response | None) -> float | None:
    """How long the server asks to wait, in seconds, or None.

    ``Retry-After`` (seconds or an HTTP date) first; else, on a 429 or with no requests left
    (``X-RateLimit-Remaining: 0``), ``X-RateLimit-Reset``: an epoch time in seconds or milliseconds, or a
    number of seconds (Seven Bridges, Gencove and proxies differ). :class:`RetryPolicy` caps the wait.
    """
    if response is None:
        return None
    value = response.headers.get("Retry-After")
    if value:
        return _retry_after(value)
    reset = response.headers.get("X-RateLimit-Reset")
    exhausted = response.status_code == 429 or response.headers.get("X-RateLimit-Remaining") == "0"
    return _rate_limit_reset(reset) if reset and exhausted else None


def _retry_after(value: str) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return max(0.0, (when - datetime.now(timezone.utc)).total_seconds())


def rate_limit_reset(value: str | None) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` value (an epoch time in seconds or milliseconds, or a number
    of seconds), 0 if it has passed, or None when there is none or it is not a number."""
    return _rate_limit_reset(value) if value else None


def _rate_limit_reset(value: str) -> float | None:
    try:
        number = float(value)
    except ValueError:
        return None
    if number != number or number in (float("inf"), float("-inf")):  # NaN or infinite: no answer
        return None
    if number >= 1e11:  # an epoch time in milliseconds (1e11 ms is 1973)
        number = number / 1000 - time.time()
    elif number >= 1e9:  # an epoch time in seconds (2001 on)
        number -= time.time()
    return max(0.0, number)
