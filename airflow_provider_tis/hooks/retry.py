"""Moved to :mod:`airflow_provider_tis.core.retry` (this path keeps working)."""

from airflow_provider_tis.core.retry import (
    RETRYABLE_STATUS,
    TEMPORARY_STATUS,
    RetryPolicy,
    is_retryable,
    retry_after_seconds,
)

__all__ = ["RETRYABLE_STATUS", "TEMPORARY_STATUS", "RetryPolicy", "is_retryable", "retry_after_seconds"]
