"""Running operators in-process against the simulator (the tis_simulator fixture comes from our plugin)."""

from __future__ import annotations

from unittest import mock

import pytest


def make_context(*, run_id: str = "run-1", map_index: int = -1, try_number: int = 1, task_id: str = "submit"):
    ti = mock.MagicMock()
    ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number = (
        "dag",
        run_id,
        task_id,
        map_index,
        try_number,
    )
    ti.get_first_reschedule_date.return_value = None
    return {"ti": ti, "task_instance": ti}


@pytest.fixture
def memory_fs():
    """A fresh in-memory filesystem registered for memory:// ObjectStoragePaths."""
    from fsspec.implementations.memory import MemoryFileSystem

    from airflow_provider_tis.version_compat import AIRFLOW_V_3_0_PLUS

    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk.io import attach
        from airflow.sdk.io.store import _STORE_CACHE
    else:
        from airflow.io.store import _STORE_CACHE, attach

    _STORE_CACHE.clear()
    fs = MemoryFileSystem()
    fs.store.clear()
    fs.pseudo_dirs.clear()
    fs.pseudo_dirs.append("")
    attach("memory", fs=fs)
    yield fs
    _STORE_CACHE.clear()
