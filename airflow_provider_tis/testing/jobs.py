"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.jobs`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.jobs import (
    ACTIVE,
    CANCELED,
    DEAD,
    DELETED,
    ERROR,
    EXPORTING,
    FAIL_NOTIFIED,
    FAILED,
    OK,
    RETIRED,
    RUNNING,
    STRAND_FLIP_ERROR,
    SUCCESS,
    SUCCESS_NOTIFIED,
    WAITING,
    JobTable,
    SimConfig,
    SimFile,
    SimJob,
    display_size,
)

__all__ = [
    "ACTIVE",
    "CANCELED",
    "DEAD",
    "DELETED",
    "ERROR",
    "EXPORTING",
    "FAILED",
    "FAIL_NOTIFIED",
    "OK",
    "RETIRED",
    "RUNNING",
    "STRAND_FLIP_ERROR",
    "SUCCESS",
    "SUCCESS_NOTIFIED",
    "WAITING",
    "JobTable",
    "SimConfig",
    "SimFile",
    "SimJob",
    "display_size",
]
