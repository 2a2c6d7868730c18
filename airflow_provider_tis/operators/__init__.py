"""Operators of the provider, one module per service (and its transfers)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_tis.operators.cancel import CancelJobOperator
    from airflow_provider_tis.operators.cgi import (
        CgiDeleteJobOperator,
        CgiDownloadResultsOperator,
        CgiJobLink,
        CgiSubmitOperator,
    )
    from airflow_provider_tis.operators.download import DownloadResultsOperator
    from airflow_provider_tis.operators.gencove import (
        GencoveCancelSamplesOperator,
        GencoveRestoreSamplesOperator,
    )
    from airflow_provider_tis.operators.gencove_transfer import (
        GencoveDownloadOperator,
        GencoveImportSamplesOperator,
    )
    from airflow_provider_tis.operators.sevenbridges import (
        SevenBridgesAbortTaskOperator,
        SevenBridgesRunTaskOperator,
        SevenBridgesTaskLink,
    )
    from airflow_provider_tis.operators.sevenbridges_transfer import (
        SevenBridgesDownloadOperator,
        SevenBridgesUploadOperator,
    )
    from airflow_provider_tis.operators.submit import SubmitImputationOperator, TisJobLink

__all__ = [
    "CancelJobOperator",
    "CgiDeleteJobOperator",
    "CgiDownloadResultsOperator",
    "CgiJobLink",
    "CgiSubmitOperator",
    "DownloadResultsOperator",
    "GencoveCancelSamplesOperator",
    "GencoveDownloadOperator",
    "GencoveImportSamplesOperator",
    "GencoveRestoreSamplesOperator",
    "SevenBridgesAbortTaskOperator",
    "SevenBridgesDownloadOperator",
    "SevenBridgesRunTaskOperator",
    "SevenBridgesTaskLink",
    "SevenBridgesUploadOperator",
    "SubmitImputationOperator",
    "TisJobLink",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CancelJobOperator": "airflow_provider_tis.operators.cancel",
        "CgiDeleteJobOperator": "airflow_provider_tis.operators.cgi",
        "CgiDownloadResultsOperator": "airflow_provider_tis.operators.cgi",
        "CgiJobLink": "airflow_provider_tis.operators.cgi",
        "CgiSubmitOperator": "airflow_provider_tis.operators.cgi",
        "DownloadResultsOperator": "airflow_provider_tis.operators.download",
        "GencoveCancelSamplesOperator": "airflow_provider_tis.operators.gencove",
        "GencoveDownloadOperator": "airflow_provider_tis.operators.gencove_transfer",
        "GencoveImportSamplesOperator": "airflow_provider_tis.operators.gencove_transfer",
        "GencoveRestoreSamplesOperator": "airflow_provider_tis.operators.gencove",
        "SevenBridgesAbortTaskOperator": "airflow_provider_tis.operators.sevenbridges",
        "SevenBridgesDownloadOperator": "airflow_provider_tis.operators.sevenbridges_transfer",
        "SevenBridgesRunTaskOperator": "airflow_provider_tis.operators.sevenbridges",
        "SevenBridgesTaskLink": "airflow_provider_tis.operators.sevenbridges",
        "SevenBridgesUploadOperator": "airflow_provider_tis.operators.sevenbridges_transfer",
        "SubmitImputationOperator": "airflow_provider_tis.operators.submit",
        "TisJobLink": "airflow_provider_tis.operators.submit",
    },
)
