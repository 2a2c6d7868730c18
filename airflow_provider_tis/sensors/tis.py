"""JobStateSensor: wait until a TIS job ends; succeed with its summary or fail with the server's reasons.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the trigger
are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.log_lines import LoggedLines
from airflow_provider_tis.hooks.defaults import FAILED_SETTLE_SECONDS, TIS_CONN_ID
from airflow_provider_tis.sensors.base import RemoteJobSensor
from airflow_provider_tis.version_compat import AirflowSensorTimeout, PokeReturnValue, conf

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.models import Job
    from airflow_provider_tis.hooks.tis import TisHook
    from airflow_provider_tis.version_compat import Context

_RESTARTED_KEY = "tis_restarted_job"  # task_state_store key (Airflow >= 3.3): the job restarted in this try


class JobStateSensor(RemoteJobSensor):
    """Wait for a TIS job to reach a terminal state.

    Succeeds on SUCCESS and SUCCESS_NOTIFIED and returns the job summary (state, times, output files)
    as XCom. Fails with :class:`TisJobFailedError` on FAILED, CANCELED, DEAD, RETIRED, FAIL_NOTIFIED or a
    deleted job, naming the state and the server's error messages.

    :param job_id: the TIS job id (templated), e.g. ``"{{ ti.xcom_pull('submit') }}"``.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param mode: ``"reschedule"`` (default: frees the worker slot between pokes) or ``"poke"``.
    :param poke_interval: seconds between checks (default 60; imputation takes hours).
    :param deferrable: wait in the triggerer with :class:`JobStateTrigger` instead.
    :param cancel_on_kill: cancel the remote job when the task is killed (or times out while deferred).
    :param failed_settle_seconds: re-read a FAILED job once after this long, since a job being
        canceled shows FAILED briefly before CANCELED.
    :param restart_dead: restart a job the server lost in a restart of its own (state DEAD) and keep
        waiting, at most once per task try. Without it a DEAD job fails the task.
    """

    template_fields = ("job_id",)
    ui_color = "#e8f4f8"
    cancel_what = "cancel TIS job"

    def __init__(
        self,
        *,
        job_id: str,
        tis_conn_id: str = TIS_CONN_ID,
        mode: str = "reschedule",
        poke_interval: float = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
        failed_settle_seconds: float = FAILED_SETTLE_SECONDS,
        restart_dead: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            mode=mode,
            poke_interval=poke_interval,
            deferrable=deferrable,
            cancel_on_kill=cancel_on_kill,
            **kwargs,
        )
        self.job_id = job_id
        self.tis_conn_id = tis_conn_id
        self.failed_settle_seconds = failed_settle_seconds
        self.restart_dead = restart_dead
        self._restarted = False  # remembered across pokes in poke mode; see _remember_restart
        self._messages = LoggedLines("tis_logged_messages")

    @cached_property
    def hook(self) -> TisHook:
        from airflow_provider_tis.hooks.tis import TisHook

        return TisHook(self.tis_conn_id)

    @property
    def job_ref(self) -> str:
        return str(self.job_id)

    def execute(self, context: Context) -> Any:
        remembers = self.mode == "poke" or self.deferrable or "task_state_store" in context
        if self.restart_dead and not remembers:
            from airflow_provider_tis.hooks.tis_errors import TisConfigError

            raise TisConfigError(
                "restart_dead=True in reschedule mode needs Airflow 3.3 or later (to remember the "
                "restart between pokes). Use mode='poke' or deferrable=True instead."
            )
        if not self.deferrable:
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        self._defer()

    def _defer(self) -> None:
        from airflow_provider_tis.triggers.tis import JobStateTrigger

        self.defer(
            trigger=JobStateTrigger(
                job_id=self.job_id,
                tis_conn_id=self.tis_conn_id,
                poll_interval=self.poke_interval,
                end_time=time.time() + self.timeout,
                failed_settle_seconds=self.failed_settle_seconds,
                cancel_on_kill=self.cancel_on_kill,
            ),
            method_name="execute_complete",
            timeout=None,  # the trigger enforces the deadline, so execute_complete always runs
            kwargs={"restarted": self._restarted},
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_tis.hooks.models import JobState
        from airflow_provider_tis.hooks.outcome import (
            Outcome,
            TisJobFailedError,
            failure_message,
            job_outcome,
            job_summary,
        )

        job = self._read_job()
        if job is None:
            return False
        self._log_new_messages(job, context)
        outcome = job_outcome(job)
        if outcome is Outcome.FAILED and job.state is JobState.FAILED:
            time.sleep(self.failed_settle_seconds)  # a cancel shows FAILED before CANCELED
            job = self._read_job()
            if job is None:
                return False
            outcome = job_outcome(job)
        if outcome is Outcome.SUCCESS:
            self.log.info(
                "TIS job %s finished: %s with %d output files.", job.id, job.state.name, len(job.files)
            )
            return PokeReturnValue(is_done=True, xcom_value=job_summary(job))
        if outcome is Outcome.FAILED and job.state is JobState.DEAD and self._restart(context):
            return False
        if outcome is Outcome.FAILED:
            raise TisJobFailedError(failure_message(job))
        if job.state is JobState.WAITING:
            self.log.info("TIS job %s is waiting in the queue (position %d).", job.id, job.position_in_queue)
        else:
            self.log.info("TIS job %s is %s.", job.id, job.state.name)
        return False

    def _restart(self, context: Context) -> bool:
        """Restart a DEAD job if asked to and not done yet in this task try; True if restarted."""
        if not self.restart_dead:
            return False
        store = context.get("task_state_store")  # Airflow >= 3.3: survives reschedules
        if self._restarted or (store is not None and store.get(_RESTARTED_KEY) == self.job_id):
            self.log.error(
                "TIS job %s is DEAD again after its restart; not restarting it twice.", self.job_id
            )
            return False
        self.hook.restart_job(self.job_id)
        self._restarted = True
        if store is not None:
            store.set(_RESTARTED_KEY, self.job_id)
        self.log.warning(
            "TIS job %s was lost in a server restart (DEAD); restarted it (restart_dead=True) and waiting again.",
            self.job_id,
        )
        return True

    def _read_job(self) -> Job | None:
        """The job, or None after a temporary trouble (the job goes on meanwhile; the sensor's timeout
        bounds the wait)."""
        from airflow_provider_tis.hooks.outcome import TisJobFailedError, deleted_message
        from airflow_provider_tis.hooks.tis_errors import TisError, TisNotFoundError, is_temporary

        try:
            return self.hook.get_job(self.job_id)
        except TisNotFoundError:
            raise TisJobFailedError(deleted_message(self.job_id)) from None
        except TisError as exc:
            if not is_temporary(exc):
                raise
            self.log.warning("Could not read TIS job %s (%s); will look again.", self.job_id, exc)
            return None

    def _log_new_messages(self, job: Job, context: Context) -> None:
        """Log the step messages this try has not logged yet (:class:`LoggedLines` says which)."""
        messages = [(step.name, m.message) for step in job.steps for m in step.messages]
        same_process = self.mode == "poke" or self.deferrable
        for step, message in self._messages.new(
            messages, job.id, context, same_process=same_process, ended=job.state.is_terminal
        ):
            self.log.info("TIS job %s, %s: %s", job.id, step, message)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, restarted: bool = False
    ) -> Any:
        """Resume after the trigger; an event this sensor does not understand fails the task."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.models import JobState
        from airflow_provider_tis.hooks.outcome import TisJobFailedError
        from airflow_provider_tis.hooks.tis_errors import TisError

        self._restarted = restarted
        token = self._load_token()
        event = validated_event(event, job_id=self.job_id, who="JobStateSensor", error=TisError, token=token)
        status, message = event["status"], event["message"]
        if status == "success" and isinstance(event.get("job"), dict):
            return event["job"]
        if status == "failed" and event.get("state") == JobState.DEAD.name and self._restart(context):
            self._defer()  # raises TaskDeferred: wait for the restarted job
        if status == "failed":
            raise TisJobFailedError(message)
        if status == "timeout":
            self._cancel_if_asked()
            raise AirflowSensorTimeout(message)
        raise TisError(message or f"JobStateSensor got an incomplete trigger event {event!r}.")

    def cancel(self) -> None:
        job = self.hook.cancel_job(self.job_id)
        self.log.info("Canceled TIS job %s (now %s).", self.job_id, job.state.name)
