"""Progress lines of long transfers."""

from __future__ import annotations

import time
from typing import Any

PROGRESS_EVERY_SECONDS = 10.0


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
