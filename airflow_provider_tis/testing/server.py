"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.server`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.server import PAGE_SIZE, ApiHandler, escape_html, make_servers

__all__ = ["PAGE_SIZE", "ApiHandler", "escape_html", "make_servers"]
