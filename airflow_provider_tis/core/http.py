"""HTTP for every service: one request/retry loop, driven by a sync (requests) and an async (httpx) client.

:class:`Attempts` decides everything (whether to retry, how long to wait, what to raise); the two clients
only send and sleep. Both send the service's auth headers to its own host only and never follow a redirect
with them, read answers within a size cap and a total deadline (:mod:`.answers`), and turn failures into the
service's own exceptions (:class:`~airflow_provider_tis.core.errors.ErrorKinds`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_tis import __version__
from airflow_provider_tis.core.answers import ACCEPT_ENCODING, aread_answer, parse_json, read_answer
from airflow_provider_tis.core.errors import scrub
from airflow_provider_tis.core.retry import RetryPolicy, retry_after_seconds

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

    import httpx
    import requests
    from requests import Response as Response  # re-exported for callers' type hints
    from requests import Session as Session

    from airflow_provider_tis.core.errors import ApiError, ErrorKinds, NetworkError
    from airflow_provider_tis.core.ratelimit import RateBudget

USER_AGENT = f"airflow-provider-tis/{__version__}"
_Client = TypeVar("_Client", bound="AsyncHttpClient")


@dataclass(frozen=True)
class Endpoint:
    """Where and how a service is called.

    :param base_url: the server root; paths are appended to it.
    :param auth: headers that authenticate (sent on API calls only, never across a redirect).
    :param errors: the service's exception classes and its error mapping.
    :param secret: what must never appear in a message (the token), scrubbed from server text.
    :param verify: TLS verification: True, False or a CA bundle path.
    :param timeout: read timeout of API calls, in seconds; an answer must also be complete within it.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param retry_policy: backoff of idempotent calls.
    :param rate_budget: the server's request budget for these credentials (:mod:`.ratelimit`): every
        answer is recorded in it, and while it says none are left a request waits for its reset (at most
        ``retry_policy.max_delay``). None: the service reports no budget.
    :param maintenance: recognises an answer that means "down for maintenance" (a service's own body);
        such answers are waited out with ``retry_policy.maintenance_delay`` between tries, for at most
        ``retry_policy.max_maintenance`` in all. None: maintenance is an ordinary temporary failure.
    :param resend_refused: the service refuses a rate-limited (429) or maintenance answer before doing
        any work, so even a call sent only once (a creation) is sent again after one.
    """

    base_url: str
    auth: Mapping[str, str] = field(repr=False)
    errors: ErrorKinds
    secret: str | None = field(default=None, repr=False)
    verify: bool | str = True
    timeout: float = 60.0
    connect_timeout: float = 10.0
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    rate_budget: RateBudget | None = field(default=None, repr=False, compare=False)
    maintenance: Callable[[Any], bool] | None = field(default=None, repr=False, compare=False)
    resend_refused: bool = False

    def headers(self, extra: Mapping[str, str] | None = None) -> dict[str, str]:
        return {
            **self.auth,
            "Accept": "application/json",
            "Accept-Encoding": ACCEPT_ENCODING,  # what answers.py unpacks itself
            **(extra or {}),
        }


class Attempts:
    """The one retry loop's decisions for one call; the clients only send what it says and sleep.

    :param retry: False for calls that must never be sent twice (a submission).
    """

    def __init__(self, endpoint: Endpoint, action: str, log: Any, *, retry: bool = True) -> None:
        self.endpoint, self.action, self.log, self.retry = endpoint, action, log, retry
        self.attempt, self.slept, self.started = 0, 0.0, time.monotonic()
        self.maintenance_tries, self.maintenance_waited = 0, 0.0  # not counted as attempts, nor elapsed
        self.error: BaseException | None = None
        self.response: Any = None
        self._reserved = False

    def pause(self) -> float:
        """Take the next request's place in the server's budget (if it keeps one); the seconds to hold it
        first, when the budget is used up until its reset. Give the place back with :meth:`answered`."""
        budget = self.endpoint.rate_budget
        if budget is None:
            return 0.0
        self._reserved = True
        seconds = budget.reserve(self.endpoint.retry_policy.max_delay)
        if seconds > 0:
            self.log.warning(
                "No requests left in the %s rate limit; waiting %.1f s for its reset before trying to %s.",
                self.endpoint.errors.service,
                seconds,
                self.action,
            )
        return seconds

    def answered(self, response: Any) -> None:
        """Give back the request's place in the budget, recording what its answer (if any) reports; once
        per request (later calls do nothing)."""
        if self._reserved and self.endpoint.rate_budget is not None:
            self._reserved = False
            self.endpoint.rate_budget.release(response)

    def _in_maintenance(self, response: Any) -> bool:
        check = self.endpoint.maintenance
        return response is not None and check is not None and check(response)

    def failed(self, error: BaseException | None, response: Any) -> float | None:
        """Record a failed attempt; the seconds to wait before the next one, or None to give up."""
        self.attempt += 1
        self.error, self.response = error, response
        maintenance = self._in_maintenance(response)
        refused = (
            self.endpoint.resend_refused
            and response is not None
            and (maintenance or response.status_code == 429)
        )
        if not (self.retry or refused):
            return None
        policy = self.endpoint.retry_policy
        if maintenance:
            return self._wait_out_maintenance(policy, response)
        elapsed = max(time.monotonic() - self.started - self.maintenance_waited, self.slept)
        delay = policy.next_delay(self.attempt - self.maintenance_tries, elapsed, error, response)
        if delay is not None:
            reason = f"HTTP {response.status_code}" if response is not None else type(error).__name__
            self.log.warning(
                "Could not %s (%s); retrying in %.1f s (attempt %d of %d).",
                self.action,
                reason,
                delay,
                self.attempt + 1,
                policy.max_attempts,
            )
            self.slept += delay
        return delay

    def _wait_out_maintenance(self, policy: RetryPolicy, response: Any) -> float | None:
        delay = policy.maintenance_wait(self.maintenance_waited, retry_after_seconds(response))
        if delay is not None:
            self.maintenance_tries += 1
            self.maintenance_waited += delay
            self.log.warning(
                "%s is down for maintenance (could not %s); trying again in %.0f s (waited %.0f of at most "
                "%.0f s).",
                self.endpoint.errors.service,
                self.action,
                delay,
                self.maintenance_waited - delay,
                policy.max_maintenance,
            )
        return delay

    def give_up(self) -> ApiError | NetworkError:
        """The exception for the last failure: the service's error for an answer, else unreachable."""
        errors = self.endpoint.errors
        if self.response is not None:
            return errors.from_response(self.response, self.action)
        tries = f" after {self.attempt} attempts" if self.attempt > 1 else ""
        said = scrub(str(self.error), self.endpoint.secret)
        return errors.network(
            f"Could not reach {errors.service} at {self.endpoint.base_url} to {self.action}{tries}: "
            f"{type(self.error).__name__}: {said}"
        )

    def accept(self, response: Any) -> Any:
        """A 2xx answer passes; a redirect of an API call is refused (it would carry the token away)."""
        if response.status_code >= 300:
            errors = self.endpoint.errors
            raise errors.response(
                f"{errors.service} could not {self.action}: the server answered with a redirect (HTTP "
                f"{response.status_code}). Check the host of the connection."
            )
        return response


class HttpClient:
    """The synchronous client (requests): API calls and file streams.

    :param endpoint: the service's endpoint.
    :param log: where retries are logged (the hook's logger).
    """

    def __init__(self, endpoint: Endpoint, log: Any) -> None:
        self.endpoint = endpoint
        self.log = log

    @cached_property
    def session(self) -> requests.Session:
        """A pooled session. It carries no token: only :meth:`request` adds it, per request."""
        import requests  # where it is used: DAG files never need it (see also transient_errors)

        session = requests.Session()
        adapter = requests.adapters.HTTPAdapter(pool_maxsize=32)  # parallel downloads share the session
        session.mount("https://", adapter)
        session.mount("http://", adapter)
        session.headers["User-Agent"] = USER_AGENT
        session.verify = self.endpoint.verify
        return session

    def request(
        self,
        method: str,
        path: str,
        *,
        action: str,
        retry: bool = True,
        read_timeout: float | None = None,
        headers: Mapping[str, str] | None = None,
        **kwargs: Any,
    ) -> requests.Response:
        """Send one API call with the auth headers; retried when ``retry`` and the failure is temporary.

        Redirects are not followed. The answer is read whole (capped) within the read timeout.
        """
        import requests

        endpoint = self.endpoint
        timeout = (endpoint.connect_timeout, read_timeout or endpoint.timeout)
        attempts = Attempts(endpoint, action, self.log, retry=retry)
        while True:
            response: requests.Response | None = None
            error: requests.RequestException | None = None
            try:
                if (pause := attempts.pause()) > 0:
                    endpoint.retry_policy.sleep(pause)
                answer = self.session.request(
                    method,
                    endpoint.base_url + path,
                    headers=endpoint.headers(headers),
                    timeout=timeout,
                    allow_redirects=False,
                    stream=True,
                    verify=endpoint.verify,  # per request: REQUESTS_CA_BUNDLE would override the session's
                    **kwargs,
                )
                attempts.answered(answer)
                read_answer(answer, action, timeout[1], endpoint.errors)
                response = answer
            except requests.RequestException as exc:
                error = exc
            finally:
                attempts.answered(None)  # a request that broke off gives its place back too
            if response is not None and response.status_code < 400:
                return attempts.accept(response)
            delay = attempts.failed(error, response)
            if delay is None:
                raise attempts.give_up() from None  # the library's error is in the message, scrubbed
            endpoint.retry_policy.sleep(delay)

    def json(self, response: requests.Response, action: str) -> Any:
        return parse_json(response, action, self.endpoint.secret, self.endpoint.errors)

    def get_json(self, path: str, action: str, **kwargs: Any) -> Any:
        return self.json(self.request("GET", path, action=action, **kwargs), action)

    def stream(self, url: str, *, start: int, action: str, authenticated: bool = False) -> requests.Response:
        """Open a file download from byte ``start``; never retried here (a retry may spend a download).

        Unauthenticated streams follow redirects (to a storage); authenticated ones never do. An error
        answer's body is read, capped, so the caller can map it.
        """
        import requests

        headers = {"Range": f"bytes={start}-"} if start else {}
        if authenticated:
            headers = {**self.endpoint.auth, **headers}
        try:
            response = self.session.get(
                url,
                headers=headers,
                stream=True,
                timeout=(self.endpoint.connect_timeout, self.endpoint.timeout),
                allow_redirects=not authenticated,
                verify=self.endpoint.verify,
            )
        except requests.RequestException as exc:
            # from None: the library error's text holds the (presigned) link with its signature
            raise self.endpoint.errors.network(f"Could not {action}: {type(exc).__name__}") from None
        if response.status_code >= 300:
            with response:
                try:  # the error body, capped: a small gzip page can unpack to hundreds of MB
                    read_answer(response, action, self.endpoint.timeout, self.endpoint.errors)
                except requests.RequestException:
                    response._content = b""  # the status says enough
        return response


_TLS_LOCK = threading.Lock()
#: Connections the shared asynchronous client of one connection keeps to its server.
ASYNC_CONNECTIONS = 10


@cache
def _tls_context(verify: bool | str) -> Any:
    import anyio._backends._asyncio  # noqa: F401  httpx imports it at the first request, inside the loop
    import httpx

    return httpx.create_ssl_context(verify=verify)


def tls_context(verify: bool | str) -> Any:
    """The TLS context of a ``verify`` setting (True, False or a CA bundle's path), built once per process
    by one thread: building one reads the CA bundle, and fifty triggers building theirs side by side
    starve the event loop of the interpreter lock for a tenth of a second."""
    with _TLS_LOCK:
        return _tls_context(verify)


class AsyncHttpClient:
    """The asynchronous client (httpx) for triggers: the same loop, sleeping with ``asyncio.sleep``.

    Use as ``async with await AsyncHttpClient.open(endpoint, log) as client:`` inside an event loop. Each
    attempt, answer included, must end within the connect and read timeouts together: a server that
    trickles bytes, each within the read timeout, cannot hold a call forever.
    """

    def __init__(self, endpoint: Endpoint, log: Any) -> None:
        import httpx  # where it is used: DAG files never need it

        self.endpoint = endpoint
        self.log = log
        self._attempt_seconds = endpoint.connect_timeout + endpoint.timeout
        self._client = httpx.AsyncClient(
            base_url=endpoint.base_url,
            headers={"User-Agent": USER_AGENT},
            verify=tls_context(endpoint.verify),
            timeout=httpx.Timeout(endpoint.timeout, connect=endpoint.connect_timeout),
            # shared by every trigger of a connection: a few connections, so that hundreds of polls queue
            # briefly instead of opening a socket each and their answers arriving in one burst on the loop
            limits=httpx.Limits(
                max_connections=ASYNC_CONNECTIONS, max_keepalive_connections=ASYNC_CONNECTIONS
            ),
            follow_redirects=False,
        )

    @classmethod
    async def open(cls: type[_Client], endpoint: Endpoint, log: Any) -> _Client:
        """A new client, built off the event loop: the first one of a process imports httpx and builds its
        TLS context (0.1-0.3 s), which would stall every other trigger of the triggerer meanwhile."""
        return await asyncio.to_thread(cls, endpoint, log)

    async def __aenter__(self: _Client) -> _Client:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.aclose()

    async def request(
        self, method: str, path: str, *, action: str, retry: bool = True, **kwargs: Any
    ) -> httpx.Response:
        """Send one API call; ``kwargs`` (``json``, ``params``) go to ``httpx.AsyncClient.build_request``."""
        import httpx

        attempts = Attempts(self.endpoint, action, self.log, retry=retry)
        while True:
            response: httpx.Response | None = None
            error: BaseException | None = None
            try:
                if (pause := attempts.pause()) > 0:
                    await asyncio.sleep(pause)
                response = await asyncio.wait_for(
                    self._attempt(method, path, action, **kwargs), self._attempt_seconds
                )
                attempts.answered(response)
            except asyncio.TimeoutError:  # counts as a read timeout: retried, then a network error
                error = httpx.ReadTimeout(f"no complete answer within {self._attempt_seconds:g} s")
            except httpx.HTTPError as exc:
                error = exc
            finally:
                attempts.answered(None)
            if response is not None and response.status_code < 400:
                return attempts.accept(response)
            delay = attempts.failed(error, response)
            if delay is None:
                raise attempts.give_up() from None
            await asyncio.sleep(delay)

    async def get_json(self, path: str, action: str) -> Any:
        response = await self.request("GET", path, action=action)
        return parse_json(response, action, self.endpoint.secret, self.endpoint.errors)

    async def _attempt(self, method: str, path: str, action: str, **kwargs: Any) -> httpx.Response:
        request = self._client.build_request(method, path, headers=self.endpoint.headers(), **kwargs)
        response = await self._client.send(request, stream=True)
        await aread_answer(response, action, self.endpoint.errors)
        return response
