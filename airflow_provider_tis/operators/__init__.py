"""Operators of the TIS provider."""

from __future__ import annotations

from airflow_provider_tis.operators.cancel import CancelJobOperator
from airflow_provider_tis.operators.download import DownloadResultsOperator
from airflow_provider_tis.operators.submit import SubmitImputationOperator, TisJobLink

__all__ = ["CancelJobOperator", "DownloadResultsOperator", "SubmitImputationOperator", "TisJobLink"]
