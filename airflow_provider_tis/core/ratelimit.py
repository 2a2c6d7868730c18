"""A server's request budget as its answers report it, shared by every call with one set of credentials.

Services that count requests per user (Seven Bridges: 1000 per 5 minutes per token, shared by every DAG
that uses it) say on each answer how many are left (``X-RateLimit-Remaining``) and when the budget is
whole again (``X-RateLimit-Reset``). The one request loop (:mod:`.http`) records every answer here and,
once none are left, holds the next request until the reset instead of spending it on a 429: the threads
of one upload and the triggers of one connection all read the same budget, and requests on their way count
against it before their answers report them (so parallel calls do not all spend the last request). Waits
are capped by the caller.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

from airflow_provider_tis.core.retry import rate_limit_reset

if TYPE_CHECKING:
    from airflow_provider_tis.core.retry import Response

#: An answer whose reset lies this much before the last one's is a late answer of an earlier window.
_LATE = 1.0


@dataclass(frozen=True)
class RateLimitState:
    """The budget as the last answers reported it.

    :param limit: requests per window (``X-RateLimit-Limit``), if sent.
    :param remaining: requests left in the window (``X-RateLimit-Remaining``), if sent.
    :param reset_at: when the window ends, as a Unix time in seconds, if sent.
    """

    limit: int | None = None
    remaining: int | None = None
    reset_at: float | None = None

    def describe(self) -> str:
        """``"997 of 1000 requests left, reset at 12:05:00 UTC"``, or what of it is known."""
        if self.remaining is None:
            return "the rate-limit budget was not reported"
        text = f"{self.remaining} of {self.limit} requests left" if self.limit else f"{self.remaining} left"
        if self.reset_at is not None:
            text += f" (the budget resets at {time.strftime('%H:%M:%S', time.gmtime(self.reset_at))} UTC)"
        return text


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None


class RateBudget:
    """One budget, read from every answer's headers; thread-safe (worker threads and an event loop).

    Each request takes a place with :meth:`reserve` before it is sent and gives it back with
    :meth:`release` once answered (or broken off): the requests left are those the last answers reported,
    less those on their way. Once a reported reset has passed, the whole ``limit`` is assumed back.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._state = RateLimitState()
        self._raw_reset: str | None = None  # the header as sent: equal in every answer of one window
        self._on_the_way = 0

    @property
    def state(self) -> RateLimitState:
        with self._lock:
            return self._state

    def reserve(self, cap: float) -> float:
        """Take a place for one request; the seconds to wait before sending it: until the reset while no
        request is left (at most ``cap``), else 0."""
        with self._lock:
            state, now = self._state, time.time()
            self._on_the_way += 1
            if state.remaining is None or state.reset_at is None:
                return 0.0
            if now >= state.reset_at:  # a new window: its budget is whole, unless the limit is unknown
                left = (state.limit or 1 << 30) - self._on_the_way + 1
            else:
                left = state.remaining - self._on_the_way + 1
            return 0.0 if left > 0 else max(0.0, min(state.reset_at - now, cap))

    def release(self, response: Response | None) -> None:
        """Give back a request's place and take the budget its answer (if any) reports, in one step: a
        request counts as on its way until its answer's ``remaining`` is in."""
        with self._lock:
            if response is not None:
                self._take(response)
            self._on_the_way = max(self._on_the_way - 1, 0)

    def record(self, response: Response) -> None:
        """Take the budget an answer reports; answers without the headers change nothing."""
        with self._lock:
            self._take(response)

    def _take(self, response: Response) -> None:
        """Answers of parallel calls arrive in any order: answers of one window (the same reset) keep the
        lowest ``remaining``, and a late answer of an earlier window changes nothing. Hold the lock."""
        headers = response.headers
        remaining = _int(headers.get("X-RateLimit-Remaining"))
        if remaining is None:
            return
        raw_reset = headers.get("X-RateLimit-Reset")
        seconds = rate_limit_reset(raw_reset)
        reset_at = None if seconds is None else time.time() + seconds
        limit, old = _int(headers.get("X-RateLimit-Limit")), self._state
        if raw_reset and raw_reset == self._raw_reset and old.remaining is not None:
            remaining, reset_at = min(remaining, old.remaining), old.reset_at
        elif reset_at is not None and old.reset_at is not None and reset_at < old.reset_at - _LATE:
            return
        self._raw_reset = raw_reset
        self._state = RateLimitState(limit or old.limit, max(remaining, 0), reset_at)


_budgets: dict[tuple[str, str], RateBudget] = {}
_budgets_lock = threading.Lock()


def budget_for(base_url: str, credential: str) -> RateBudget:
    """The process's one budget of a server and credential (kept only as its SHA-256)."""
    key = (base_url, hashlib.sha256(credential.encode()).hexdigest())
    with _budgets_lock:
        budget = _budgets.get(key)
        if budget is None:
            budget = _budgets[key] = RateBudget()
        return budget
