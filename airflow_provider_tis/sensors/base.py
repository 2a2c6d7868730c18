"""What the job sensors of the remote services share: wait by poking or, after one look, in the triggerer;
read the connection in the worker before handling the trigger's event; cancel the job on kill if asked.

A DAG file that imports a sensor is parsed every 30 s: this module imports no hook, model or trigger.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.version_compat import BaseSensorOperator, PokeReturnValue

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.base import ServiceHook
    from airflow_provider_tis.version_compat import BaseTrigger, Context


class RemoteJobSensor(BaseSensorOperator):
    """A sensor of one job of a remote service; subclasses poke, make the trigger and cancel the job.

    :param deferrable: wait in the triggerer (the trigger of :meth:`make_trigger`) instead.
    :param cancel_on_kill: cancel the job when the task is killed (or times out while deferred).
    """

    #: What the failure to cancel is called in the warning, e.g. "abort Seven Bridges task".
    cancel_what = "cancel the job"

    def __init__(self, *, deferrable: bool, cancel_on_kill: bool, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.deferrable = deferrable
        self.cancel_on_kill = cancel_on_kill

    @property
    def hook(self) -> ServiceHook:
        raise NotImplementedError

    @property
    def job_ref(self) -> str:
        """The job's id, as the service names it in messages."""
        raise NotImplementedError

    def make_trigger(self, end_time: float) -> BaseTrigger:
        """The trigger that waits for the job until ``end_time`` (epoch seconds)."""
        raise NotImplementedError

    def cancel(self) -> None:
        """Cancel the job (and log that it was); called only when ``cancel_on_kill`` asks for it."""
        raise NotImplementedError

    def execute(self, context: Context) -> Any:
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)  # a job that ended already needs no trigger
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self.defer(
            trigger=self.make_trigger(time.time() + self.timeout),
            method_name="execute_complete",
            timeout=None,  # the trigger enforces the deadline, so execute_complete always runs
        )

    def _load_token(self) -> str | None:
        """Read the connection, which registers its token with the secret masker in this worker."""
        try:
            return str(self.hook.settings.token)
        except Exception:  # the event is still handled; a broken connection shows in any later call
            return None

    def on_kill(self) -> None:
        self._cancel_if_asked()

    def _cancel_if_asked(self) -> None:
        if not self.cancel_on_kill:
            return
        try:
            self.cancel()
        except Exception as exc:  # best effort: never mask the reason the task is ending
            self.log.warning("Could not %s %s: %s", self.cancel_what, self.job_ref, exc)
