"""SubmitImputationOperator: upload VCFs to TIS once, and only when the server can take the job.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors, the trigger
and the upload code are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import TIS_CONN_ID
from airflow_provider_tis.version_compat import (
    AirflowRescheduleException,
    BaseOperator,
    BaseOperatorLink,
    XCom,
    conf,
    mask_secret,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.models import AppInfo
    from airflow_provider_tis.hooks.tis import TisHook
    from airflow_provider_tis.hooks.tis_errors import TisApiError, TisError
    from airflow_provider_tis.version_compat import Context

BUILDS = ("hg19", "hg38")
MODES = ("qc_only", "imputation")
PHASINGS = ("eagle", "beagle", "no_phasing")
R2_FILTERS = ("0", "0.001", "0.1", "0.2", "0.3")
#: Uploads in one task try when the server refuses them or the connection breaks (each is the whole upload).
SUBMIT_ATTEMPTS = 3
CAPACITY_MODES = ("poke", "reschedule")


class TisJobLink(BaseOperatorLink):
    """The "TIS job" button: the job's page on the server."""

    name = "TIS job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key="job_url", ti_key=ti_key) or ""


class SubmitImputationOperator(BaseOperator):
    """Submit VCFs for imputation and return the job id (XCom ``return_value``).

    Everything that can be checked is checked before the upload starts; the task waits while the server
    is in maintenance or your active-job limit is reached; and a retried task reuses the job of an
    earlier try (found by its deterministic name) instead of submitting a second one. An upload the server
    refuses for a passing reason (rate limit, server error, maintenance, job limit) or that breaks off is
    tried again, at most 3 uploads per task try, each after checking whether the server created the job.

    :param files: ``.vcf.gz`` files (templated): local paths, ``file://`` URLs or storage URLs such as
        ``s3://conn@bucket/study/chr*.vcf.gz``; a path, a glob or a list of them.
    :param refpanel: reference panel, e.g. ``topmed-r3``, ``apps@topmed-r3`` or ``apps@topmed-r3@1.0.0``.
    :param population: population of the panel, e.g. ``all`` or ``off`` on TIS, ``eur`` on Michigan.
    :param build: genome build of the input, ``hg19`` or ``hg38``.
    :param mode: ``imputation`` or ``qc_only``.
    :param phasing: ``eagle``, ``no_phasing`` (and ``beagle`` on Michigan).
    :param r2_filter: drop imputed variants below this r2: 0, 0.001, 0.1, 0.2 or 0.3.
    :param aes_encryption: encrypt the result zips with AES-256 instead of ZipCrypto.
    :param meta: also create meta-imputation files.
    :param password: password of the result zips (templated, e.g. ``"{{ var.value.tis_zip_password }}"``;
        masked in logs and rendered fields). Without it the server makes one and mails it to you.
    :param job_name: name of the job on the server. The server shows it followed by ``-`` and 10 hex
        digits of a hash of the dag, run, task and map index (``my-study-3f9a1c2b7e``; a name longer than
        89 characters is shortened first), so that only retries of this task instance reuse its job and a
        later DAG run submits a new one. Default: ``<dag>__<run>__<task>[__<map index>]``, unique per task
        instance too.
    :param app: app id; default: the connection's ``app`` extra (``imputationserver2``).
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param capacity_poll_interval: seconds between checks while waiting for maintenance to end or for
        one of your active jobs to finish (the task's ``execution_timeout`` bounds the wait).
    :param deferrable: wait for maintenance to end and for a free job slot in the triggerer
        (:class:`TisCapacityTrigger`), holding no worker; the task resumes in a worker, checks again
        (another client may have taken the slot) and uploads.
    :param capacity_mode: without ``deferrable``: ``"poke"`` (default) waits inside the task;
        ``"reschedule"`` frees the worker slot between checks, as a sensor in reschedule mode does.
    """

    template_fields: Sequence[str] = (
        "files",
        "refpanel",
        "population",
        "build",
        "mode",
        "phasing",
        "r2_filter",
        "job_name",
        "app",
        "password",
    )
    operator_extra_links = (TisJobLink(),)
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        files: str | Sequence[str],
        refpanel: str,
        population: str,
        build: str = "hg19",
        mode: str = "imputation",
        phasing: str = "eagle",
        r2_filter: float | str = 0,
        aes_encryption: bool = False,
        meta: bool = False,
        password: str | None = None,
        job_name: str | None = None,
        app: str | None = None,
        tis_conn_id: str = TIS_CONN_ID,
        capacity_poll_interval: float = 60,
        deferrable: bool = conf.getboolean("operators", "default_deferrable", fallback=False),
        capacity_mode: str = "poke",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.files = files
        self.refpanel = refpanel
        self.population = population
        self.build = build
        self.mode = mode
        self.phasing = phasing
        self.r2_filter = r2_filter
        self.aes_encryption = aes_encryption
        self.meta = meta
        self.password = password
        self.job_name = job_name
        self.app = app
        self.tis_conn_id = tis_conn_id
        self.capacity_poll_interval = capacity_poll_interval
        self.deferrable = deferrable
        if capacity_mode not in CAPACITY_MODES:
            from airflow_provider_tis.hooks.tis_errors import TisConfigError

            raise TisConfigError(f"capacity_mode is 'poke' or 'reschedule', not {capacity_mode!r}.")
        self.capacity_mode = capacity_mode

    @property
    def reschedule(self) -> bool:
        """Whether a wait for capacity frees the worker between checks (the scheduler reads this)."""
        return self.capacity_mode == "reschedule" and not self.deferrable

    @cached_property
    def hook(self) -> TisHook:
        from airflow_provider_tis.hooks.tis import TisHook

        return TisHook(self.tis_conn_id)

    def execute(self, context: Context, failures: int = 0) -> str:
        from airflow_provider_tis.core.progress import ProgressLog
        from airflow_provider_tis.hooks.tis_errors import TisApiError, TisConnectionError
        from airflow_provider_tis.hooks.tis_inputs import (
            check_input_files,
            check_password,
            check_server_safe,
            resolve_files,
        )

        self._failures = failures  # uploads that failed in this task try (a deferral carries it over)
        if self.password:
            mask_secret(self.password)
        self._check_values()
        self._wait_while_maintenance(context)  # the app description is blocked during maintenance
        app = self.hook.get_app(self.app)
        params = self._form_fields(app)
        paths = resolve_files(self.files)
        check_input_files(paths)
        if self.password:
            check_password(self.password)
        job_name = self._task_job_name(context)
        check_server_safe(job_name, "job name")
        params["job-name"] = job_name

        job_id = self._wait_for_capacity_or_reuse(job_name, context)
        while job_id is None:
            try:
                job_id = self.hook.submit_job(paths, params, app.id, progress=ProgressLog(self.log, "Upload"))
            # Not TisConfigError: a file that changed during the upload must not be uploaded again as it is.
            except (TisConnectionError, TisApiError) as exc:
                self._failures += 1
                worth = not isinstance(exc, TisApiError) or _worth_retrying(exc)
                if not worth or self._failures >= SUBMIT_ATTEMPTS:
                    raise
                self._pause_after_failed_upload(exc, self._failures)
                self._wait_while_maintenance(context)
                # The server may have created the job before its answer was lost: look for it first.
                job_id = self._wait_for_capacity_or_reuse(job_name, context)
            else:
                self.log.info("Submitted TIS job %s (%s).", job_id, job_name)
        context["ti"].xcom_push(key="job_url", value=self.hook.job_url(job_id))
        self._lineage = (paths, job_id)
        return job_id

    def _task_job_name(self, context: Context) -> str:
        """The job's name on the server, unique to this task instance (see ``job_name``)."""
        from airflow_provider_tis.core.inputs import task_job_name

        return task_job_name(context, (self.job_name or "").strip() or None)

    def execute_complete(
        self, context: Context, event: dict[str, Any] | None = None, failures: int = 0
    ) -> str:
        """Resume after :class:`TisCapacityTrigger`: check again (the slot may be taken meanwhile), upload."""
        from airflow_provider_tis.core.events import validated_event
        from airflow_provider_tis.hooks.tis_errors import TisError

        job_name = self._task_job_name(context)
        event = validated_event(
            event, job_id=job_name, who=type(self).__name__, error=TisError, token=self.hook.settings.token
        )
        if event["status"] != "success":
            raise TisError(f"Waiting to submit TIS job {job_name} ended: {event['message']}")
        return self.execute(context, failures=failures)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the uploaded VCFs are the inputs; the TIS job id is an external query run facet."""
        from airflow_provider_tis.core.lineage import operator_lineage

        paths, job_id = self._lineage
        return operator_lineage(inputs=paths, job_id=job_id, server=self.hook.settings.base_url)

    def _pause_after_failed_upload(self, exc: TisError, failures: int) -> None:
        from airflow_provider_tis.hooks.tis_errors import TisApiError

        retry_after = exc.retry_after if isinstance(exc, TisApiError) else None
        policy = self.hook.retry_policy
        delay = max(self.capacity_poll_interval, policy.delay(failures, retry_after))
        self.log.warning(
            "The upload failed (%s). Checking the server in %.0f s before trying again (upload %d of at most %d).",
            exc,
            delay,
            failures + 1,
            SUBMIT_ATTEMPTS,
        )
        policy.sleep(delay)

    def _check_values(self) -> None:
        from airflow_provider_tis.hooks.tis_errors import TisConfigError

        for name, value, allowed in (
            ("build", self.build, BUILDS),
            ("mode", self.mode, MODES),
            ("phasing", self.phasing, PHASINGS),
            ("r2_filter", _r2_text(self.r2_filter), R2_FILTERS),
        ):
            if value not in allowed:
                raise TisConfigError(f"{name}={value!r} is not valid; use one of {', '.join(allowed)}.")

    def _form_fields(self, app: AppInfo) -> dict[str, Any]:
        """Validate panel, population and phasing against the server's app; keep fields it declares."""
        from airflow_provider_tis.hooks.tis_errors import TisConfigError

        panel = app.find_refpanel(self.refpanel)
        if panel is None:
            raise TisConfigError(
                f"refpanel={self.refpanel!r} is not offered by this server; use one of "
                f"{', '.join(k.removeprefix('apps@').split('@')[0] for k in app.refpanels)}."
            )
        populations = app.refpanels[panel]
        if populations and self.population not in populations and self.population != "off":
            raise TisConfigError(
                f"population={self.population!r} is not available for {panel}; use one of "
                f"{', '.join(populations)}."
            )
        phasings = app.options.get("phasing")
        if phasings and self.phasing not in phasings:
            raise TisConfigError(
                f"phasing={self.phasing!r} is not offered by this server; use one of {', '.join(phasings)}."
            )
        fields = {
            "refpanel": panel,
            "population": self.population,
            "build": self.build,
            "mode": self.mode,
            "phasing": self.phasing,
            "r2Filter": _r2_text(self.r2_filter),
            "aesEncryption": self.aes_encryption or None,  # checkboxes: any value turns them on
            "meta": self.meta or None,
            "password": self.password,
        }
        sent = {}
        for name, value in fields.items():
            if value is None:
                continue
            if name in app.params:
                sent[name] = value
            else:
                self.log.warning("The server's app does not declare %r; not sending it.", name)
        return sent

    def _wait_for_capacity_or_reuse(self, job_name: str, context: Context) -> str | None:
        """The id of a usable job from an earlier try, or None once a new job may be submitted.

        Called when the server was just seen out of maintenance.
        """
        from airflow_provider_tis.hooks.tis_capacity import capacity_of

        while True:
            capacity = capacity_of(self.hook.list_jobs(), job_name, self.hook.settings.max_active_jobs)
            if capacity.reusable is not None:
                earlier = capacity.reusable
                self.log.info(
                    "Reusing TIS job %s (%s, %s) submitted by an earlier try.",
                    earlier.id,
                    job_name,
                    earlier.state.name,
                )
                return earlier.id
            if capacity.ready:
                return None
            self._wait(
                f"{capacity.describe()}; waiting {self.capacity_poll_interval} s before uploading", context
            )
            self._wait_while_maintenance(context)

    def _wait_while_maintenance(self, context: Context) -> None:
        while (server := self.hook.get_server()).maintenance:
            message = server.maintenance_message or "no message"
            self._wait(
                f"The server is in maintenance ({message}); checking again in {self.capacity_poll_interval} s",
                context,
            )

    def _wait(self, why: str, context: Context) -> None:
        """Wait one poll interval: here (poke), or with no worker held (deferred, rescheduled: raises)."""
        self.log.info("%s.", why)
        if self.deferrable:
            from airflow_provider_tis.triggers.tis import TisCapacityTrigger

            job_name = self._task_job_name(context)
            self.defer(
                trigger=TisCapacityTrigger(
                    job_name=job_name,
                    tis_conn_id=self.tis_conn_id,
                    max_active_jobs=self.hook.settings.max_active_jobs,
                    poll_interval=self.capacity_poll_interval,
                    end_time=time.time() + _seconds(self.execution_timeout, default=7 * 86400),
                ),
                method_name="execute_complete",
                kwargs={"failures": self._failures},
            )
        if self.reschedule:
            raise AirflowRescheduleException(
                datetime.now(timezone.utc) + timedelta(seconds=self.capacity_poll_interval)
            )
        time.sleep(self.capacity_poll_interval)


def _seconds(delta: timedelta | None, default: float) -> float:
    return delta.total_seconds() if delta is not None else default


def _worth_retrying(exc: TisApiError) -> bool:
    """Refused for a passing reason: rate limit, server error, maintenance, or the job limit reached."""
    from airflow_provider_tis.hooks.tis_errors import TisJobLimitError, is_temporary

    return is_temporary(exc, bounded=True) or isinstance(exc, TisJobLimitError)


def _r2_text(value: float | str) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    return "0" if number == 0 else f"{number:g}"
