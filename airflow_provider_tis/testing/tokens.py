"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.tokens`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.tokens import api_token, decode_jwt, encode_jwt

__all__ = ["api_token", "decode_jwt", "encode_jwt"]
