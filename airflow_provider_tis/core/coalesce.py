"""Coalesced polls: the waits on one server in one event loop share one listing per poll interval.

A triggerer may hold a thousand triggers of one connection, each waiting for its own job. Polled one by
one they cost a thousand requests per interval. Services list many jobs in one answer (TIS's job list,
Seven Bridges' bulk task read, Gencove's project sample pages), so the waits join a :class:`PollGroup`:
one listing per interval gives each job's *fingerprint* (what a poll would notice: state, queue
position, progress), and only a wait whose job's fingerprint differs from what it last saw is woken to
read its job in full. Each trigger still reads, decides and fires its own event: a job that fails wakes
only its own trigger.

The lister is called as ``lister(client, ids)`` with the ids the group's waits wait on: a listing of the
whole account (TIS) ignores them, a bulk read (Seven Bridges: up to 100 task ids per request) reads those.
"""

from __future__ import annotations

import asyncio
import weakref
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable, Mapping

    #: Reads ``{job id: fingerprint}`` with a client of the group's server, given the ids waited on
    #: (sorted, each once, never empty).
    Lister = Callable[[Any, list[str]], Awaitable[Mapping[str, Hashable]]]

_MISSING = object()  # a job the listing does not show (deleted, or not the listing's to show)


class _Wait:
    __slots__ = ("done", "interval", "item_ids", "seen")

    def __init__(
        self,
        item_ids: tuple[str, ...],
        seen: tuple[Hashable, ...],
        interval: float,
        done: asyncio.Future[None],
    ) -> None:
        self.item_ids, self.seen, self.interval, self.done = item_ids, seen, interval, done

    def changed_in(self, listing: Mapping[str, Hashable]) -> bool:
        return any(listing.get(i, _MISSING) != seen for i, seen in zip(self.item_ids, self.seen, strict=True))


class PollGroup:
    """The waits on one server (one shared client) and one kind of listing, in one event loop.

    Use :func:`poll_group` to get the group; then ``await group.changed(job_id, seen, interval)``.
    The group lists while anyone waits and stops when the last wait leaves (a cancelled trigger, a
    triggerer shutting down).

    :param client: the (shared) client the listing is read with.
    :param lister: reads ``{job id: fingerprint}`` (see :data:`Lister`).
    """

    def __init__(self, client: Any, lister: Lister) -> None:
        self.client, self.lister = client, lister
        self.listings = 0  # how many listings were read (tests, benchmarks)
        self._waits: set[_Wait] = set()
        self._task: asyncio.Task[None] | None = None

    async def changed(self, item_id: str | tuple[str, ...], seen: Hashable, interval: float) -> None:
        """Return once a listing shows job ``item_id`` with a fingerprint other than ``seen``, or not at
        all. A listing that fails raises its error here, in every wait of the group (each trigger decides
        for itself what the error means to it).

        A wait on several jobs at once (one trigger waiting for many samples) gives ``item_id`` as a tuple
        of ids and ``seen`` as the tuple of their fingerprints, in the same order: it returns once any of
        them differs from what was seen, or is not listed.
        """
        if isinstance(item_id, tuple):
            if not isinstance(seen, tuple) or len(seen) != len(item_id):
                raise ValueError("A wait on several ids needs a tuple of as many fingerprints as seen.")
            wait = _Wait(item_id, seen, interval, asyncio.get_running_loop().create_future())
        else:
            wait = _Wait((item_id,), (seen,), interval, asyncio.get_running_loop().create_future())
        self._waits.add(wait)
        if self._task is None or self._task.done():
            self._task = asyncio.ensure_future(self._run())
        try:
            await wait.done
        finally:
            self._waits.discard(wait)
            if not self._waits and self._task is not None:
                self._task.cancel()  # nobody waits: no more listings (a new wait starts a new round)
                self._task = None

    async def _run(self) -> None:
        while self._waits:
            # the shortest interval of those waiting: a wait is never read later than it asked to be
            await asyncio.sleep(min(wait.interval for wait in self._waits))
            waits = list(self._waits)
            try:
                listing = await self.lister(self.client, sorted({i for wait in waits for i in wait.item_ids}))
            except Exception as exc:
                for wait in waits:
                    if not wait.done.done():
                        wait.done.set_exception(exc)
                continue
            finally:
                self.listings += 1
            for wait in waits:
                if not wait.done.done() and wait.changed_in(listing):
                    wait.done.set_result(None)


_groups: weakref.WeakKeyDictionary[Any, dict[Any, PollGroup]] = weakref.WeakKeyDictionary()


def poll_group(client: Any, lister: Lister) -> PollGroup:
    """The group of ``client`` (one per server, credentials and loop: clients are shared that way, see
    :mod:`~airflow_provider_tis.core.shared_clients`) and ``lister``; made on first use."""
    by_lister = _groups.setdefault(client, {})
    group = by_lister.get(lister)
    if group is None:
        group = by_lister[lister] = PollGroup(client, lister)
    return group
