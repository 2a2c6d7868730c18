"""The Seven Bridges / BioData Catalyst public API (v2) simulator, written from the API facts
(``shared/sevenbridges-api.md`` §1)."""

from __future__ import annotations

from airflow_provider_tis.testing.sevenbridges.apps import App, AppInput, AppOutput
from airflow_provider_tis.testing.sevenbridges.cli import add_cli_arguments, describe, from_cli_args
from airflow_provider_tis.testing.sevenbridges.config import SbgConfig
from airflow_provider_tis.testing.sevenbridges.simulator import FAST, SevenBridgesSimulator
from airflow_provider_tis.testing.sevenbridges.tasks import STATUSES, TERMINAL, Task

__all__ = [
    "FAST",
    "STATUSES",
    "TERMINAL",
    "App",
    "AppInput",
    "AppOutput",
    "SbgConfig",
    "SevenBridgesSimulator",
    "Task",
    "add_cli_arguments",
    "describe",
    "from_cli_args",
]
