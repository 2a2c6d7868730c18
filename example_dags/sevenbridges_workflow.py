"""Run a workflow on Seven Bridges / BioData Catalyst: upload two files, run an app on them, wait (deferred),
download the outputs.

Point it at your data with the run's config (or change the params below):

    airflow dags trigger sevenbridges_workflow --conf '{"reads": "/data/s1/reads.fq", "reference":
        "/data/ref/chr20.fa", "app": "alice/demo/demo-workflow", "results": "/data/sbg"}'

It needs a connection ``sevenbridges_default`` (type ``sevenbridges``: the API URL as host, e.g.
``https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2``, your auth token as password, and the project as extra
``{"project": "owner/project"}``). The uploads go to that project; the task runs there.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import (
    SevenBridgesDownloadOperator,
    SevenBridgesRunTaskOperator,
    SevenBridgesUploadOperator,
)
from airflow_provider_tis.sensors import SevenBridgesTaskSensor

# Tasks run for minutes to hours and one token's requests are limited (1000 per 5 minutes, shared by every
# DAG using it), so the task is checked every minute. The end-to-end tests shorten the waits here.
POLL_SECONDS = float(os.environ.get("SBG_EXAMPLE_POLL_SECONDS", 60))
RETRY_SECONDS = float(os.environ.get("SBG_EXAMPLE_RETRY_SECONDS", 300))
# Waits in the triggerer, holding no worker slot (needs `airflow triggerer` running).
DEFERRABLE = os.environ.get("SBG_EXAMPLE_DEFERRABLE", "true").lower() == "true"

with DAG(
    dag_id="sevenbridges_workflow",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "reads": "/data/sample/reads.fq",  # a path, or a storage URL such as s3://bucket/reads.fq
        "reference": "/data/reference/ref.fa",
        "app": "owner/project/app",  # as in the app's URL on the platform
        "results": "/data/sbg-results",  # a folder, or a storage URL
    },
    # Every step is safe to retry: a file already uploaded (same name and size) is not sent again, a retried
    # run reuses the task an earlier try created, and files already downloaded are skipped.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=RETRY_SECONDS)},
    tags=["sevenbridges", "example"],
) as dag:
    # Returns the two file ids, in the order given.
    upload = SevenBridgesUploadOperator(
        task_id="upload",
        files=["{{ params.reads }}", "{{ params.reference }}"],
        on_conflict="skip",
    )

    # Creates the task as a DRAFT, checks its inputs, runs it; returns the task id.
    run = SevenBridgesRunTaskOperator(
        task_id="run",
        app="{{ params.app }}",
        inputs={
            "reads": "{{ ti.xcom_pull(task_ids='upload')[0] }}",
            "reference": "{{ ti.xcom_pull(task_ids='upload')[1] }}",
        },
    )

    # Fails with the platform's message (and the failed job's log tail) if the task FAILS or is ABORTED.
    wait = SevenBridgesTaskSensor(
        task_id="wait",
        sbg_task_id=run.output,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(days=2).total_seconds(),
        deferrable=DEFERRABLE,
    )

    # Every output (folders with everything under them), one folder per task.
    download = SevenBridgesDownloadOperator(
        task_id="download",
        sbg_task_id=run.output,
        destination="{{ params.results }}/{{ ti.xcom_pull(task_ids='run') }}",
    )

    upload >> run >> wait >> download
