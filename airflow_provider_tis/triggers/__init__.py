"""Triggers of the TIS provider."""

from __future__ import annotations

from airflow_provider_tis.triggers.job_state import JobStateTrigger

__all__ = ["JobStateTrigger"]
