"""Sensors of the provider, one per service."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.core.lazy import lazy_exports

if TYPE_CHECKING:
    from airflow_provider_tis.sensors.cgi import CgiJobSensor
    from airflow_provider_tis.sensors.gencove import GencoveSampleSensor
    from airflow_provider_tis.sensors.sevenbridges import SevenBridgesTaskSensor
    from airflow_provider_tis.sensors.tis import JobStateSensor

__all__ = ["CgiJobSensor", "GencoveSampleSensor", "JobStateSensor", "SevenBridgesTaskSensor"]

__getattr__ = lazy_exports(
    __name__,
    {
        "CgiJobSensor": "airflow_provider_tis.sensors.cgi",
        "GencoveSampleSensor": "airflow_provider_tis.sensors.gencove",
        "JobStateSensor": "airflow_provider_tis.sensors.tis",
        "SevenBridgesTaskSensor": "airflow_provider_tis.sensors.sevenbridges",
    },
)
