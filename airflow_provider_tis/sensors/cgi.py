"""CgiJobSensor: wait until a CGI job is Done (succeed with its summary) or Error (fail with its logs).

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the trigger
are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.log_lines import LoggedLines
from airflow_provider_tis.hooks.defaults import CGI_CONN_ID
from airflow_provider_tis.sensors.base import RemoteJobSensor
from airflow_provider_tis.version_compat import AirflowSensorTimeout, PokeReturnValue, conf

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.cgi import CgiHook
    from airflow_provider_tis.triggers.cgi import CgiJobTrigger
    from airflow_provider_tis.version_compat import Context


class CgiJobSensor(RemoteJobSensor):
    """Wait for a CGI job to end.

    Succeeds on Done and returns the job's summary (XCom); fails with :class:`CgiJobFailedError` on Error,
    with the tail of the job's logs in the message, or when the job no longer exists. New log lines are
    logged as they appear. Temporary troubles (rate limits, gateways, lost connections) are waited out
    until the sensor's timeout.

    :param job_id: the CGI job id (templated), e.g. ``"{{ ti.xcom_pull('submit') }}"``.
    :param cgi_conn_id: Airflow connection id of type ``cgi``.
    :param mode: ``"reschedule"`` (default: frees the worker slot between pokes) or ``"poke"``.
    :param poke_interval: seconds between checks (default 60).
    :param deferrable: wait in the triggerer with :class:`CgiJobTrigger` instead.
    :param cancel_on_kill: delete the job when the task is killed (or times out while deferred): CGI has
        no cancel, and a job left behind uses the account's quota.
    """

    template_fields = ("job_id",)
    ui_color = "#fdebd0"
    cancel_what = "delete CGI job"

    def __init__(
        self,
        *,
        job_id: str,
        cgi_conn_id: str = CGI_CONN_ID,
        mode: str = "reschedule",
        poke_interval: float = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
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
        self.cgi_conn_id = cgi_conn_id
        self._lines = LoggedLines("cgi_logged_lines")

    @cached_property
    def hook(self) -> CgiHook:
        from airflow_provider_tis.hooks.cgi import CgiHook

        return CgiHook(self.cgi_conn_id)

    @property
    def job_ref(self) -> str:
        return self.job_id

    def make_trigger(self, end_time: float) -> CgiJobTrigger:
        from airflow_provider_tis.triggers.cgi import CgiJobTrigger

        return CgiJobTrigger(
            job_id=self.job_id,
            cgi_conn_id=self.cgi_conn_id,
            poll_interval=self.poke_interval,
            end_time=end_time,
            cancel_on_kill=self.cancel_on_kill,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_tis.core.errors import ProviderError, is_temporary
        from airflow_provider_tis.core.state import Outcome, outcome_of
        from airflow_provider_tis.hooks.cgi_models import CgiJobFailedError, CgiNotFoundError
        from airflow_provider_tis.triggers.cgi import error_message

        try:
            job = self.hook.get_job(self.job_id)
            logs = self.hook.get_logs(self.job_id)
        except CgiNotFoundError:
            raise CgiJobFailedError(
                f"CGI job {self.job_id} does not exist any more (deleted, or never existed for this account)."
            ) from None
        except ProviderError as exc:
            if not is_temporary(exc):
                raise
            self.log.warning("Could not read CGI job %s (%s); will look again.", self.job_id, exc)
            return False
        outcome = outcome_of(job.status)
        same_process = self.mode == "poke" or self.deferrable
        ended = outcome is not Outcome.WAIT
        for line in self._lines.new(logs, self.job_id, context, same_process=same_process, ended=ended):
            self.log.info("CGI job %s: %s", self.job_id, line)
        if outcome is Outcome.SUCCESS:
            self.log.info("CGI job %s is Done.", self.job_id)
            return PokeReturnValue(is_done=True, xcom_value=job.summary())
        if outcome is Outcome.FAILED:
            raise CgiJobFailedError(error_message(self.job_id, logs))
        self.log.info("CGI job %s is %s.", self.job_id, job.status.value)
        return False

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger; an event this sensor does not understand fails the task."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.cgi_models import CgiError, CgiJobFailedError

        token = self._load_token()
        event = validated_event(event, job_id=self.job_id, who="CgiJobSensor", error=CgiError, token=token)
        status, message = event["status"], event["message"]
        if status == "success" and isinstance(event.get("job"), dict):
            return event["job"]
        if status == "failed":
            raise CgiJobFailedError(message)
        if status == "timeout":
            self._cancel_if_asked()
            raise AirflowSensorTimeout(message)
        raise CgiError(message or f"CgiJobSensor got an incomplete trigger event {event!r}.")

    def cancel(self) -> None:
        """CGI has no cancel: the job is deleted (a job left behind uses the account's quota)."""
        self.hook.delete_job(self.job_id)
        self.log.info("Deleted CGI job %s.", self.job_id)
