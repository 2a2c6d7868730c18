"""Triggers of the provider, one per service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_tis.triggers.cgi import CgiJobTrigger
    from airflow_provider_tis.triggers.gencove import GencoveSampleTrigger
    from airflow_provider_tis.triggers.sevenbridges import SevenBridgesTaskTrigger
    from airflow_provider_tis.triggers.tis import JobStateTrigger, TisCapacityTrigger

__all__ = [
    "CgiJobTrigger",
    "GencoveSampleTrigger",
    "JobStateTrigger",
    "SevenBridgesTaskTrigger",
    "TisCapacityTrigger",
]

__getattr__ = lazy_exports(
    __name__,
    {
        "CgiJobTrigger": "airflow_provider_tis.triggers.cgi",
        "GencoveSampleTrigger": "airflow_provider_tis.triggers.gencove",
        "JobStateTrigger": "airflow_provider_tis.triggers.tis",
        "SevenBridgesTaskTrigger": "airflow_provider_tis.triggers.sevenbridges",
        "TisCapacityTrigger": "airflow_provider_tis.triggers.tis",
    },
)
