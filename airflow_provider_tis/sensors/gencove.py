"""GencoveSampleSensor: wait until samples of a Gencove project have ended their analysis (succeed with the
ids of those that succeeded), optionally restoring the archived ones and waiting for them too.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the trigger
are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import GENCOVE_CONN_ID
from airflow_provider_tis.sensors.base import RemoteJobSensor
from airflow_provider_tis.version_compat import AirflowSensorTimeout, PokeReturnValue, conf

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.gencove import GencoveHook
    from airflow_provider_tis.hooks.gencove_models import GencoveSample
    from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger
    from airflow_provider_tis.version_compat import Context

#: Task state store keys (Airflow >= 3.3 keeps them across reschedules): the states last logged, and the
#: samples whose restore this try requested.
STATUS_KEY = "gencove_sample_states"
RESTORE_KEY = "gencove_restore_requested"


class GencoveSampleSensor(RemoteJobSensor):
    """Wait for samples of a Gencove project to end their analysis.

    A poke reads the project's sample list once (one request per 200 samples, never one per sample). It
    succeeds when every sample is ``succeeded`` and returns their ids (XCom), so that
    ``GencoveDownloadOperator(sample_ids=wait.output)`` works; it also pushes XCom ``samples``, each sample's
    summary ``{id, client_id, status, note, archive_status}``. A sample that ends ``failed``, ``failed qc``
    or canceled fails the task with
    :class:`~airflow_provider_tis.hooks.gencove_errors.GencoveSampleStatusError`, naming each with its
    status note; so does a sample that is not in the project. Each sample's state is logged when it
    changes. Temporary troubles (429, maintenance, gateways) are waited out until the timeout.

    :param project_id: the Gencove project (a UUID; templated).
    :param sample_ids: the samples to wait for (templated): a list of ids, a dict client id -> sample id,
        or either as JSON text.
    :param gencove_conn_id: Airflow connection id of type ``gencove``.
    :param allow_failed: failed or canceled samples are reported (a warning) and left out of the result
        instead of failing the task; the task still fails if none succeeded.
    :param restore: once every sample has ended, restore the succeeded samples that are archived (one
        request, from the worker) and wait until their files are downloadable (``restored``/``available``).
        Without it, archived samples are only warned about.
    :param mode: ``"reschedule"`` (default: frees the worker slot between pokes) or ``"poke"``.
    :param poke_interval: seconds between checks (default 60; Gencove throttles busy keys with 429).
    :param deferrable: wait in the triggerer with :class:`~airflow_provider_tis.triggers.gencove.
        GencoveSampleTrigger` instead (a restore is still requested from a worker, between two waits).
    :param cancel_on_kill: cancel the samples still being analysed when the Airflow task is killed (or
        times out).
    """

    template_fields: Sequence[str] = ("project_id", "sample_ids")
    ui_color = "#e8f6f3"
    cancel_what = "cancel the samples of Gencove project"

    def __init__(
        self,
        *,
        project_id: str,
        sample_ids: Any,
        gencove_conn_id: str = GENCOVE_CONN_ID,
        allow_failed: bool = False,
        restore: bool = False,
        mode: str = "reschedule",
        poke_interval: float = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        cancel_on_kill: bool = False,
        **kwargs: Any,
    ) -> None:
        check_interval(poke_interval, "poke_interval")
        super().__init__(
            mode=mode,
            poke_interval=poke_interval,
            deferrable=deferrable,
            cancel_on_kill=cancel_on_kill,
            **kwargs,
        )
        self.project_id = project_id
        self.sample_ids = sample_ids
        self.gencove_conn_id = gencove_conn_id
        self.allow_failed = allow_failed
        self.restore = restore
        self._said: dict[str, str] = {}  # each sample's state last logged in this process
        self._requested: set[str] = set()  # samples whose restore this process requested
        self._phase = "analysis"  # what the next trigger waits for (set by poke)
        self._waiting: list[str] = []  # the samples it waits on

    @cached_property
    def hook(self) -> GencoveHook:
        from airflow_provider_tis.hooks.gencove import GencoveHook

        return GencoveHook(self.gencove_conn_id)

    @property
    def job_ref(self) -> str:
        return str(self.project_id)

    def _checked(self) -> tuple[str, list[str]]:
        """The rendered project and sample ids, checked before any request."""
        from airflow_provider_tis.hooks.gencove_errors import check_uuid
        from airflow_provider_tis.triggers.gencove import parse_sample_ids

        return check_uuid(self.project_id, "project_id"), parse_sample_ids(self.sample_ids)

    def make_trigger(self, end_time: float) -> GencoveSampleTrigger:
        from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger

        project_id, sample_ids = self._checked()
        return GencoveSampleTrigger(
            project_id=project_id,
            sample_ids=self._waiting or sample_ids,
            gencove_conn_id=self.gencove_conn_id,
            poll_interval=self.poke_interval,
            end_time=end_time,
            allow_failed=self.allow_failed,
            cancel_on_kill=self.cancel_on_kill,
            wait_for=self._phase,
        )

    def poke(self, context: Context) -> PokeReturnValue | bool:
        from airflow_provider_tis.core.errors import ProviderError, is_temporary
        from airflow_provider_tis.hooks.gencove_errors import GencoveNotFoundError, GencoveSampleStatusError
        from airflow_provider_tis.triggers.gencove import missing_message, missing_of, outcome

        project_id, sample_ids = self._checked()
        try:
            listed = {s.id: s for s in self.hook.list_project_samples(project_id)}
        except GencoveNotFoundError:
            raise GencoveSampleStatusError(
                f"Gencove project {project_id} does not exist (deleted, or the API key's user cannot see it). "
                "Check project_id (the UUID in the project's page on web.gencove.com) and the connection's "
                "region (https://api.gencove.com, or https://api.eu1.gencove.com)."
            ) from None
        except ProviderError as exc:
            if not is_temporary(exc):
                raise
            self.log.warning("Could not read Gencove project %s (%s); will look again.", project_id, exc)
            return False
        missing = missing_of(listed, sample_ids)
        if missing:
            raise GencoveSampleStatusError(missing_message(project_id, missing))
        samples = [listed[i] for i in sample_ids]
        self._log_changes(samples, context)
        verdict, words = outcome(project_id, samples, allow_failed=self.allow_failed)
        if verdict == "failed":
            raise GencoveSampleStatusError(words)
        if verdict is None:
            self._phase, self._waiting = "analysis", sample_ids
            return False
        return self._ended(project_id, samples, context)

    def _ended(
        self, project_id: str, samples: list[GencoveSample], context: Context
    ) -> PokeReturnValue | bool:
        """Every sample ended: restore what must be, or succeed with the ids of the succeeded ones."""
        from airflow_provider_tis.triggers.gencove import ARCHIVED, named, sample_summary

        succeeded = [s for s in samples if s.status.is_success]
        archived = [s for s in succeeded if not s.is_downloadable]
        if archived and self.restore:
            requested = self._requested_before(context)
            # a sample restoring already (restore_requested/accepted/started) is waited for, never asked
            # twice; nor is one this try asked for that still shows "archived" [I: the service may take a
            # moment to record the request, and a second request would be refused or duplicate it]
            ask = [s.id for s in archived if s.archive_status == ARCHIVED and s.id not in requested]
            if ask:
                group = self.hook.restore_samples(project_id, ask)
                self.log.info(
                    "Requested the restore of %d archived Gencove sample(s) (restore group %s).",
                    len(ask),
                    group,
                )
                self._remember_restore(ask, context)
            self.log.info("Waiting for %d sample(s) to be restored.", len(archived))
            self._phase, self._waiting = "restore", [s.id for s in succeeded]
            return False
        if archived:
            self.log.warning(
                "%d succeeded Gencove sample(s) are archived: their files cannot be downloaded until restored "
                "(use restore=True, or GencoveRestoreSamplesOperator): %s.",
                len(archived),
                ", ".join(f"{s.client_id} ({s.id}) {s.archive_status}" for s in archived),
            )
        failed = [s for s in samples if not s.status.is_success]
        if failed:  # allow_failed: reported and left out
            self.log.warning(
                "%d of %d Gencove sample(s) did not succeed and are left out: %s.",
                len(failed),
                len(samples),
                named(failed),
            )
        context["ti"].xcom_push(key="samples", value=[sample_summary(s) for s in samples])
        return PokeReturnValue(is_done=True, xcom_value=[s.id for s in succeeded])

    def _store(self, context: Context) -> Any:
        """The task state store when pokes run in new processes (reschedule), else None."""
        return None if self.mode == "poke" or self.deferrable else context.get("task_state_store")

    def _requested_before(self, context: Context) -> set[str]:
        store = self._store(context)
        saved = store.get(RESTORE_KEY) if store is not None else None
        if isinstance(saved, dict) and saved.get("project") == self.project_id:
            return self._requested | {str(i) for i in saved.get("ids", [])}
        return set(self._requested)

    def _remember_restore(self, ids: list[str], context: Context) -> None:
        self._requested.update(ids)
        store = self._store(context)
        if store is not None:
            store.set(
                RESTORE_KEY, {"project": self.project_id, "ids": sorted(self._requested_before(context))}
            )

    def _log_changes(self, samples: list[GencoveSample], context: Context) -> None:
        """Log each sample's state when it changed since the last poke. A rescheduled poke runs in a new
        process: it compares with the task state store (Airflow >= 3.3); without one it logs every poke."""
        from airflow_provider_tis.triggers.gencove import said_of

        store = self._store(context)
        last = dict(self._said)
        if store is not None:
            saved = store.get(STATUS_KEY)
            if isinstance(saved, dict) and saved.get("project") == self.project_id:
                last = {str(k): str(v) for k, v in dict(saved.get("said", {})).items()}
        now = {s.id: said_of(s) for s in samples}
        for sample in samples:
            if last.get(sample.id) != now[sample.id]:
                self.log.info("Gencove sample %s (%s) is %s.", sample.id, sample.client_id, now[sample.id])
        self._said = now
        if store is not None and now != last:
            store.set(STATUS_KEY, {"project": self.project_id, "said": now})

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger: read the samples again in the worker (which requests a restore if
        needed, then waits in the triggerer again); an event this sensor does not understand fails."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.gencove_errors import GencoveError, GencoveSampleStatusError

        project_id, sample_ids = self._checked()
        token = self._load_token()
        event = validated_event(
            event, job_id=project_id, who="GencoveSampleSensor", error=GencoveError, token=token
        )
        status, message = event["status"], event["message"]
        about = event.get("sample_ids")
        if about is not None and not (isinstance(about, list) and set(about) <= set(sample_ids)):
            raise GencoveError(f"The trigger event is about other samples ({about!r}); refusing to succeed.")
        if status == "success" and about:
            done = self.poke(context)
            if isinstance(done, PokeReturnValue):
                return done.xcom_value
            end_time = event.get("end_time")
            self.defer(
                trigger=self.make_trigger(
                    float(end_time) if isinstance(end_time, (int, float)) else time.time() + self.timeout
                ),
                method_name="execute_complete",
                timeout=None,
            )
        if status == "failed":
            raise GencoveSampleStatusError(message)
        if status == "timeout":
            self._cancel_if_asked()
            raise AirflowSensorTimeout(message)
        raise GencoveError(message or f"GencoveSampleSensor got an incomplete trigger event {event!r}.")

    def cancel(self) -> None:
        from airflow_provider_tis.operators.gencove import cancel_unfinished

        project_id, sample_ids = self._checked()
        canceled = cancel_unfinished(self.hook, project_id, sample_ids, self.log)
        self.log.info("Canceled %d Gencove sample(s) of project %s.", len(canceled), project_id)


def check_interval(seconds: Any, name: str) -> float:
    """A positive number of seconds (or timedelta): Gencove throttles a busy key for every DAG using it."""
    from airflow_provider_tis.core.inputs import positive_seconds

    return positive_seconds(seconds, name, _config_error, "Gencove throttles busy keys: give 30 or more.")


def _config_error(message: str) -> Exception:
    from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError

    return GencoveConfigError(message)
