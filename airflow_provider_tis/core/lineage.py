"""OpenLineage facets and Airflow assets for the files a TIS job reads and writes.

OpenLineage is optional (``pip install 'airflow-provider-tis[openlineage]'``): its classes are imported
only when the OpenLineage provider asks an operator for facets, so nothing here needs it installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_tis.version_compat import Asset

if TYPE_CHECKING:
    from collections.abc import Iterable


def dataset_name(path: Any) -> tuple[str, str]:
    """OpenLineage (namespace, name) of a local path or an ObjectStoragePath: ``("file", "/abs/path")``,
    ``("s3://bucket", "key")``."""
    if isinstance(path, (str, os.PathLike)) and not hasattr(path, "protocol"):
        return "file", str(Path(path).absolute())
    if path.protocol in ("file", "local", ""):
        return "file", "/" + path.key
    bucket = path.bucket.rsplit("@", 1)[-1]  # Airflow 2.10 keeps a connection id (conn@bucket) in it
    return f"{path.protocol}://{bucket}", path.key


def results_asset(destination: str) -> Any:
    """The Airflow asset of a destination folder or storage URL, without touching the storage.

    ``/data/tis`` becomes ``file:///data/tis``; a connection id in the URL (``s3://conn@bucket``) is dropped.
    """
    text = str(destination).strip()
    if "://" not in text:
        return Asset(uri="file://" + os.path.abspath(os.path.expanduser(text)))
    parts = urlsplit(text)
    return Asset(uri=urlunsplit((parts.scheme, parts.netloc.rsplit("@", 1)[-1], parts.path, "", "")))


def operator_lineage(
    *, inputs: Iterable[Any] = (), outputs: Iterable[Any] = (), job_id: str, server: str
) -> Any:
    """An ``OperatorLineage`` with the files as datasets and the TIS job as an external query run facet."""
    from airflow.providers.common.compat.openlineage.facet import Dataset, ExternalQueryRunFacet
    from airflow.providers.openlineage.extractors import OperatorLineage

    def datasets(paths: Iterable[Any]) -> list[Any]:
        return [Dataset(namespace=ns, name=name) for ns, name in map(dataset_name, paths)]

    return OperatorLineage(
        inputs=datasets(inputs),
        outputs=datasets(outputs),
        run_facets={"externalQuery": ExternalQueryRunFacet(externalQueryId=job_id, source=server)},
    )
