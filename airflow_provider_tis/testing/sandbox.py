"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.core.sandbox`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.sandbox import AirflowSandbox

__all__ = ["AirflowSandbox"]
