"""The Gencove API v2 simulator (``/api/v2``), written from ``shared/gencove-api.md`` §3."""

from __future__ import annotations

from airflow_provider_tis.testing.gencove.cli import add_cli_arguments, describe, from_cli_args
from airflow_provider_tis.testing.gencove.config import FAST, GencoveConfig
from airflow_provider_tis.testing.gencove.records import Sample, SampleFile
from airflow_provider_tis.testing.gencove.server import ROUTES
from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator

__all__ = [
    "FAST",
    "ROUTES",
    "GencoveConfig",
    "GencoveSimulator",
    "Sample",
    "SampleFile",
    "add_cli_arguments",
    "describe",
    "from_cli_args",
]
