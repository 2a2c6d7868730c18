"""The trigger's asynchronous view of the API: one httpx client per trigger run, same rules as the hook."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx

from airflow_provider_tis.hooks.answers import ACCEPT_ENCODING, aread_answer
from airflow_provider_tis.hooks.connection import USER_AGENT, check_verify
from airflow_provider_tis.hooks.models import Job

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.tis import TisHook


class AsyncTisClient:
    """Use as ``async with await hook.async_client() as client:``.

    Requests carry the token and never follow redirects; idempotent calls retry with the hook's
    :class:`RetryPolicy`, sleeping with ``asyncio.sleep`` so the triggerer's event loop keeps running.
    Each attempt, answer included, must end within the connect and read timeouts together: a server
    that trickles bytes, each within the read timeout, cannot hold a call forever.
    """

    def __init__(self, hook: TisHook) -> None:
        self._hook = hook
        settings = hook.settings
        self._attempt_seconds = hook.connect_timeout + settings.timeout
        self._client = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": ACCEPT_ENCODING,
            },
            verify=check_verify(settings),
            timeout=httpx.Timeout(settings.timeout, connect=hook.connect_timeout),
            follow_redirects=False,
        )

    async def __aenter__(self) -> AsyncTisClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def _request(self, path: str, action: str) -> Any:
        hook, policy = self._hook, self._hook.retry_policy
        headers = {"X-Auth-Token": hook.settings.token}
        started, slept, attempt = time.monotonic(), 0.0, 0
        while True:
            attempt += 1
            response: httpx.Response | None = None
            error: httpx.HTTPError | None = None
            try:
                response = await asyncio.wait_for(self._attempt(path, headers, action), self._attempt_seconds)
            except asyncio.TimeoutError:  # counts as a read timeout: retried, then a TisConnectionError
                error = httpx.ReadTimeout(f"no complete answer within {self._attempt_seconds:g} s")
            except httpx.HTTPError as exc:
                error = exc
            if response is not None and response.status_code < 400:
                return hook._json(hook._accept(response, action), action)
            delay = policy.next_delay(attempt, max(time.monotonic() - started, slept), error, response)
            if delay is None:
                break
            hook._log_retry(action, attempt, delay, error, response)
            await asyncio.sleep(delay)
            slept += delay
        if response is not None:
            raise hook._error(response, action)
        raise hook._unreachable(action, attempt, error) from error

    async def _attempt(self, path: str, headers: dict[str, str], action: str) -> httpx.Response:
        response = await self._client.send(
            self._client.build_request("GET", path, headers=headers), stream=True
        )
        await aread_answer(response, action)
        return response

    async def get_job(self, job_id: str) -> Job:
        return Job.from_json(await self._request(self._hook._job_path(job_id), f"get job {job_id}"))

    async def cancel_job(self, job_id: str) -> Job:
        path = self._hook._job_path(job_id) + "/cancel"
        return Job.from_json(await self._request(path, f"cancel job {job_id}"))
