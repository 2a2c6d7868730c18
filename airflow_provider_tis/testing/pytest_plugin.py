"""pytest plugin: the ``tis_simulator``, ``cgi_simulator``, ``sevenbridges_simulator`` and ``gencove_simulator``
fixtures, for testing DAGs offline.

Installed with the provider (entry point ``tis_simulator``), so the fixtures are available in any test
suite. Configure them per test with a marker::

    @pytest.mark.tis_simulator(profile="michigan", run_seconds=0.2)
    def test_my_dag(tis_simulator):
        ...  # AIRFLOW_CONN_TIS_DEFAULT points at the simulator here

    @pytest.mark.cgi_simulator(max_jobs=2)
    def test_my_cgi_dag(cgi_simulator):
        ...  # AIRFLOW_CONN_CGI_DEFAULT points at the simulator here

    def test_my_gencove_dag(gencove_simulator):
        ...  # AIRFLOW_CONN_GENCOVE_DEFAULT; gencove_simulator.project_id is a project to use

Each fixture's simulator runs with fast timings (the FAST options of its package), which a marker's
options override.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_tis.testing.cgi.simulator import CgiSimulator
    from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator
    from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator
    from airflow_provider_tis.testing.tis.simulator import TisSimulator

FAST = {"run_seconds": 0.3, "export_seconds": 0.1, "cancel_settle_seconds": 0.2}
CGI_FAST = {"run_seconds": 0.3}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tis_simulator(**options): options for the tis_simulator fixture (TisSimulator arguments)"
    )
    config.addinivalue_line(
        "markers", "cgi_simulator(**options): options for the cgi_simulator fixture (CgiSimulator arguments)"
    )
    config.addinivalue_line(
        "markers",
        "sevenbridges_simulator(**options): options for the sevenbridges_simulator fixture "
        "(SevenBridgesSimulator arguments)",
    )
    config.addinivalue_line(
        "markers",
        "gencove_simulator(**options): options for the gencove_simulator fixture (GencoveSimulator arguments)",
    )


@pytest.fixture
def tis_simulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[TisSimulator]:
    """A running TIS simulator with fast jobs; ``AIRFLOW_CONN_TIS_DEFAULT`` points at it."""
    from airflow_provider_tis.testing.tis.simulator import TisSimulator

    marker = request.node.get_closest_marker("tis_simulator")
    options = {**FAST, **(marker.kwargs if marker else {})}
    with TisSimulator(**options) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", sim.connection_json())
        yield sim


@pytest.fixture
def cgi_simulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[CgiSimulator]:
    """A running CGI simulator with fast jobs; ``AIRFLOW_CONN_CGI_DEFAULT`` points at it."""
    from airflow_provider_tis.testing.cgi.simulator import CgiSimulator

    marker = request.node.get_closest_marker("cgi_simulator")
    options = {**CGI_FAST, **(marker.kwargs if marker else {})}
    with CgiSimulator(**options) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_CGI_DEFAULT", sim.connection_json())
        yield sim


@pytest.fixture
def sevenbridges_simulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[SevenBridgesSimulator]:
    """A running Seven Bridges simulator with fast tasks; ``AIRFLOW_CONN_SEVENBRIDGES_DEFAULT`` points at it
    (its project as the connection's default)."""
    from airflow_provider_tis.testing.sevenbridges import FAST as SBG_FAST
    from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator

    marker = request.node.get_closest_marker("sevenbridges_simulator")
    with SevenBridgesSimulator(**{**SBG_FAST, **(marker.kwargs if marker else {})}) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_SEVENBRIDGES_DEFAULT", sim.connection_json())
        yield sim


@pytest.fixture
def gencove_simulator(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> Iterator[GencoveSimulator]:
    """A running Gencove simulator with fast samples; ``AIRFLOW_CONN_GENCOVE_DEFAULT`` points at it."""
    from airflow_provider_tis.testing.gencove import FAST as GENCOVE_FAST
    from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator

    marker = request.node.get_closest_marker("gencove_simulator")
    with GencoveSimulator(**{**GENCOVE_FAST, **(marker.kwargs if marker else {})}) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_GENCOVE_DEFAULT", sim.connection_json())
        yield sim
