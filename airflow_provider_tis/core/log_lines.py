"""Which lines of a remote job's log a sensor logs now, so that each is logged exactly once per try.

A job's log only grows, so what was logged is a count. In one process (poke mode, or the first look of a
deferrable sensor) the count lives in memory. A rescheduled sensor starts every poke in a new process: the
count lives in Airflow's task state store (Airflow >= 3.3, one per try). Without a store nothing can know
what the previous poke logged, and a window of the clock (the old way) logs a line twice when pokes come
late: there the lines are logged once, when the job has ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

T = TypeVar("T")


class LoggedLines:
    """How many lines of one job's log this task try has logged.

    :param key: the task state store key (one per sensor class, e.g. ``"tis_logged_lines"``).
    """

    def __init__(self, key: str) -> None:
        self.key = key
        self.count = 0

    def new(
        self, lines: Sequence[T], job_id: str, context: Mapping[str, Any], *, same_process: bool, ended: bool
    ) -> Sequence[T]:
        """The lines not logged yet in this try (the caller logs them), remembering that they were.

        :param lines: the job's whole log as the server lists it now, oldest first.
        :param job_id: the job (a count of another job's lines does not apply).
        :param context: the task's context (its ``task_state_store``, where Airflow has one).
        :param same_process: whether earlier looks ran in this process (poke mode, deferrable).
        :param ended: whether the job has ended (without a store, lines are logged then).
        """
        store = None if same_process else context.get("task_state_store")
        if same_process:
            done = self.count
        elif store is not None:
            saved = store.get(self.key)
            done = int(saved["count"]) if isinstance(saved, dict) and saved.get("job_id") == job_id else 0
        elif ended:
            done = 0
        else:
            return []
        if done > len(lines):  # a restarted job began a new log
            done = 0
        self.count = len(lines)
        if store is not None and len(lines) > done:
            store.set(self.key, {"job_id": job_id, "count": len(lines)})
        return lines[done:]
