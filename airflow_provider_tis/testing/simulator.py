"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.simulator`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.store import ConcurrencyGauge
from airflow_provider_tis.testing.tis.simulator import TisSimulator

__all__ = ["ConcurrencyGauge", "TisSimulator"]
