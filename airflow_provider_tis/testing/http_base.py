"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.core.http_base`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.http_base import ENDLESS_BLOCKS, HttpError, SimHandler, SimServer
from airflow_provider_tis.testing.tis.simulator import presigned_path

__all__ = ["ENDLESS_BLOCKS", "HttpError", "SimHandler", "SimServer", "presigned_path"]
