"""Impute a study on the TOPMed Imputation Server: submit the VCFs, wait for the job, download the results.

Point it at your data with the run's config (or change the params below):

    airflow dags trigger tis_imputation --conf '{"vcfs": "/data/study/chr*.vcf.gz", "results": "/data/tis"}'

It needs a connection ``tis_default`` (type ``tis``: server URL and API token) and the password for the
result zips in the Variable ``tis_zip_password`` (``airflow variables set tis_zip_password '...'``; a
Variable whose name contains "password" is masked in logs and the UI). Offline, ``make demo`` runs it
against the bundled simulator.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.sensors import JobStateSensor

# Real jobs run for hours, so the job is checked every few minutes and failed tasks are retried after
# ten. The offline demo and the end-to-end tests shorten these through the environment.
POLL_SECONDS = float(os.environ.get("TIS_EXAMPLE_POLL_SECONDS", 300))
RETRY_SECONDS = float(os.environ.get("TIS_EXAMPLE_RETRY_SECONDS", 600))
DEFERRABLE = os.environ.get("TIS_EXAMPLE_DEFERRABLE", "false").lower() == "true"
# Cancel the remote job when a user marks the waiting task failed or clears it (off: clearing a wait to
# look again should not cost a job that ran for hours).
CANCEL_ON_KILL = os.environ.get("TIS_EXAMPLE_CANCEL_ON_KILL", "false").lower() == "true"
ZIP_PASSWORD = "{{ var.value.tis_zip_password }}"  # rendered when the task runs, never stored in the DAG

with DAG(
    dag_id="tis_imputation",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "vcfs": "/data/study/*.vcf.gz",  # a glob, a path, or a list of them
        "results": "/data/tis-results",  # a folder, or a storage URL such as s3://bucket/tis
        "refpanel": "topmed-r3",
        "population": "all",
    },
    # A retried submit reuses the job an earlier try created (it finds it by its name), so retries are safe.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=RETRY_SECONDS)},
    tags=["tis", "example"],
) as dag:
    # Checks parameters and files, waits while the server is in maintenance or your 3 job slots are
    # busy, then streams the upload. Returns the job id.
    submit = SubmitImputationOperator(
        task_id="submit",
        files="{{ params.vcfs }}",
        refpanel="{{ params.refpanel }}",
        population="{{ params.population }}",
        build="hg19",
        password=ZIP_PASSWORD,
        capacity_poll_interval=POLL_SECONDS,
    )

    # Frees its worker slot between checks (reschedule mode), or waits in the triggerer when deferrable.
    # Fails with the server's error messages if the job fails or is canceled.
    wait = JobStateSensor(
        task_id="wait",
        job_id=submit.output,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(days=3).total_seconds(),
        deferrable=DEFERRABLE,
        cancel_on_kill=CANCEL_ON_KILL,
    )

    # One folder per job, with the zips unpacked. Files already downloaded are skipped on a retry: each
    # file allows 10 downloads.
    download = DownloadResultsOperator(
        task_id="download",
        job_id=submit.output,
        destination="{{ params.results }}/{{ ti.xcom_pull(task_ids='submit') }}",
        extract=True,
        password=ZIP_PASSWORD,
        # Each run points the asset alias "tis_results" at its folder: a DAG with
        # schedule=[AssetAlias("tis_results")] runs whenever new results land.
        emit_asset=True,
    )

    submit >> wait >> download
