"""Interpret a tumour's mutations with the Cancer Genome Interpreter: submit, wait, download, clean up.

Point it at your data with the run's config (or change the params below):

    airflow dags trigger cgi_interpretation --conf '{"mutations": "/data/tumour/mutations.tsv",
                                                     "results": "/data/cgi", "cancer_type": "LUAD"}'

It needs a connection ``cgi_default`` (type ``cgi``: your CGI account's email as login, the API token from
your account page as password). Offline, ``make demo SERVICE=cgi`` runs it against the bundled simulator.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import CgiDownloadResultsOperator, CgiSubmitOperator
from airflow_provider_tis.sensors import CgiJobSensor

# CGI jobs take minutes; the offline demo and the end-to-end tests shorten the waits through the environment.
POLL_SECONDS = float(os.environ.get("CGI_EXAMPLE_POLL_SECONDS", 60))
RETRY_SECONDS = float(os.environ.get("CGI_EXAMPLE_RETRY_SECONDS", 300))
DEFERRABLE = os.environ.get("CGI_EXAMPLE_DEFERRABLE", "false").lower() == "true"

with DAG(
    dag_id="cgi_interpretation",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "mutations": "/data/tumour/mutations.tsv",  # a path or a storage URL such as s3://bucket/x.tsv
        "results": "/data/cgi-results",  # a folder, or a storage URL
        "cancer_type": "CANCER",  # a CGI acronym; CANCER means any
        "reference": "hg38",
    },
    # A retried submit reuses the job an earlier try created (found by its title), so retries are safe.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=RETRY_SECONDS)},
    tags=["cgi", "example"],
) as dag:
    submit = CgiSubmitOperator(
        task_id="submit",
        mutations="{{ params.mutations }}",
        cancer_type="{{ params.cancer_type }}",
        reference="{{ params.reference }}",
    )

    # Fails with the tail of the job's logs if CGI cannot interpret the input.
    wait = CgiJobSensor(
        task_id="wait",
        job_id=submit.output,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(hours=6).total_seconds(),
        deferrable=DEFERRABLE,
    )

    # The zip and its members in one folder per job; then the job is deleted (accounts have a job quota).
    download = CgiDownloadResultsOperator(
        task_id="download",
        job_id=submit.output,
        destination="{{ params.results }}/{{ ti.xcom_pull(task_ids='submit') }}",
        extract=True,
        delete_job=True,
    )

    submit >> wait >> download
