"""SevenBridgesTaskSensor: wait until a Seven Bridges task is COMPLETED (succeed with its outputs) or
FAILED / ABORTED (fail with the platform's message and the failed jobs).

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the trigger
are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import SEVENBRIDGES_CONN_ID
from airflow_provider_tis.sensors.base import RemoteJobSensor
from airflow_provider_tis.version_compat import AirflowSensorTimeout, PokeReturnValue, conf

if TYPE_CHECKING:
    from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
    from airflow_provider_tis.hooks.sevenbridges_models import SbgTask
    from airflow_provider_tis.triggers.sevenbridges import SevenBridgesTaskTrigger
    from airflow_provider_tis.version_compat import Context

#: The task state store key of the progress last logged (Airflow >= 3.3 keeps it across reschedules).
PROGRESS_KEY = "sevenbridges_progress"


class SevenBridgesTaskSensor(RemoteJobSensor):
    """Wait for a Seven Bridges task to end.

    Succeeds on COMPLETED and returns the task's summary with its ``outputs`` (XCom). Fails with
    :class:`~airflow_provider_tis.hooks.sevenbridges_errors.SbgTaskFailedError` on FAILED or ABORTED, with
    ``execution_status.message`` and the failed jobs of the execution details in the message, or when the
    task no longer exists. A batch task is COMPLETED even when some of its children failed [I]: then the
    sensor fails and names them. Progress (``steps_completed`` of ``steps_total``) is logged when it
    changes. Temporary troubles (rate limit, maintenance, gateways) are waited out until the timeout.

    One token has 1,000 requests per 5 minutes, shared by every DAG and worker using it (§1.3): a poke
    costs one request, so the default interval (60 s) lets about 200 sensors of one token wait at once.
    Deferrable sensors cost far less: the triggers of one triggerer read up to 100 tasks per request.

    :param sbg_task_id: the Seven Bridges task id (templated), e.g. ``"{{ ti.xcom_pull('run') }}"``.
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    :param mode: ``"reschedule"`` (default: frees the worker slot between pokes) or ``"poke"``.
    :param poke_interval: seconds between checks (default 60, see above).
    :param deferrable: wait in the triggerer with :class:`SevenBridgesTaskTrigger` instead.
    :param cancel_on_kill: abort the task when the Airflow task is killed (or times out while deferred).
    """

    template_fields = ("sbg_task_id",)
    ui_color = "#d6eaf8"
    cancel_what = "abort Seven Bridges task"

    def __init__(
        self,
        *,
        sbg_task_id: str,
        sevenbridges_conn_id: str = SEVENBRIDGES_CONN_ID,
        mode: str = "reschedule",
        poke_interval: float = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        _check_interval(poke_interval)
        super().__init__(
            mode=mode,
            poke_interval=poke_interval,
            deferrable=deferrable,
            cancel_on_kill=cancel_on_kill,
            **kwargs,
        )
        self.sbg_task_id = sbg_task_id
        self.sevenbridges_conn_id = sevenbridges_conn_id
        self._said = ""  # the progress last logged in this process

    @cached_property
    def hook(self) -> SevenBridgesHook:
        from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

        return SevenBridgesHook(self.sevenbridges_conn_id)

    @property
    def job_ref(self) -> str:
        return self.sbg_task_id

    def make_trigger(self, end_time: float) -> SevenBridgesTaskTrigger:
        from airflow_provider_tis.triggers.sevenbridges import SevenBridgesTaskTrigger

        return SevenBridgesTaskTrigger(
            task_id=self.sbg_task_id,
            sevenbridges_conn_id=self.sevenbridges_conn_id,
            poll_interval=self.poke_interval,
            end_time=end_time,
            cancel_on_kill=self.cancel_on_kill,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_tis.core.errors import ProviderError, is_temporary
        from airflow_provider_tis.core.state import Outcome, outcome_of
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgNotFoundError, SbgTaskFailedError
        from airflow_provider_tis.triggers.sevenbridges import progress_of

        try:
            task = self.hook.get_task(self.sbg_task_id)
        except SbgNotFoundError:
            raise SbgTaskFailedError(
                f"Seven Bridges task {self.sbg_task_id} does not exist any more (deleted, or the token's user "
                "may not see it)."
            ) from None
        except ProviderError as exc:
            if not is_temporary(exc):
                raise
            self.log.warning(
                "Could not read Seven Bridges task %s (%s); will look again.", self.sbg_task_id, exc
            )
            return False
        self._log_progress(progress_of(task), context)
        outcome = outcome_of(task.status)
        if outcome is Outcome.WAIT:
            return False
        if outcome is Outcome.SUCCESS:
            return PokeReturnValue(is_done=True, xcom_value=self._completed(task))
        raise SbgTaskFailedError(self._failure(task))

    def _log_progress(self, said: str, context: Context) -> None:
        """Log the status and progress when they changed since the last poke of this try. A rescheduled
        poke runs in a new process: it compares with the task state store (Airflow >= 3.3); without one it
        cannot know, and logs every poke."""
        same_process = self.mode == "poke" or self.deferrable
        store = None if same_process else context.get("task_state_store")
        if same_process:
            last = self._said
        elif store is not None:
            saved = store.get(PROGRESS_KEY)
            ours = isinstance(saved, dict) and saved.get("id") == self.sbg_task_id
            last = str(saved.get("said", "")) if ours and isinstance(saved, dict) else ""
        else:
            last = ""
        if said == last:
            return
        self.log.info("Seven Bridges task %s is %s.", self.sbg_task_id, said)
        self._said = said
        if store is not None:
            store.set(PROGRESS_KEY, {"id": self.sbg_task_id, "said": said})

    def _failure(self, task: SbgTask) -> str:
        """The failure message of a FAILED or ABORTED task (FAILED: with the failed jobs)."""
        from airflow_provider_tis.core.errors import ProviderError
        from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus
        from airflow_provider_tis.triggers.sevenbridges import failure_message

        details = None
        if task.status is SevenBridgesTaskStatus.FAILED:
            try:
                details = self.hook.execution_details(task.id)
            except ProviderError as exc:  # the task failed either way: say so, without the details
                self.log.warning("Could not read the execution details of task %s: %s", task.id, exc)
        return failure_message(task, details)

    def _completed(self, task: SbgTask) -> dict[str, Any]:
        """The XCom of a COMPLETED task; a batch task fails if any of its children did not complete."""
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgTaskFailedError
        from airflow_provider_tis.triggers.sevenbridges import task_result

        result = task_result(task)
        if task.batch:
            result = {**result, **self._children(task.id)}
        if result.get("failed_children"):
            raise SbgTaskFailedError(
                f"Seven Bridges batch task {task.id} ended COMPLETED, but {len(result['failed_children'])} of "
                f"its {len(result['children'])} children did not: "
                + "; ".join(f"{c['id']} ({c['name']}) {c['status']}" for c in result["failed_children"])
                + ". Open each child's page for its failed jobs."
            )
        return result

    def _children(self, task_id: str) -> dict[str, Any]:
        from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus

        children = self.hook.list_batch_children(task_id)
        for child in children:
            self.log.info("Batch child %s (%s): %s.", child.id, child.name, child.status.value)
        summaries = [{**c.summary(), "outputs": c.outputs} for c in children]
        failed = [s for s in summaries if s["status"] != SevenBridgesTaskStatus.COMPLETED.value]
        return {"children": summaries, "failed_children": failed}

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger; an event this sensor does not understand fails the task."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgError, SbgTaskFailedError

        token = self._load_token()
        event = validated_event(
            event, job_id=self.sbg_task_id, who="SevenBridgesTaskSensor", error=SbgError, token=token
        )
        status, message = event["status"], event["message"]
        result = event.get("task")
        if status == "success" and isinstance(result, dict) and result.get("status") == "COMPLETED":
            if result.get("batch"):  # the children are read here, in the worker
                return self._completed(self.hook.get_task(self.sbg_task_id))
            return result
        if status == "failed":
            raise SbgTaskFailedError(message)
        if status == "timeout":
            self._cancel_if_asked()
            raise AirflowSensorTimeout(message)
        raise SbgError(message or f"SevenBridgesTaskSensor got an incomplete trigger event {event!r}.")

    def cancel(self) -> None:
        task = self.hook.abort_task(self.sbg_task_id)
        self.log.info("Aborted Seven Bridges task %s (now %s).", self.sbg_task_id, task.status.value)


def _check_interval(poke_interval: Any) -> None:
    """One token has 1,000 requests per 5 minutes that every DAG using it shares (§1.3)."""
    from airflow_provider_tis.core.inputs import positive_seconds

    why = (
        "One token has 1,000 requests per 5 minutes for every DAG that uses it: give 30 or more (default 60)."
    )
    positive_seconds(poke_interval, "poke_interval", _config_error, why)


def _config_error(message: str) -> Exception:
    from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

    return SbgConfigError(message)
