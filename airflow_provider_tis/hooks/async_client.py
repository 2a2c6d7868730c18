"""Moved: the trigger's client is :class:`airflow_provider_tis.hooks.tis.AsyncTisClient`."""

from airflow_provider_tis.hooks.tis import AsyncTisClient

__all__ = ["AsyncTisClient"]
