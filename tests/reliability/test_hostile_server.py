"""A broken or hostile server (or a proxy in front of it): long bursts of gateway errors, answers that
echo the token, JSON that cannot be parsed or holds impossible values, answers that trickle in or are far
too large, a job id with a newline, a missing CA bundle, and storage links in error texts.

Each test runs the provider's own hook, sensor or trigger against the simulator over HTTP and checks that
the outcome is an error a user can act on (or a wait that goes on), never a hang, a crash without an event,
or a secret in a message.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import gzip
import json
import socket
import threading
import time
import traceback
import tracemalloc
from typing import Any
from unittest import mock

import httpx
import pytest
import requests

from airflow_provider_tis.hooks import (
    Job,
    RetryPolicy,
    TisApiError,
    TisConfigError,
    TisConnectionError,
    TisError,
    TisHook,
    TisNotFoundError,
    TisResponseError,
    tis,
)
from tests.operators.conftest import first_event, make_context, make_trigger, run_sensor, sensor


@pytest.fixture
def quick_retries(monkeypatch):
    """Two attempts per call, a few ms apart: a burst longer than that reaches the sensor or trigger."""
    monkeypatch.setattr(
        tis, "RetryPolicy", lambda: RetryPolicy(max_attempts=2, initial_delay=0.01, max_delay=0.02)
    )


@pytest.fixture
def running_job(tis_simulator, submit) -> str:
    tis_simulator.config.run_seconds = 1.0
    return submit()


def in_thread(call, seconds: float) -> tuple[bool, Any]:
    """Run ``call`` in a daemon thread for at most ``seconds``: (finished, result or exception)."""
    box: list[Any] = []

    def run() -> None:
        try:
            box.append(call())
        except BaseException as exc:
            box.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(seconds)
    return (not thread.is_alive(), box[0] if box else None)


# -- 6: one rule for temporary troubles; a wait outlasts them -----------------------------------


@pytest.mark.parametrize("status", [502, 504, 429, 503])
def test_a_long_burst_of_gateway_errors_is_waited_out_by_the_sensor(
    tis_simulator, running_job, quick_retries, logs, status
):
    tis_simulator.faults.fail("job", 6, status=status)  # three pokes' worth, each poke retries once
    op = sensor(running_job)
    for _ in range(3):
        assert op.poke(make_context(task_id="wait")) is False
    assert run_sensor(op)["state"] == "SUCCESS"
    assert sum("will look again" in line for line in logs()) >= 3


@pytest.mark.parametrize("status", [502, 504])
async def test_a_long_burst_of_gateway_errors_is_waited_out_by_the_trigger(
    tis_simulator, running_job, quick_retries, status
):
    tis_simulator.faults.fail("job", 8, status=status)
    event = await first_event(make_trigger(running_job))
    assert event["status"] == "success", event
    answers = [r.status for r in tis_simulator.requests_to("job")]
    assert answers[:8] == [status] * 8 and answers[-1] == 200


async def test_a_trouble_that_lasts_past_the_deadline_ends_in_a_timeout_event(
    tis_simulator, running_job, quick_retries
):
    tis_simulator.faults.fail("job", 1000, status=502)
    event = await first_event(make_trigger(running_job, end_time=time.time() + 0.5))
    assert event["status"] == "timeout" and "could not be read" in event["message"], event
    assert "HTTP 502" in event["message"]


def test_a_persistent_500_is_retried_a_little_but_not_waited_out(tis_simulator, running_job, quick_retries):
    tis_simulator.faults.fail("job", 1000, status=500)
    with pytest.raises(TisApiError, match="HTTP 500"):
        sensor(running_job).poke(make_context(task_id="wait"))
    assert [r.status for r in tis_simulator.requests_to("job")] == [500, 500]  # the request loop's retry


def test_one_rule_decides_what_is_temporary():
    from airflow_provider_tis.hooks import is_temporary

    def api(status: int) -> TisApiError:
        return TisApiError("x", status=status)

    temporary = [api(429), api(502), api(503), api(504), TisConnectionError("refused")]
    temporary += [requests.ConnectionError(), requests.ReadTimeout(), httpx.ConnectError("x"), TimeoutError()]
    lasting = [api(400), api(401), api(403), api(404), api(500), TisResponseError("x"), TisConfigError("x")]
    assert [is_temporary(e) for e in temporary] == [True] * len(temporary)
    assert [is_temporary(e) for e in lasting] == [False] * len(lasting)
    assert is_temporary(api(500), bounded=True) and not is_temporary(api(404), bounded=True)


# -- 10: a server message that echoes the token ---------------------------------------------------


async def test_a_server_message_echoing_the_token_reaches_no_event_and_no_log(
    tis_simulator, running_job, logs
):
    token = tis_simulator.token
    tis_simulator.faults.fail("job", 1, status=400, message=f"Bad header X-Auth-Token: {token}")
    event = await first_event(make_trigger(running_job))
    assert event["status"] == "error" and "Bad header X-Auth-Token: ***" in event["message"], event
    assert token not in json.dumps(event)
    op = sensor(running_job, deferrable=True)  # a worker that never read the connection
    with mock.patch("airflow_provider_tis.hooks.base.mask_secret") as mask, pytest.raises(TisError) as raised:
        op.execute_complete(make_context(task_id="wait"), {**event, "message": f"old trigger: {token}"})
    mask.assert_called_with(token)  # registered with the masker before anything is logged
    assert token not in str(raised.value) and "old trigger: ***" in str(raised.value)
    assert not [line for line in logs() if token in line]


def test_the_token_is_scrubbed_from_every_error_the_sync_hook_builds(tis_simulator, running_job):
    token = tis_simulator.token
    tis_simulator.faults.fail("job", 1, status=404, message=f"no job for {token}")
    with pytest.raises(TisNotFoundError) as raised:
        TisHook().get_job(running_job)
    assert token not in str(raised.value) and token not in raised.value.message
    tis_simulator.faults.rewrite("job", lambda data: (f"<html>{token}</html>".encode(), "text/html"))
    with pytest.raises(TisResponseError) as raised:
        TisHook().get_job(running_job)
    assert "not JSON" in str(raised.value) and token not in str(raised.value)


# -- 12: answers that cannot be parsed or hold impossible values ---------------------------------


def with_job(**fields: Any):
    return lambda data: (json.dumps({**data, **fields}).encode(), "application/json")


def with_size(text: str):
    def change(data: dict) -> tuple[bytes, str]:
        for param in data["outputParams"]:
            for item in param["files"]:
                item["size"] = text
        return json.dumps(data).encode(), "application/json"

    return change


BROKEN_ANSWERS = {
    "deeply nested JSON": (
        lambda data: (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        "nested too deeply",
    ),
    "time out of range": (with_job(endTime=1e20), "time out of range"),
    "time NaN": (with_job(startTime=float("nan")), "time out of range"),
    "time of 400 digits": (with_job(submittedOn=10**400), "time out of range"),
    "size of 400 digits": (with_size("9" * 400 + " MB"), "file size out of range"),
}


@pytest.mark.parametrize("case", BROKEN_ANSWERS)
def test_a_broken_answer_is_a_response_error_in_the_hook(tis_simulator, finished_job, case):
    change, words = BROKEN_ANSWERS[case]
    tis_simulator.faults.rewrite("job", change)
    with pytest.raises(TisResponseError, match=words):
        TisHook().get_job(finished_job)


@pytest.mark.parametrize("case", BROKEN_ANSWERS)
async def test_a_broken_answer_is_an_error_event_from_the_trigger(tis_simulator, finished_job, case):
    change, words = BROKEN_ANSWERS[case]
    tis_simulator.faults.rewrite("job", change)
    event = await first_event(make_trigger(finished_job))
    assert event["status"] == "error" and words in event["message"], event


async def test_the_trigger_turns_any_unexpected_exception_into_an_event(
    tis_simulator, running_job, monkeypatch
):
    from airflow_provider_tis.hooks.async_client import AsyncTisClient

    async def broken(self, job_id):
        raise KeyError("surprise")

    monkeypatch.setattr(AsyncTisClient, "get_job", broken)
    event = await first_event(make_trigger(running_job))
    assert event["status"] == "error" and "KeyError" in event["message"] and "surprise" in event["message"]


async def test_the_trigger_still_lets_a_cancel_through(tis_simulator, running_job):
    tis_simulator.config.run_seconds = 30
    task = asyncio.ensure_future(first_event(make_trigger(running_job)))
    await asyncio.sleep(0.3)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


# -- 14: an answer that trickles in ---------------------------------------------------------------


def test_a_trickling_answer_cannot_hold_a_sync_call(tis_simulator, running_job, quick_retries, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(timeout=1.0))
    tis_simulator.faults.trickle("job", 0.2, times=2)  # every byte well within the 1 s read timeout
    started = time.monotonic()
    finished, outcome = in_thread(lambda: TisHook().get_job(running_job), 15)
    assert finished, "the call was still reading the trickle after 15 s"
    assert isinstance(outcome, TisConnectionError) and "not complete 1 s after it started" in str(outcome)
    assert time.monotonic() - started < 4
    assert len(tis_simulator.requests_to("job")) == 2  # a read timeout like any other: retried


def test_the_sensor_waits_out_a_trickling_answer(tis_simulator, running_job, quick_retries, monkeypatch):
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(timeout=0.5))
    tis_simulator.faults.trickle("job", 0.1, times=2)
    finished, outcome = in_thread(lambda: sensor(running_job).poke(make_context(task_id="wait")), 15)
    assert finished and outcome is False, outcome


async def test_a_trickling_answer_cannot_hold_an_async_call(
    tis_simulator, running_job, quick_retries, monkeypatch
):
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(timeout=0.5))
    tis_simulator.faults.trickle("job", 0.1, times=2)
    hook = TisHook(connect_timeout=0.5)
    started = time.monotonic()
    async with await hook.async_client() as client:
        with pytest.raises(TisConnectionError, match="no complete answer within 1 s"):
            await asyncio.wait_for(client.get_job(running_job), 15)
    assert time.monotonic() - started < 4


async def test_the_trigger_deadline_holds_against_a_trickling_answer(tis_simulator, running_job):
    tis_simulator.faults.trickle("job", 0.5, times=100)
    started = time.monotonic()
    event = await first_event(make_trigger(running_job, end_time=time.time() + 2))
    assert event["status"] == "timeout", event
    assert time.monotonic() - started < 2 + 1  # the deadline, plus at most one poll interval and slack


# -- 16: a job id with a newline -----------------------------------------------------------------


def test_a_job_id_with_a_newline_is_refused_before_any_request(tis_simulator, running_job):
    with pytest.raises(TisConfigError, match="is not a TIS job id"):
        TisHook().get_job(running_job + "\n")
    assert tis_simulator.requests_to("job") == []


async def test_a_job_id_with_a_newline_is_an_error_event(tis_simulator):
    event = await first_event(make_trigger("job-1\n"))
    assert event["status"] == "error" and "is not a TIS job id" in event["message"], event


# -- 17: answers too large -------------------------------------------------------------------------

BOMB_BYTES = 100 << 20


@functools.cache
def gzip_bomb() -> bytes:
    """A 404 page of about 100 KiB that unpacks to 100 MiB."""
    return gzip.compress(b"<html>" + b" " * BOMB_BYTES + b"</html>", compresslevel=9)


def peak_mib(call) -> tuple[float, Any]:
    tracemalloc.start()
    try:
        try:
            outcome = call()
        except Exception as exc:
            outcome = exc
        return tracemalloc.get_traced_memory()[1] / 2**20, outcome
    finally:
        tracemalloc.stop()


def test_a_compressed_error_page_is_read_only_up_to_a_cap(tis_simulator, running_job):
    bomb = gzip_bomb()
    tis_simulator.faults.fail("job", 1, status=404, body=bomb, headers={"Content-Encoding": "gzip"})
    peak, outcome = peak_mib(lambda: TisHook().get_job(running_job))
    assert isinstance(outcome, TisNotFoundError) and "HTTP 404" in str(outcome), outcome
    assert peak < 20, f"{peak:.0f} MiB"


def test_a_compressed_error_page_of_a_download_is_read_only_up_to_a_cap(tis_simulator, finished_job):
    file = TisHook().get_job(finished_job).files[0]
    tis_simulator.faults.fail("share", 1, status=404, body=gzip_bomb(), headers={"Content-Encoding": "gzip"})
    peak, outcome = peak_mib(lambda: TisHook().open_download(file))
    assert isinstance(outcome, TisNotFoundError), outcome
    assert peak < 20, f"{peak:.0f} MiB"


def padded(data: dict) -> tuple[bytes, str]:
    return json.dumps({**data, "padding": " " * (9 << 20)}).encode(), "application/json"


def test_an_answer_over_the_cap_is_refused_by_the_hook(tis_simulator, finished_job):
    tis_simulator.faults.rewrite("job", padded)
    with pytest.raises(TisResponseError, match="the answer was too large"):
        TisHook().get_job(finished_job)


async def test_an_answer_over_the_cap_is_refused_by_the_trigger(tis_simulator, finished_job):
    tis_simulator.faults.rewrite("job", padded)
    event = await first_event(make_trigger(finished_job))
    assert event["status"] == "error" and "the answer was too large" in event["message"], event


async def test_a_compressed_error_page_is_read_only_up_to_a_cap_by_the_async_client(
    tis_simulator, running_job
):
    tis_simulator.faults.fail("job", 1, status=404, body=gzip_bomb(), headers={"Content-Encoding": "gzip"})
    async with await TisHook().async_client() as client:
        tracemalloc.start()
        try:
            with pytest.raises(TisNotFoundError, match="HTTP 404"):
                await client.get_job(running_job)
            peak = tracemalloc.get_traced_memory()[1] / 2**20
        finally:
            tracemalloc.stop()
    assert peak < 20, f"{peak:.0f} MiB"


# -- 19: a CA bundle that is not there -------------------------------------------------------------


def missing_ca(tis_simulator, monkeypatch, tmp_path) -> str:
    path = str(tmp_path / "no-such-ca.pem")
    monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(verify=path))
    return path


async def test_a_missing_ca_bundle_is_an_error_event_naming_the_connection(
    tis_simulator, monkeypatch, tmp_path
):
    path = missing_ca(tis_simulator, monkeypatch, tmp_path)
    event = await first_event(make_trigger("job-1"))
    assert event["status"] == "error", event
    assert "Extra 'verify' of connection 'tis_default'" in event["message"] and path in event["message"]


def test_a_missing_ca_bundle_is_a_config_error_before_any_request(tis_simulator, monkeypatch, tmp_path):
    missing_ca(tis_simulator, monkeypatch, tmp_path)
    with pytest.raises(TisConfigError, match="Extra 'verify' of connection 'tis_default'"):
        TisHook().get_server()
    assert tis_simulator.requests_to("server") == []


# -- Job.raw, and presigned links in error texts ---------------------------------------------------


def test_a_job_keeps_no_copy_of_the_unmasked_answer():
    job = Job.from_json({"id": "job-1", "state": 4, "steps": [{"logMessages": [{"message": "password: x"}]}]})
    assert "raw" not in {f.name for f in dataclasses.fields(Job)} and not hasattr(job, "raw")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_a_broken_resume_shows_no_signature_anywhere_in_its_traceback(tis_simulator, finished_job):
    link = tis_simulator.presign(tis_simulator.jobs.jobs[finished_job].files[0])  # what /share redirects to
    assert "X-Amz-Signature=" in link
    broken = link.replace(tis_simulator.store_url, f"http://127.0.0.1:{closed_port()}")
    with pytest.raises(TisConnectionError) as raised:
        TisHook().resume_download(broken, 10, "chr_20.zip")
    text = "".join(traceback.format_exception(raised.value))
    assert "X-Amz-Signature" not in text and "ConnectionError" in text


def test_redact_url_drops_the_query_string():
    from airflow_provider_tis.hooks import redact_url
    from airflow_provider_tis.hooks.errors import scrub

    link = "https://bucket.s3.amazonaws.com/job/out/chr_20.zip?X-Amz-Credential=a%2Fb&X-Amz-Signature=f00d"
    assert redact_url(link) == "https://bucket.s3.amazonaws.com/job/out/chr_20.zip"
    said = scrub(f"Max retries exceeded with url: /job/out/chr_20.zip?X-Amz-Signature=f00d (see {link})")
    assert (
        said
        == "Max retries exceeded with url: /job/out/chr_20.zip (see https://bucket.s3.amazonaws.com/job/out/chr_20.zip)"
    )
