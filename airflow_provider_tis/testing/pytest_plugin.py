"""pytest plugin: the ``tis_simulator`` and ``cgi_simulator`` fixtures, for testing DAGs offline.

Installed with the provider (entry point ``tis_simulator``), so the fixtures are available in any test
suite. Configure them per test with a marker::

    @pytest.mark.tis_simulator(profile="michigan", run_seconds=0.2)
    def test_my_dag(tis_simulator):
        ...  # AIRFLOW_CONN_TIS_DEFAULT points at the simulator here

    @pytest.mark.cgi_simulator(max_jobs=2)
    def test_my_cgi_dag(cgi_simulator):
        ...  # AIRFLOW_CONN_CGI_DEFAULT points at the simulator here
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_tis.testing.cgi.simulator import CgiSimulator
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
