"""Triggers of the provider, one per service."""

from __future__ import annotations

from airflow_provider_tis.triggers.cgi import CgiJobTrigger
from airflow_provider_tis.triggers.tis import JobStateTrigger, TisCapacityTrigger

__all__ = ["CgiJobTrigger", "JobStateTrigger", "TisCapacityTrigger"]
