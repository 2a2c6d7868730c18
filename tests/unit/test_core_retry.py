"""core.retry: how long a server asks to wait (Retry-After, X-RateLimit-Reset), and the cap on it."""

from __future__ import annotations

import time
from email.utils import formatdate
from types import SimpleNamespace

import pytest

from airflow_provider_tis.core.retry import RetryPolicy, retry_after_seconds


def answer(status: int = 429, **headers: str) -> SimpleNamespace:
    return SimpleNamespace(status_code=status, headers={k.replace("_", "-"): v for k, v in headers.items()})


def test_retry_after_in_seconds_or_as_a_date():
    assert retry_after_seconds(answer(Retry_After="7")) == 7
    date = formatdate(time.time() + 30, usegmt=True)
    assert 25 <= retry_after_seconds(answer(Retry_After=date)) <= 31
    assert retry_after_seconds(answer(Retry_After="soon")) is None


@pytest.mark.parametrize(
    ("reset", "low", "high"),
    [
        (lambda: str(int(time.time()) + 40), 35, 41),  # epoch seconds
        (lambda: str(int(time.time() * 1000) + 40_000), 35, 41),  # epoch milliseconds
        (lambda: "40", 40, 40),  # seconds from now
        (lambda: str(int(time.time()) - 100), 0, 0),  # already passed
    ],
    ids=["epoch-seconds", "epoch-milliseconds", "delta", "past"],
)
def test_rate_limit_reset_in_seconds_or_milliseconds(reset, low, high):
    assert low <= retry_after_seconds(answer(X_RateLimit_Reset=reset())) <= high
    assert (
        low <= retry_after_seconds(answer(200, X_RateLimit_Reset=reset(), X_RateLimit_Remaining="0")) <= high
    )


def test_a_reset_is_no_reason_to_wait_while_requests_are_left_and_retry_after_comes_first():
    reset = str(int(time.time()) + 40)
    assert retry_after_seconds(answer(200, X_RateLimit_Reset=reset, X_RateLimit_Remaining="12")) is None
    assert retry_after_seconds(answer(X_RateLimit_Reset=reset, Retry_After="3")) == 3
    assert retry_after_seconds(answer(X_RateLimit_Reset="nan")) is None
    assert retry_after_seconds(None) is None


def test_the_policy_caps_what_the_server_asks():
    policy = RetryPolicy(max_delay=60)
    far = str(int(time.time()) + 86_400)
    assert policy.delay(1, retry_after_seconds(answer(X_RateLimit_Reset=far))) == 60
    assert policy.next_delay(1, 0.0, None, answer(X_RateLimit_Reset="5")) == 5
