"""When and how long to wait before retrying an idempotent request."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from collections.abc import Callable

RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})


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

    def delay(self, attempt: int, response: requests.Response | None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        retry_after = _retry_after(response) if response is not None else None
        if retry_after is not None:
            return min(retry_after, self.max_delay)
        backoff = min(self.max_delay, self.initial_delay * 2 ** (attempt - 1))
        return random.uniform(backoff / 2, backoff)


def is_retryable(error: BaseException | None, response: requests.Response | None) -> bool:
    if response is not None:
        return response.status_code in RETRYABLE_STATUS
    return isinstance(error, (requests.ConnectionError, requests.Timeout))


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
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
