"""Running operators in-process against the simulator (the tis_simulator fixture comes from our plugin)."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_tis.testing import write_vcf


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
def vcf(tmp_path):
    return write_vcf(tmp_path / "in" / "chr20.vcf.gz", chromosomes=("20",))
