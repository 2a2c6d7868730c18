"""The per-user request budget and its three headers (§1.3).

"1000 requests within 5 minutes" with ``X-RateLimit-Limit``, ``X-RateLimit-Remaining`` and
``X-RateLimit-Reset`` (a Unix timestamp; the CAVATICA example shows milliseconds, so either can be
chosen). The window is fixed [I]: it opens with a user's first counted request and its budget is
whole again at ``reset``. Every token of a user shares the budget [I]; ``GET /rate_limit`` does not
count (BDCDOC). Every other request with a valid token counts, whatever its answer; a refused (429)
one does not [I].
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_tis.testing.sevenbridges.config import SbgConfig


@dataclass(frozen=True)
class Budget:
    """A user's budget as one answer reports it."""

    limit: int
    remaining: int
    reset: float  # when the window ends, on the simulator's clock
    allowed: bool = True

    def reset_at(self, in_ms: bool) -> int:
        """``reset`` as the header sends it: rounded up [I], so a client that sleeps until it (SBPY's
        ``rate_limit_sleeper`` truncates the current time) never wakes before the budget is back."""
        return math.ceil(self.reset * 1000) if in_ms else math.ceil(self.reset)

    def headers(self, in_ms: bool) -> dict[str, str]:
        return {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at(in_ms)),
        }


class RateLimiter:
    """Fixed windows per user, on the simulator's clock (so :meth:`shift_clock` ends a window).

    :param config: ``rate_limit`` and ``rate_window`` are read at every request.
    :param now: the simulator's clock.
    """

    def __init__(self, config: SbgConfig, now: Callable[[], float]) -> None:
        self.config = config
        self.now = now
        self._lock = threading.Lock()
        self._windows: dict[str, tuple[float, int]] = {}  # user -> (window start, requests counted)

    def _window(self, user: str) -> tuple[float, int]:
        """(start, used) of the user's current window; a new one, opening now, if the last has ended."""
        now = self.now()
        start, used = self._windows.get(user, (float("-inf"), 0))
        return (now, 0) if now >= start + self.config.rate_window else (start, used)

    def take(self, user: str) -> Budget:
        """Count one request of ``user`` if the budget allows it; the budget after it."""
        with self._lock:
            start, used = self._window(user)
            limit, reset = self.config.rate_limit, start + self.config.rate_window
            if used >= limit:
                return Budget(limit, 0, reset, allowed=False)
            self._windows[user] = (start, used + 1)
            return Budget(limit, limit - used - 1, reset)

    def peek(self, user: str) -> Budget:
        """The budget without counting (``GET /rate_limit``)."""
        with self._lock:
            start, used = self._window(user)
            limit = self.config.rate_limit
            return Budget(limit, max(limit - used, 0), start + self.config.rate_window)

    def reset(self, user: str | None = None) -> None:
        """Give ``user`` (or everyone) a fresh window."""
        with self._lock:
            if user is None:
                self._windows.clear()
            else:
                self._windows.pop(user, None)
