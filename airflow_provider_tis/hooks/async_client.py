"""The trigger's asynchronous view of the API: one httpx client per trigger run, same rules as the hook."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx

from airflow_provider_tis.hooks.connection import USER_AGENT
from airflow_provider_tis.hooks.errors import error_from_response
from airflow_provider_tis.hooks.models import Job

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.tis import TisHook


class AsyncTisClient:
    """Use as ``async with await hook.async_client() as client:``.

    Requests carry the token and never follow redirects; idempotent calls retry with the hook's
    :class:`RetryPolicy`, sleeping with ``asyncio.sleep`` so the triggerer's event loop keeps running.
    """

    def __init__(self, hook: TisHook) -> None:
        self._hook = hook
        settings = hook.settings
        self._client = httpx.AsyncClient(
            base_url=settings.base_url,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            verify=settings.verify,
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
                response = await self._client.get(path, headers=headers)
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
            raise error_from_response(response, conn_id=hook.tis_conn_id, action=action)  # type: ignore[arg-type]
        raise hook._unreachable(action, attempt, error) from error

    async def get_job(self, job_id: str) -> Job:
        return Job.from_json(await self._request(self._hook._job_path(job_id), f"get job {job_id}"))

    async def cancel_job(self, job_id: str) -> Job:
        path = self._hook._job_path(job_id) + "/cancel"
        return Job.from_json(await self._request(path, f"cancel job {job_id}"))
