"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.outputs`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.outputs import md5_of, write_outputs

__all__ = ["md5_of", "write_outputs"]
