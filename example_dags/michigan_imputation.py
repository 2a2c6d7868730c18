"""Impute a European-ancestry study on the Michigan Imputation Server with the HRC r1.1 panel.

The Michigan Imputation Server runs the same Cloudgene 3 API as TIS, so the same operators work; only the
connection and the panels differ. It needs a connection ``michigan_default``:

    airflow connections add michigan_default --conn-type tis \\
        --conn-host https://imputationserver.sph.umich.edu --conn-password "$MICHIGAN_API_TOKEN" \\
        --conn-extra '{"app": "imputationserver2"}'

The panels and populations the server offers are read from it before the upload (a wrong one fails
at once, listing the right ones); ``TisHook("michigan_default").get_app().refpanels`` shows them.
Michigan mails the zip password, so this DAG leaves the zips packed and keeps only what a QC review
needs besides them.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow import DAG

from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.sensors import JobStateSensor

POLL_SECONDS = float(os.environ.get("TIS_EXAMPLE_POLL_SECONDS", 300))
RETRY_SECONDS = float(os.environ.get("TIS_EXAMPLE_RETRY_SECONDS", 600))

with DAG(
    dag_id="michigan_imputation",
    schedule=None,
    start_date=datetime(2025, 1, 1),
    catchup=False,
    params={"vcfs": "/data/study/*.vcf.gz", "results": "/data/michigan-results"},
    default_args={
        "retries": 2,
        "retry_delay": timedelta(seconds=RETRY_SECONDS),
        "tis_conn_id": "michigan_default",
    },
    tags=["tis", "michigan", "example"],
) as dag:
    job_id = SubmitImputationOperator(
        task_id="submit",
        files="{{ params.vcfs }}",
        refpanel="hrc-r1.1",
        population="eur",
        build="hg19",
        phasing="eagle",
        r2_filter=0.3,  # keep well-imputed variants only
        capacity_poll_interval=POLL_SECONDS,
    ).output

    # Michigan jobs wait in a long queue: wait in the triggerer, without a worker slot.
    JobStateSensor(
        task_id="wait", job_id=job_id, poke_interval=POLL_SECONDS, deferrable=True
    ) >> DownloadResultsOperator(
        task_id="download",
        job_id=job_id,
        destination="{{ params.results }}/{{ run_id | replace(':', '_') }}",
        include=["chr_*.zip", "qc_report.txt", "statistics/*"],
    )
