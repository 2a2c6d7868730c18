"""Sensors of the TIS provider."""

from __future__ import annotations

from airflow_provider_tis.sensors.job_state import JobStateSensor

__all__ = ["JobStateSensor"]
