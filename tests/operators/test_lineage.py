"""OpenLineage facets and asset outlets of the submit and download operators (in-process)."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_tis.hooks import TisHook
from airflow_provider_tis.operators import DownloadResultsOperator, SubmitImputationOperator
from airflow_provider_tis.operators.lineage import dataset_name, results_asset
from airflow_provider_tis.version_compat import Asset, AssetAlias, ObjectStoragePath
from tests.operators.conftest import make_context

PARAMS = {"refpanel": "topmed-r3", "population": "all"}


def names(datasets):
    return [(d.namespace, d.name) for d in datasets]


def test_submit_reports_the_uploaded_files_and_the_job(tis_simulator, vcf):
    operator = SubmitImputationOperator(task_id="submit", files=str(vcf), **PARAMS)
    job_id = operator.execute(make_context())
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert names(lineage.inputs) == [("file", str(vcf))] and lineage.outputs == []
    facet = lineage.run_facets["externalQuery"]
    assert (facet.externalQueryId, facet.source) == (job_id, tis_simulator.url)


def test_download_reports_every_written_file(tis_simulator, vcf, tmp_path):
    job_id = TisHook().submit_job([vcf], {**PARAMS, "password": "Pw12345"})
    tis_simulator.wait_for_state(job_id, 4)
    operator = DownloadResultsOperator(
        task_id="download", job_id=job_id, destination=str(tmp_path), extract=True, password="Pw12345"
    )
    written = operator.execute(make_context(task_id="download"))
    lineage = operator.get_openlineage_facets_on_complete(None)
    assert names(lineage.outputs) == [("file", w.removeprefix("file://")) for w in written]
    assert ("file", str(tmp_path / "chr20.dose.vcf.gz")) in names(lineage.outputs)  # unpacked members too
    assert lineage.run_facets["externalQuery"].externalQueryId == job_id


def test_dataset_names_follow_the_openlineage_conventions(tmp_path):
    assert dataset_name(tmp_path / "a.vcf.gz") == ("file", str(tmp_path / "a.vcf.gz"))
    assert dataset_name(ObjectStoragePath(f"file://{tmp_path}/a")) == ("file", f"{tmp_path}/a")
    assert dataset_name(ObjectStoragePath("s3://aws_default@lab-bucket/tis/a.zip")) == (
        "s3://lab-bucket",
        "tis/a.zip",
    )


@pytest.mark.parametrize(
    ("destination", "uri"),
    [
        ("/data/tis", "file:///data/tis"),
        ("s3://aws_default@lab-bucket/tis", "s3://lab-bucket/tis"),
        ("gs://bucket/x/", "gs://bucket/x/"),
    ],
)
def test_a_fixed_destination_is_an_asset(destination, uri):
    operator = DownloadResultsOperator(task_id="d", job_id="job-1", destination=destination, emit_asset=True)
    assert operator.outlets == [Asset(uri=uri)]
    assert results_asset(destination) == Asset(uri=uri)


def test_a_templated_destination_is_an_alias_each_run_points_at_its_folder(tis_simulator, vcf, tmp_path):
    job_id = TisHook().submit_job([vcf], PARAMS)
    tis_simulator.wait_for_state(job_id, 4)
    operator = DownloadResultsOperator(
        task_id="d", job_id=job_id, destination="{{ params.results }}", emit_asset=True, asset_alias="lab"
    )
    assert operator.outlets == [AssetAlias(name="lab")]
    operator.destination = str(tmp_path)  # as rendered
    events = mock.MagicMock()
    operator.execute({**make_context(task_id="d"), "outlet_events": events})
    events.__getitem__.assert_called_once_with(AssetAlias(name="lab"))
    events.__getitem__.return_value.add.assert_called_once_with(Asset(uri=f"file://{tmp_path}"))
    assert DownloadResultsOperator(task_id="e", job_id="j", destination="/x").outlets == []
