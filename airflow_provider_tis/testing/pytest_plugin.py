"""pytest plugin: the ``tis_simulator`` fixture, for testing DAGs that use this provider offline.

Installed with the provider (entry point ``tis_simulator``), so the fixture is available in any test
suite. Configure it per test with a marker::

    @pytest.mark.tis_simulator(profile="michigan", run_seconds=0.2)
    def test_my_dag(tis_simulator):
        ...  # AIRFLOW_CONN_TIS_DEFAULT points at the simulator here
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from collections.abc import Iterator

    from airflow_provider_tis.testing.simulator import TisSimulator

FAST = {"run_seconds": 0.3, "export_seconds": 0.1, "cancel_settle_seconds": 0.2}


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "tis_simulator(**options): options for the tis_simulator fixture (TisSimulator arguments)"
    )


@pytest.fixture
def tis_simulator(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[TisSimulator]:
    """A running TIS simulator with fast jobs; ``AIRFLOW_CONN_TIS_DEFAULT`` points at it."""
    from airflow_provider_tis.testing.simulator import TisSimulator

    marker = request.node.get_closest_marker("tis_simulator")
    options = {**FAST, **(marker.kwargs if marker else {})}
    with TisSimulator(**options) as sim:
        monkeypatch.setenv("AIRFLOW_CONN_TIS_DEFAULT", sim.connection_json())
        yield sim
