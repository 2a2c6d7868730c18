"""Impute many VCFs as several TIS jobs, one per batch, with dynamic task mapping.

TIS runs at most 3 jobs per user at a time, and counts a job only once its whole upload has arrived.
Each submit waits for a free job slot on the server before uploading; the pool ``tis_active_jobs``
lets one submit at a time go from that check to the end of its upload, so two submits never see the same
free slot and upload for it (the server would refuse one after its upload). Create it with one slot that
deferred submits keep::

    airflow pools set tis_active_jobs 1 "TIS submits: capacity check to upload" --include-deferred

Each batch's wait and download start as soon as its own submit is done (a mapped task group).
"""

from __future__ import annotations

import glob
import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.sensors import JobStateSensor

try:  # Airflow 3
    from airflow.sdk import task, task_group
except ImportError:  # Airflow 2.10
    from airflow.decorators import task, task_group

POLL_SECONDS = float(os.environ.get("TIS_EXAMPLE_POLL_SECONDS", 300))
RETRY_SECONDS = float(os.environ.get("TIS_EXAMPLE_RETRY_SECONDS", 600))
# a free job slot is noticed sooner than a job's end: a look is one job list and one server read
CAPACITY_POLL_SECONDS = float(os.environ.get("TIS_EXAMPLE_CAPACITY_POLL_SECONDS", POLL_SECONDS / 5))
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

    @task_group
    def batch(files: list[str]) -> None:
        """One TIS job: its wait and download start as soon as its own submit is done."""
        submit = SubmitImputationOperator(
            task_id="submit",
            files=files,
            pool="tis_active_jobs",
            refpanel="topmed-r3",
            population="all",
            capacity_poll_interval=CAPACITY_POLL_SECONDS,
            deferrable=DEFERRABLE,
        )
        wait = JobStateSensor(
            task_id="wait", job_id=submit.output, poke_interval=POLL_SECONDS, deferrable=DEFERRABLE
        )
        download = DownloadResultsOperator(
            task_id="download",
            job_id=submit.output,
            destination="{{ params.results }}/batch-{{ ti.map_index }}",
        )
        wait >> download

    batch.expand(files=batches)
