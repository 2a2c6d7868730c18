"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.core.store`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.store import StoreHandler

__all__ = ["StoreHandler"]
