"""Impute many VCFs as several TIS jobs, one per batch, with dynamic task mapping.

TIS runs at most 3 jobs per user at a time. The submit tasks run in the pool ``tis_active_jobs``
(create it with 3 slots: ``airflow pools set tis_active_jobs 3 "TIS job limit"``), and each submit
waits for a free job slot on the server before uploading, so no upload is wasted on a rejection.
"""

from __future__ import annotations

import glob
import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.sensors import JobStateSensor

try:  # Airflow 3
    from airflow.sdk import task
except ImportError:  # Airflow 2.10
    from airflow.decorators import task

POLL_SECONDS = float(os.environ.get("TIS_EXAMPLE_POLL_SECONDS", 300))
RETRY_SECONDS = float(os.environ.get("TIS_EXAMPLE_RETRY_SECONDS", 600))
# true: submits wait for a free job slot, and the waits for jobs, in the triggerer (no worker held)
DEFERRABLE = os.environ.get("TIS_EXAMPLE_DEFERRABLE", "false").lower() == "true"

with DAG(
    dag_id="tis_batches",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"vcfs": "/data/cohort/*.vcf.gz", "results": "/data/tis-results", "batch_size": 2},
    default_args={"retries": 2, "retry_delay": timedelta(seconds=RETRY_SECONDS)},
    tags=["tis", "example"],
) as dag:

    @task
    def make_batches(pattern: str, size: str) -> list[list[str]]:
        """Split the matching files into batches; each batch becomes one TIS job."""
        files = sorted(glob.glob(pattern))
        if not files:
            raise ValueError(f"No file matches {pattern!r}.")
        step = int(size)
        return [files[i : i + step] for i in range(0, len(files), step)]

    batches = make_batches("{{ params.vcfs }}", "{{ params.batch_size }}")

    submit = SubmitImputationOperator.partial(
        task_id="submit",
        pool="tis_active_jobs",
        refpanel="topmed-r3",
        population="all",
        capacity_poll_interval=POLL_SECONDS,
        deferrable=DEFERRABLE,
    ).expand(files=batches)

    wait = JobStateSensor.partial(task_id="wait", poke_interval=POLL_SECONDS, deferrable=DEFERRABLE).expand(
        job_id=submit.output
    )

    download = DownloadResultsOperator.partial(
        task_id="download",
        destination="{{ params.results }}/batch-{{ ti.map_index }}",
    ).expand(job_id=submit.output)

    wait >> download
