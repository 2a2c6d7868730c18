"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.core.faults`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.faults import LIES, Faults, RequestRecord
from airflow_provider_tis.testing.tis.simulator import ROUTES

__all__ = ["LIES", "ROUTES", "Faults", "RequestRecord"]
