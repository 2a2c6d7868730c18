"""Moved to :mod:`airflow_provider_tis.sensors.tis` (this path keeps working)."""

from airflow_provider_tis.sensors.tis import JobStateSensor

__all__ = ["JobStateSensor"]
