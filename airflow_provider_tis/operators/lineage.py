"""Moved to :mod:`airflow_provider_tis.core.lineage` (this path keeps working)."""

from airflow_provider_tis.core.lineage import dataset_name, operator_lineage, results_asset

__all__ = ["dataset_name", "operator_lineage", "results_asset"]
