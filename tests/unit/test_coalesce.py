"""PollGroup: one listing per interval for every wait of a group; only the waits whose job changed wake."""

from __future__ import annotations

import asyncio

import pytest

from airflow_provider_tis.core.coalesce import poll_group


class Listing:
    """A lister whose answer the test sets; counts its calls."""

    def __init__(self, jobs: dict[str, str]) -> None:
        self.jobs, self.calls, self.error = jobs, 0, None

    async def __call__(self, client: object, ids: list[str]) -> dict[str, str]:
        self.calls += 1
        if self.error is not None:
            raise self.error
        return dict(self.jobs)


class Client:  # what the group is keyed by (a shared client in life)
    pass


async def test_only_the_waits_whose_job_changed_wake_and_one_listing_serves_all():
    listing = Listing({f"job-{i}": "RUNNING" for i in range(100)})
    group = poll_group(Client(), listing)
    waits = {job_id: asyncio.ensure_future(group.changed(job_id, "RUNNING", 0.05)) for job_id in listing.jobs}
    await asyncio.sleep(0.18)  # three rounds, nothing changed
    assert not any(wait.done() for wait in waits.values())
    assert 2 <= listing.calls <= 4  # one per interval, not one per wait
    listing.jobs["job-7"] = "FAILED"
    del listing.jobs["job-8"]  # deleted: its trigger must look for itself
    await asyncio.wait_for(asyncio.gather(waits["job-7"], waits["job-8"]), 1)
    await asyncio.sleep(0.12)
    assert [job for job, wait in waits.items() if wait.done()] == ["job-7", "job-8"]
    for wait in waits.values():
        wait.cancel()
    await asyncio.gather(*waits.values(), return_exceptions=True)


async def test_a_failed_listing_raises_in_every_wait():
    listing = Listing({"a": "RUNNING", "b": "RUNNING"})
    listing.error = OSError("refused")
    group = poll_group(Client(), listing)
    results = await asyncio.wait_for(
        asyncio.gather(
            group.changed("a", "RUNNING", 0.02), group.changed("b", "RUNNING", 0.02), return_exceptions=True
        ),
        1,
    )
    assert [type(r) for r in results] == [OSError, OSError]
    assert listing.calls == 1


async def test_no_listing_once_the_last_wait_left_and_a_new_wait_starts_again():
    listing = Listing({"a": "RUNNING"})
    group = poll_group(Client(), listing)
    wait = asyncio.ensure_future(group.changed("a", "RUNNING", 0.02))
    await asyncio.sleep(0.07)
    wait.cancel()  # a triggerer stopping cancels its triggers
    with pytest.raises(asyncio.CancelledError):
        await wait
    calls = listing.calls
    assert calls >= 2
    await asyncio.sleep(0.1)
    assert listing.calls == calls  # nobody waits: nothing is listed
    listing.jobs["a"] = "SUCCESS"
    await asyncio.wait_for(group.changed("a", "RUNNING", 0.02), 1)
    assert listing.calls == calls + 1


async def test_groups_are_per_client_and_lister():
    client, listing = Client(), Listing({})
    assert poll_group(client, listing) is poll_group(client, listing)
    assert poll_group(client, listing) is not poll_group(Client(), listing)
    assert poll_group(client, listing) is not poll_group(client, Listing({}))


async def test_the_lister_is_given_the_ids_waited_on():
    calls: list[list[str]] = []

    async def bulk(client: object, ids: list[str]) -> dict[str, str]:
        calls.append(ids)
        return {job_id: "RUNNING" for job_id in ids if job_id != "b"}

    group = poll_group(Client(), bulk)
    waits = [asyncio.ensure_future(group.changed(job_id, "RUNNING", 0.02)) for job_id in ("c", "a", "b", "a")]
    await asyncio.wait_for(waits[2], 1)  # "b" is not in the answer: woken
    assert calls[0] == ["a", "b", "c"]  # each id once, sorted
    assert not waits[0].done() and not waits[1].done()
    await asyncio.sleep(0.05)
    assert calls[-1] == ["a", "c"]  # "b" left the group
    for wait in waits:
        wait.cancel()
    await asyncio.gather(*waits, return_exceptions=True)


async def test_a_wait_on_several_ids_wakes_when_any_of_them_changes():
    listing = Listing({"a": "RUNNING", "b": "RUNNING", "c": "RUNNING"})
    group = poll_group(Client(), listing)
    many = asyncio.ensure_future(group.changed(("a", "b"), ("RUNNING", "RUNNING"), 0.02))
    single = asyncio.ensure_future(group.changed("c", "RUNNING", 0.02))
    await asyncio.sleep(0.08)
    assert not many.done() and not single.done()
    listing.jobs["b"] = "DONE"
    await asyncio.wait_for(many, 1)
    assert not single.done()
    single.cancel()
    await asyncio.gather(single, return_exceptions=True)
    with pytest.raises(ValueError, match="as many fingerprints"):
        await group.changed(("a", "b"), "RUNNING", 0.02)
