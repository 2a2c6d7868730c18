"""Restore archived Gencove samples (and wait for them), and cancel samples still being analysed.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the trigger
are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import time
from datetime import timedelta
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import GENCOVE_CONN_ID
from airflow_provider_tis.sensors.gencove import check_interval
from airflow_provider_tis.version_compat import BaseOperator, conf

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.gencove import GencoveHook
    from airflow_provider_tis.hooks.gencove_models import GencoveSample
    from airflow_provider_tis.version_compat import Context

DEFAULT_RESTORE_TIMEOUT = timedelta(hours=48)  # an S3 batch restore takes hours (§3.3)


def project_samples(hook: GencoveHook, project_id: str, sample_ids: list[str]) -> list[GencoveSample]:
    """The samples named, from one paged read of the project's list; an error naming any not in it."""
    from airflow_provider_tis.hooks.gencove_errors import GencoveSampleStatusError
    from airflow_provider_tis.triggers.gencove import missing_message, missing_of

    listed = {s.id: s for s in hook.list_project_samples(project_id)}
    missing = missing_of(listed, sample_ids)
    if missing:
        raise GencoveSampleStatusError(missing_message(project_id, missing))
    return [listed[i] for i in sample_ids]


def cancel_unfinished(hook: GencoveHook, project_id: str, sample_ids: list[str], log: Any) -> list[str]:
    """Cancel those of the samples still being analysed, at most 20 per call; the ids canceled. Ended
    samples are skipped (and logged): Gencove refuses a cancel call naming one."""
    from airflow_provider_tis.hooks.gencove import CANCEL_MAX
    from airflow_provider_tis.hooks.gencove_errors import GencoveValidationError
    from airflow_provider_tis.triggers.gencove import named

    samples = project_samples(hook, project_id, sample_ids)
    ended = [s for s in samples if s.status.is_terminal]
    if ended:
        log.info(
            "Not canceling %d Gencove sample(s) that have ended: %s.", len(ended), named(ended, note=False)
        )
    running = [s.id for s in samples if not s.status.is_terminal]
    canceled: list[str] = []
    for start in range(0, len(running), CANCEL_MAX):
        batch = running[start : start + CANCEL_MAX]
        try:
            hook.cancel_samples(project_id, batch)
        except GencoveValidationError as exc:
            # [I] a sample of the batch ended between the read and the call, and the service refused the
            # whole batch: read again and cancel the ones still running, once (a second refusal is real)
            log.warning("Gencove refused to cancel %d sample(s) (%s); reading them again.", len(batch), exc)
            batch = [s.id for s in project_samples(hook, project_id, batch) if not s.status.is_terminal]
            if batch:
                hook.cancel_samples(project_id, batch)
        canceled.extend(batch)
    return canceled


class GencoveRestoreSamplesOperator(BaseOperator):
    """Restore the archived samples among ``sample_ids`` (one request for them) and, with ``wait``, wait
    until every one's files are downloadable (``restored`` or ``available``). Samples available already are
    skipped; ones restoring already are waited for without a new request; with none archived, no request
    is sent. Returns the restore group id (XCom), or None when nothing was requested.

    :param project_id: the Gencove project (a UUID; templated).
    :param sample_ids: the samples (templated): a list of ids, a dict client id -> sample id, or either as
        JSON text.
    :param wait: wait until the samples are restored (S3 batch restores take hours).
    :param poll_interval: seconds between checks while waiting.
    :param timeout: how long to wait at most (seconds or a timedelta; default 48 hours).
    :param deferrable: wait in the triggerer (``GencoveSampleTrigger`` in restore mode) instead of a worker.
    :param gencove_conn_id: Airflow connection id of type ``gencove``.
    """

    template_fields: Sequence[str] = ("project_id", "sample_ids")
    ui_color = "#e8f6f3"

    def __init__(
        self,
        *,
        project_id: str,
        sample_ids: Any,
        wait: bool = True,
        poll_interval: float = 60,
        timeout: float | timedelta = DEFAULT_RESTORE_TIMEOUT,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        gencove_conn_id: str = GENCOVE_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.sample_ids = sample_ids
        self.wait = wait
        self.poll_interval = check_interval(poll_interval, "poll_interval")
        self.timeout = check_interval(timeout, "timeout")
        self.deferrable = deferrable
        self.gencove_conn_id = gencove_conn_id

    @cached_property
    def hook(self) -> GencoveHook:
        from airflow_provider_tis.hooks.gencove import GencoveHook

        return GencoveHook(self.gencove_conn_id)

    def execute(self, context: Context) -> str | None:
        from airflow_provider_tis.hooks.gencove_errors import check_uuid
        from airflow_provider_tis.triggers.gencove import ARCHIVED, RESTORE, parse_sample_ids

        project_id = check_uuid(self.project_id, "project_id")
        sample_ids = parse_sample_ids(self.sample_ids)
        samples = project_samples(self.hook, project_id, sample_ids)
        ready = [s for s in samples if s.is_downloadable]
        if ready:
            self.log.info("%d Gencove sample(s) are downloadable already; skipped.", len(ready))
        archived = [s.id for s in samples if s.archive_status == ARCHIVED]
        group: str | None = None
        if archived:
            group = self.hook.restore_samples(project_id, archived)
            self.log.info("Requested the restore of %d sample(s): restore group %s.", len(archived), group)
        else:  # never an empty request: Gencove would restore every archived sample of the project
            self.log.info("No sample is archived; no restore requested.")
        pending = [s.id for s in samples if not s.is_downloadable]
        if not self.wait or not pending:
            return group
        if self.deferrable:
            from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger

            self.defer(
                trigger=GencoveSampleTrigger(
                    project_id=project_id,
                    sample_ids=pending,
                    gencove_conn_id=self.gencove_conn_id,
                    poll_interval=self.poll_interval,
                    end_time=time.time() + self.timeout,
                    wait_for=RESTORE,
                ),
                method_name="execute_complete",
                kwargs={"restore_group_id": group},
            )
        self._poll(project_id, pending)
        return group

    def _poll(self, project_id: str, pending: list[str]) -> None:
        from airflow_provider_tis.core.errors import ProviderError, is_temporary
        from airflow_provider_tis.hooks.gencove_errors import GencoveError
        from airflow_provider_tis.triggers.gencove import RESTORE, outcome

        deadline = time.monotonic() + self.timeout
        words = "not read yet"
        while True:
            try:
                samples = project_samples(self.hook, project_id, pending)
                verdict, words = outcome(project_id, samples, allow_failed=True, wait_for=RESTORE)
                if verdict == "success":
                    self.log.info("The %d Gencove sample(s) are restored.", len(pending))
                    return
                self.log.info("Gencove project %s: %s.", project_id, words)
            except ProviderError as exc:
                if not is_temporary(exc):
                    raise
                self.log.warning("Could not read Gencove project %s (%s); will look again.", project_id, exc)
            if time.monotonic() + self.poll_interval > deadline:
                raise GencoveError(
                    f"The samples of Gencove project {project_id} were not restored within {self.timeout:g} s "
                    f"({words})."
                )
            time.sleep(self.poll_interval)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, restore_group_id: str | None = None
    ) -> str | None:
        """Resume after the trigger: the restore group id once restored; an event not understood fails."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.gencove_errors import (
            GencoveError,
            GencoveSampleStatusError,
            check_uuid,
        )

        project_id = check_uuid(self.project_id, "project_id")
        token = self.hook.settings.token
        event = validated_event(
            event, job_id=project_id, who="GencoveRestoreSamplesOperator", error=GencoveError, token=token
        )
        if event["status"] == "success" and event.get("wait_for") == "restore":
            return restore_group_id
        if event["status"] == "failed":
            raise GencoveSampleStatusError(event["message"])
        raise GencoveError(event["message"] or f"Unexpected trigger event {event!r}.")


class GencoveCancelSamplesOperator(BaseOperator):
    """Cancel the samples still being analysed among ``sample_ids`` (at most 20 per call); ended ones are
    skipped and logged. Returns the ids canceled (XCom).

    :param project_id: the Gencove project (a UUID; templated).
    :param sample_ids: the samples (templated): a list of ids, a dict client id -> sample id, or either as
        JSON text.
    :param gencove_conn_id: Airflow connection id of type ``gencove``.
    """

    template_fields: Sequence[str] = ("project_id", "sample_ids")
    ui_color = "#fadbd8"

    def __init__(
        self, *, project_id: str, sample_ids: Any, gencove_conn_id: str = GENCOVE_CONN_ID, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.sample_ids = sample_ids
        self.gencove_conn_id = gencove_conn_id

    @cached_property
    def hook(self) -> GencoveHook:
        from airflow_provider_tis.hooks.gencove import GencoveHook

        return GencoveHook(self.gencove_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.hooks.gencove_errors import check_uuid
        from airflow_provider_tis.triggers.gencove import parse_sample_ids

        project_id = check_uuid(self.project_id, "project_id")
        canceled = cancel_unfinished(self.hook, project_id, parse_sample_ids(self.sample_ids), self.log)
        self.log.info("Canceled %d Gencove sample(s) of project %s.", len(canceled), project_id)
        return canceled
