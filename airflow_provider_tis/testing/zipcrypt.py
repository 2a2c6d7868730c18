"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.zipcrypt`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.zipcrypt import write_encrypted_zip

__all__ = ["write_encrypted_zip"]
