"""CancelJobOperator: cancel a TIS job and report the state it ends in."""

from __future__ import annotations

import time
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import FAILED_SETTLE_SECONDS, TIS_CONN_ID
from airflow_provider_tis.version_compat import BaseOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.tis import TisHook
    from airflow_provider_tis.version_compat import Context


class CancelJobOperator(BaseOperator):
    """Cancel a job. A finished job is left as it is. Returns the job's state name.

    :param job_id: the TIS job id (templated).
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param failed_settle_seconds: a running job shows FAILED briefly before CANCELED; re-read it after this.
    """

    template_fields: Sequence[str] = ("job_id",)

    def __init__(
        self,
        *,
        job_id: str,
        tis_conn_id: str = TIS_CONN_ID,
        failed_settle_seconds: float = FAILED_SETTLE_SECONDS,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.tis_conn_id = tis_conn_id
        self.failed_settle_seconds = failed_settle_seconds

    @cached_property
    def hook(self) -> TisHook:
        from airflow_provider_tis.hooks.tis import TisHook

        return TisHook(self.tis_conn_id)

    def execute(self, context: Context) -> str:
        from airflow_provider_tis.hooks.models import JobState

        job = self.hook.cancel_job(self.job_id)
        if job.state is JobState.FAILED:
            time.sleep(self.failed_settle_seconds)
            job = self.hook.get_job(self.job_id)
        self.log.info("TIS job %s is now %s.", job.id, job.state.name)
        return job.state.name
