"""Analyse samples on Gencove: import two samples' FASTQs from URLs into a project, wait for the analysis
(deferred; archived files are restored first), download their imputed VCFs.

Point it at your data with the run's config (or change the params below):

    airflow dags trigger gencove_samples --conf '{"project_id": "<project uuid>", "samples": {"S1":
        ["https://example.org/S1_R1.fastq.gz", "https://example.org/S1_R2.fastq.gz"], "S2": [...]},
        "results": "/data/gencove"}'

It needs a connection ``gencove_default`` (type ``gencove``: host ``https://api.gencove.com``, or
``https://api.eu1.gencove.com``; your API key as password). Gencove fetches the URLs itself: they must be
reachable from the internet (https, or pre-signed links).
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import GencoveDownloadOperator, GencoveImportSamplesOperator
from airflow_provider_tis.sensors import GencoveSampleSensor

# An analysis takes hours and Gencove's rate limit is not published, so samples are checked every five
# minutes (one request per 200 samples of the project). The end-to-end tests shorten the waits here.
POLL_SECONDS = float(os.environ.get("GENCOVE_EXAMPLE_POLL_SECONDS", 300))
RETRY_SECONDS = float(os.environ.get("GENCOVE_EXAMPLE_RETRY_SECONDS", 300))
# Waits in the triggerer, holding no worker slot (needs `airflow triggerer` running).
DEFERRABLE = os.environ.get("GENCOVE_EXAMPLE_DEFERRABLE", "true").lower() == "true"

with DAG(
    dag_id="gencove_samples",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={
        "project_id": "00000000-0000-0000-0000-000000000000",  # the project's UUID (its page's URL)
        # client id -> its R1 and R2 FASTQ (an https URL, a storage URL that can be pre-signed, or a path)
        "samples": {
            "sample-1": [
                "https://example.org/sample-1_R1.fastq.gz",
                "https://example.org/sample-1_R2.fastq.gz",
            ],
            "sample-2": [
                "https://example.org/sample-2_R1.fastq.gz",
                "https://example.org/sample-2_R2.fastq.gz",
            ],
        },
        "results": "/data/gencove-results",  # a folder, or a storage URL
    },
    # Every step is safe to retry: a retried import finds the uploads and samples of the earlier try, the
    # sensor only reads (and asks for a restore once), and files already downloaded are skipped.
    default_args={"retries": 2, "retry_delay": timedelta(seconds=RETRY_SECONDS)},
    tags=["gencove", "example"],
) as dag:
    # Returns the new samples' ids (XCom "samples": client id -> sample id); the analysis starts.
    import_samples = GencoveImportSamplesOperator(
        task_id="import_samples",
        project_id="{{ params.project_id }}",
        samples="{{ params.samples | tojson }}",
    )

    # Fails naming each sample that failed (QC or analysis) with Gencove's note; returns the ids of the
    # samples that succeeded, their files restored first if they were archived meanwhile.
    wait = GencoveSampleSensor(
        task_id="wait",
        project_id="{{ params.project_id }}",
        sample_ids=import_samples.output,
        restore=True,
        poke_interval=POLL_SECONDS,
        timeout=timedelta(days=3).total_seconds(),
        deferrable=DEFERRABLE,
    )

    # <results>/<client id>/<file>, each file's SHA-256 checked against Gencove's.
    download = GencoveDownloadOperator(
        task_id="download",
        sample_ids=wait.output,
        destination="{{ params.results }}",
        file_types=["impute-vcf", "impute-tbi"],
    )

    import_samples >> wait >> download
