"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.profiles`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.profiles import MICHIGAN, PROFILES, TIS, Profile

__all__ = ["MICHIGAN", "PROFILES", "TIS", "Profile"]
