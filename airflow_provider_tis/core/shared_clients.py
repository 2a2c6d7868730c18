"""One asynchronous HTTP client per connection and event loop, shared by every trigger that uses it.

A triggerer runs hundreds of triggers in one event loop. Each building its own client costs a TLS
context and a connection pool apiece, and builds that run side by side starve the loop; one client per
connection keeps one pool of keep-alive connections to the server instead of one per trigger.
"""

from __future__ import annotations

import asyncio
import hashlib
import weakref
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from airflow_provider_tis.core.http import AsyncHttpClient, Endpoint

_C = TypeVar("_C", bound="AsyncHttpClient")


@dataclass
class _Shared:
    ready: asyncio.Future[Any]  # the client being built, or built
    users: int = 0


_by_loop: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[tuple[Any, ...], _Shared]] = (
    weakref.WeakKeyDictionary()
)


def endpoint_key(kind: type, endpoint: Endpoint) -> tuple[Any, ...]:
    """What makes two clients interchangeable: the same class, server, credentials, TLS and timeouts."""
    auth = hashlib.sha256(repr(sorted(endpoint.auth.items())).encode()).hexdigest()  # no token kept
    return (
        kind,
        endpoint.base_url,
        auth,
        endpoint.verify,
        endpoint.timeout,
        endpoint.connect_timeout,
        repr(endpoint.retry_policy),
        endpoint.errors.service,  # each hook makes its own ErrorKinds: the same for one service
    )


class SharedClient(Generic[_C]):
    """A lease on the shared client of an endpoint: ``async with SharedClient(cls, endpoint, log) as c:``.

    The first lease in a loop builds the client (off the loop); the last one to leave closes it.

    :param kind: the client class (a service's subclass of ``AsyncHttpClient``).
    :param endpoint: how the server is called.
    :param log: where the client logs its retries.
    """

    def __init__(self, kind: type[_C], endpoint: Endpoint, log: Any) -> None:
        self.kind, self.endpoint, self.log = kind, endpoint, log
        self._key = endpoint_key(kind, endpoint)
        self._loop: asyncio.AbstractEventLoop | None = None

    async def __aenter__(self) -> _C:
        self._loop = asyncio.get_running_loop()
        clients = _by_loop.setdefault(self._loop, {})
        shared = clients.get(self._key)
        if shared is None:  # built by a task of its own: a lease cancelled meanwhile cannot break it
            shared = clients[self._key] = _Shared(
                asyncio.ensure_future(self.kind.open(self.endpoint, self.log))
            )
        shared.users += 1
        try:
            return await asyncio.shield(shared.ready)  # type: ignore[no-any-return]
        except BaseException:
            await self._leave()
            raise

    async def __aexit__(self, *exc: object) -> None:
        await self._leave()

    async def _leave(self) -> None:
        assert self._loop is not None
        clients = _by_loop.get(self._loop, {})
        shared = clients.get(self._key)
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            return
        del clients[self._key]
        if not shared.ready.done():  # nobody waits for it any more: close it once it is built
            shared.ready.add_done_callback(_close_when_built)
        elif not shared.ready.cancelled() and shared.ready.exception() is None:
            await shared.ready.result().__aexit__(None, None, None)


_closing: set[asyncio.Future[Any]] = set()  # held until done: the loop keeps only weak references


def _close_when_built(ready: asyncio.Future[Any]) -> None:
    if not ready.cancelled() and ready.exception() is None:
        closing = asyncio.ensure_future(ready.result().__aexit__(None, None, None))
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)


def shared_client_count() -> int:
    """How many shared clients are open in the running event loop (for tests and benchmarks)."""
    return len(_by_loop.get(asyncio.get_running_loop(), {}))
