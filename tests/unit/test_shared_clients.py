"""Triggers of one connection in one event loop share one HTTP client; the last to leave closes it."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_tis.core.http import Endpoint
from airflow_provider_tis.core.shared_clients import SharedClient, shared_client_count
from airflow_provider_tis.hooks.tis import TisHook


class FakeClient:
    built: list[FakeClient] = []

    def __init__(self, endpoint, log) -> None:
        self.endpoint, self.closed = endpoint, False
        FakeClient.built.append(self)

    @classmethod
    async def open(cls, endpoint, log):
        await asyncio.sleep(0.01)  # built off the loop in life; long enough for others to arrive
        if endpoint.base_url.endswith("broken"):
            raise OSError("no TLS context")
        return cls(endpoint, log)

    async def __aexit__(self, *exc) -> None:
        self.closed = True


def endpoint(url: str = "https://tis.example", token: str = "t") -> Endpoint:
    return Endpoint(base_url=url, auth={"X-Auth-Token": token}, errors=TisHook().error_kinds())


@pytest.fixture(autouse=True)
def fresh():
    FakeClient.built = []


async def use(point: Endpoint, hold: float = 0.05) -> FakeClient:
    async with SharedClient(FakeClient, point, None) as client:
        await asyncio.sleep(hold)
        return client


def test_leases_of_one_endpoint_share_one_client_that_the_last_one_closes():
    async def main():
        clients = await asyncio.gather(*(use(endpoint()) for _ in range(50)))
        return clients, shared_client_count()

    clients, left = asyncio.run(main())
    assert len(FakeClient.built) == 1 and all(c is clients[0] for c in clients)
    assert clients[0].closed and left == 0


def test_other_servers_or_tokens_get_their_own_client():
    async def main():
        return await asyncio.gather(use(endpoint()), use(endpoint(token="u")), use(endpoint("https://b")))

    a, b, c = asyncio.run(main())
    assert len({id(a), id(b), id(c)}) == 3


def test_each_event_loop_has_its_own_client():
    first = asyncio.run(use(endpoint()))
    second = asyncio.run(use(endpoint()))
    assert first is not second and first.closed and second.closed


def test_a_client_that_cannot_be_built_fails_every_lease_and_is_tried_again_later():
    async def main():
        results = await asyncio.gather(
            *(use(endpoint("https://broken")) for _ in range(3)), return_exceptions=True
        )
        return results, shared_client_count()

    results, left = asyncio.run(main())
    assert all(isinstance(r, OSError) for r in results) and left == 0


def test_a_lease_cancelled_while_the_client_is_built_does_not_break_the_others():
    async def main():
        waiting = asyncio.create_task(use(endpoint()))
        other = asyncio.create_task(use(endpoint(), hold=0.1))
        await asyncio.sleep(0.001)
        waiting.cancel()
        return await other, shared_client_count()

    client, left = asyncio.run(main())
    assert len(FakeClient.built) == 1 and client.closed and left == 0
