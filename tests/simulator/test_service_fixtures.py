"""The pytest plugin's Seven Bridges and Gencove fixtures: a running simulator, the default connection
pointing at it, and a marker's options taking effect."""

from __future__ import annotations

import json
import os

import pytest

from airflow_provider_tis.hooks.gencove import GencoveHook
from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook


@pytest.mark.sevenbridges_simulator(run_seconds=0.7)
def test_the_sevenbridges_simulator_fixture_sets_the_connection_and_takes_marker_options(
    sevenbridges_simulator,
):
    conn = json.loads(os.environ["AIRFLOW_CONN_SEVENBRIDGES_DEFAULT"])
    assert conn["conn_type"] == "sevenbridges" and conn["password"] == sevenbridges_simulator.token
    assert sevenbridges_simulator.config.run_seconds == 0.7  # the marker's, over FAST's 0.3
    project = SevenBridgesHook().get_project()  # the connection's default project, over HTTP
    assert project.id == sevenbridges_simulator.project


@pytest.mark.gencove_simulator(page_size=3)
def test_the_gencove_simulator_fixture_sets_the_connection_and_takes_marker_options(gencove_simulator):
    conn = json.loads(os.environ["AIRFLOW_CONN_GENCOVE_DEFAULT"])
    assert conn["conn_type"] == "gencove" and conn["password"] == gencove_simulator.api_key
    assert gencove_simulator.config.page_size == 3 and gencove_simulator.config.stage_seconds == 0.1
    ids = {gencove_simulator.add_sample(f"S{n}") for n in range(5)}
    listed = GencoveHook().list_project_samples(gencove_simulator.project_id)
    assert {s.id for s in listed} == ids
