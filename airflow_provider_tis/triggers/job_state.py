"""Moved to :mod:`airflow_provider_tis.triggers.tis`.

This path stays importable for good: deferred tasks store ``airflow_provider_tis.triggers.job_state.
JobStateTrigger`` in the database, and the triggerer imports it from there.
"""

from airflow_provider_tis.triggers.tis import EVENT_STATUSES, JobStateTrigger

__all__ = ["EVENT_STATUSES", "JobStateTrigger"]
