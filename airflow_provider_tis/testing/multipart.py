"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.core.multipart`."""

from __future__ import annotations

from airflow_provider_tis.testing.core.multipart import FormData, MultipartError, boundary_of, read_multipart

__all__ = ["FormData", "MultipartError", "boundary_of", "read_multipart"]
