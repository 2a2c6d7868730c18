"""Sensors of the provider, one per service."""

from __future__ import annotations

from airflow_provider_tis.sensors.cgi import CgiJobSensor
from airflow_provider_tis.sensors.tis import JobStateSensor

__all__ = ["CgiJobSensor", "JobStateSensor"]
