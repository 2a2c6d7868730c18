"""Operators of the provider: TOPMed/Michigan Imputation Server and Cancer Genome Interpreter."""

from __future__ import annotations

from airflow_provider_tis.operators.cancel import CancelJobOperator
from airflow_provider_tis.operators.cgi import (
    CgiDeleteJobOperator,
    CgiDownloadResultsOperator,
    CgiJobLink,
    CgiSubmitOperator,
)
from airflow_provider_tis.operators.download import DownloadResultsOperator
from airflow_provider_tis.operators.submit import SubmitImputationOperator, TisJobLink

__all__ = [
    "CancelJobOperator",
    "CgiDeleteJobOperator",
    "CgiDownloadResultsOperator",
    "CgiJobLink",
    "CgiSubmitOperator",
    "DownloadResultsOperator",
    "SubmitImputationOperator",
    "TisJobLink",
]
