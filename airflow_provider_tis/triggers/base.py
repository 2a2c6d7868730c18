"""The one polling loop every service's trigger runs: deadline, temporary troubles, one event, no secrets."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_tis.core.coalesce import poll_group
from airflow_provider_tis.core.errors import ApiError, ProviderError, is_temporary, scrub
from airflow_provider_tis.version_compat import BaseTrigger, TriggerEvent

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Hashable

    from airflow_provider_tis.core.coalesce import Lister

_MAX_MESSAGE_CHARS = 500


def scrubbed(value: Any, token: str | None) -> Any:
    """``value`` (an event payload) with the token and URLs' query strings removed from every string."""
    if isinstance(value, str):
        return scrub(value, token)
    if isinstance(value, dict):
        return {key: scrubbed(item, token) for key, item in value.items()}
    if isinstance(value, list):
        return [scrubbed(item, token) for item in value]
    return value


class JobPollingTrigger(BaseTrigger):
    """Poll a remote job until it ends or the deadline passes; yields exactly one event.

    Events are ``{"status": "success" | "failed" | "timeout" | "error", "job_id", ...}``. Temporary troubles
    (:func:`~airflow_provider_tis.core.errors.is_temporary`) are waited out until the deadline; a job that
    no longer exists (HTTP 404) is ``failed``; anything else is ``error``, never a silent death. Every string
    of the event is scrubbed of the token: it is stored in the database and logged by a worker that may not
    know the token yet.

    Between looks a trigger whose service lists many jobs in one answer (:meth:`lister`) waits with the
    other triggers of its connection in the loop (:mod:`~airflow_provider_tis.core.coalesce`): one listing
    per interval for all of them, and a look of its own only when the listing shows its job changed
    (:attr:`seen`, set by :meth:`look`). A listing that fails for a temporary reason is waited out with
    the group; any other failure sends the trigger back to looking on its own.

    Subclasses name the service and implement :meth:`hook`, :meth:`look` and :meth:`cancel`.

    :param job_id: the remote job's id.
    :param conn_id: the Airflow connection id.
    :param poll_interval: seconds between polls.
    :param end_time: absolute deadline (epoch seconds); then a ``timeout`` event is sent.
    :param cancel_on_kill: cancel the remote job when a user kills the task (Airflow >= 3.3).
    """

    service: ClassVar[str]
    #: The name the subclass's constructor gives the connection id (stored with each deferred task).
    conn_param: ClassVar[str] = "conn_id"
    #: Where the triggerer imports the class from (stored with each deferred task); default: its module.
    classpath: ClassVar[str | None] = None

    def __init__(
        self, job_id: str, conn_id: str, poll_interval: float, end_time: float, cancel_on_kill: bool = False
    ) -> None:
        super().__init__()
        self.job_id = job_id
        self.conn_id = conn_id
        self.poll_interval = float(poll_interval)
        self.end_time = float(end_time)
        self.cancel_on_kill = bool(cancel_on_kill)
        self.seen: Hashable = None  # the job's fingerprint at the last look (see lister)

    def serialize(self) -> tuple[str, dict[str, Any]]:
        path = self.classpath or f"{type(self).__module__}.{type(self).__qualname__}"
        return path, self.arguments()

    def arguments(self) -> dict[str, Any]:
        """The constructor's arguments, as :meth:`serialize` stores them."""
        return {
            "job_id": self.job_id,
            self.conn_param: self.conn_id,
            "poll_interval": self.poll_interval,
            "end_time": self.end_time,
            "cancel_on_kill": self.cancel_on_kill,
        }

    # -- what a service provides ----------------------------------------------------------------

    def hook(self) -> Any:
        """A new hook of the connection, with ``async_client()`` and a ``settings.token``."""
        raise NotImplementedError

    async def look(self, client: Any) -> tuple[TriggerEvent | None, str]:
        """Read the job once: the event if it ended, else None; and its state in words (for a timeout)."""
        raise NotImplementedError

    async def cancel(self, client: Any) -> str:
        """Cancel the job; returns what it became, in words."""
        raise NotImplementedError

    def lister(self) -> Lister | None:
        """Reads the fingerprints of many jobs in one request, the same function for every trigger of the
        class; None: the trigger polls on its own."""
        return None

    def watch_key(self) -> str | tuple[str, ...]:
        """What this trigger waits on in the lister's answer: its job's id, unless a subclass says otherwise
        (a tuple of ids, with :attr:`seen` the tuple of their fingerprints: woken when any of them changes)."""
        return self.job_id

    def gone_message(self) -> str:
        return f"{self.service} job {self.job_id} does not exist any more (deleted, or never existed for this user)."

    # -- the loop ---------------------------------------------------------------------------------

    def event(self, status: str, **payload: Any) -> TriggerEvent:
        return TriggerEvent({"status": status, "job_id": self.job_id, **payload})

    async def run(self) -> AsyncIterator[TriggerEvent]:
        hook = self.hook()
        try:
            async with await hook.async_client() as client:
                event = await self._wait(client)
        except ApiError as exc:
            gone = exc.status == 404
            event = (
                self.event("failed", message=self.gone_message())
                if gone
                else self.event("error", message=str(exc))
            )
        except ProviderError as exc:
            event = self.event("error", message=str(exc))
        except Exception as exc:  # never end without an event: the task would wait for one forever
            self.log.exception("%s for job %s failed unexpectedly.", type(self).__name__, self.job_id)
            said = str(exc)[:_MAX_MESSAGE_CHARS]
            event = self.event(
                "error",
                message=f"Waiting for {self.service} job {self.job_id} failed: {type(exc).__name__}: {said}",
            )
        settings = hook.__dict__.get("settings")  # loaded by async_client(), unless that failed
        yield TriggerEvent(scrubbed(event.payload, getattr(settings, "token", None)))

    async def _wait(self, client: Any) -> TriggerEvent:
        trouble: str | None = None  # why the server could not be read, since it last could
        state: str | None = None
        while True:
            looked, why = await self._poll(client)
            if looked is not None:
                event, state = looked
                if event is not None:
                    return event
            trouble = None if looked is not None else why or trouble
            remaining = self.end_time - time.time()
            if remaining <= 0:
                # a last look cut short by the deadline leaves the state seen before it standing
                why = (
                    f"still {state}"
                    if trouble is None and state is not None
                    else f"the server could not be read: {trouble or 'no answer in time'}"
                )
                return self.event(
                    "timeout", message=f"Gave up waiting for {self.service} job {self.job_id} ({why})."
                )
            await self._pause(client, remaining)

    async def _poll(self, client: Any) -> tuple[tuple[TriggerEvent | None, str] | None, str | None]:
        """Look within the time left (at least one poll interval, so a trigger that starts late still looks
        once). A temporary trouble gives None and why; a look cut short by the deadline gives None, None
        (the trouble before it says more); anything else raises."""
        seconds = max(self.end_time - time.time(), self.poll_interval)
        try:
            return await asyncio.wait_for(self.look(client), seconds), None
        except asyncio.TimeoutError:
            trouble, why = f"no answer within {seconds:.1f} s", None
        except ProviderError as exc:
            if not is_temporary(exc):
                raise
            trouble = why = str(exc)
        self.log.warning(
            "Could not read %s job %s (%s); will look again.", self.service, self.job_id, trouble
        )
        return None, why

    async def _pause(self, client: Any, remaining: float) -> None:
        """Until the next look: a poll interval, or (with a lister) until the job changes in the listing."""
        lister = self.lister()
        if lister is None:
            await asyncio.sleep(min(self.poll_interval, remaining))
            return
        group = poll_group(client, lister)
        deadline = time.time() + remaining
        while True:
            try:
                await asyncio.wait_for(
                    group.changed(self.watch_key(), self.seen, self.poll_interval), remaining
                )
                return
            except asyncio.TimeoutError:
                return
            except ProviderError as exc:
                if not is_temporary(exc):  # the job's own read says what it means for this job
                    self.log.warning(
                        "Could not list %s jobs (%s); looking at job %s alone.",
                        self.service,
                        exc,
                        self.job_id,
                    )
                    return
                self.log.warning("Could not list %s jobs (%s); will look again.", self.service, exc)
            remaining = deadline - time.time()
            if remaining <= 0:
                return

    async def on_kill(self) -> None:
        """Called by Airflow >= 3.3 when a user kills the deferred task: cancel the job if asked to."""
        if not self.cancel_on_kill:
            return
        try:
            async with await self.hook().async_client() as client:
                state = await asyncio.wait_for(self.cancel(client), timeout=60)
            self.log.info("Canceled %s job %s (now %s).", self.service, self.job_id, state)
        except Exception as exc:  # best effort: the task is being killed anyway
            self.log.warning("Could not cancel %s job %s: %s", self.service, self.job_id, exc)
