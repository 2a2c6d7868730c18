"""The ``s3_uri`` form of :class:`~airflow_provider_tis.operators.gencove_transfer.GencoveImportSamplesOperator`:
Gencove imports every FASTQ under an S3 prefix itself (``POST /s3-uri-import/``, shared/gencove-api.md §3.3).

Gencove's answer names no samples, and the import may finish later. [I] To know which samples it made, and to
never import twice on a retry, the samples' metadata carries a mark of this task instance
(``airflow_import``); samples are then found by searching the project for it (``search`` covers metadata).
"""

from __future__ import annotations

import time
from typing import Any

#: The metadata key marking the samples of one task instance's S3 import.
MARK = "airflow_import"


def import_s3_uri(operator: Any, project_id: str, s3_uri: str, metadata: Any, mark: str) -> dict[str, str]:
    """Import ``s3_uri`` into the project unless an earlier try did; {client id: sample id} of its samples.

    :param operator: the import operator (its ``hook``, ``log``, ``import_timeout`` and ``poll_interval``).
    :param project_id: the project (a checked UUID).
    :param s3_uri: ``s3://bucket/prefix/``.
    :param metadata: the user's metadata: a dict or None (the mark is added to it).
    :param mark: this task instance's import folder name (the same on every try).
    """
    from airflow_provider_tis.hooks.gencove_errors import GencoveApiError, GencoveConfigError

    if not s3_uri.startswith("s3://") or len(s3_uri) <= len("s3://"):
        raise GencoveConfigError(f"s3_uri must be s3://bucket/prefix/, got {s3_uri!r}. Nothing was sent.")
    if metadata is not None and not isinstance(metadata, dict):
        raise GencoveConfigError(
            "With s3_uri, `metadata` must be a dict (or left out): the operator adds the key "
            f"'{MARK}' to find the samples Gencove makes. Got {type(metadata).__name__}. Nothing was sent."
        )
    hook, log = operator.hook, operator.log
    earlier = _marked(hook, project_id, mark)
    if earlier:
        log.info("An earlier try imported %s already (%d samples); not imported again.", s3_uri, len(earlier))
        return earlier
    hook.s3_uri_import(project_id, s3_uri, metadata={**(metadata or {}), MARK: mark})
    log.info("Gencove imports %s into project %s.", s3_uri, project_id)
    deadline = time.monotonic() + operator.import_timeout
    seen: dict[str, str] = {}
    while True:
        found = _marked(hook, project_id, mark)
        if found and found == seen:  # the same samples on two polls in a row: the import is done [I]
            return found
        if time.monotonic() > deadline:
            if found:
                return found
            raise GencoveApiError(
                f"Gencove made no sample from {s3_uri} within {operator.import_timeout:g} s. Check that the "
                "prefix holds FASTQs and that Gencove's role may read the bucket.",
                status=408,
            )
        seen = found
        time.sleep(operator.poll_interval)


def _marked(hook: Any, project_id: str, mark: str) -> dict[str, str]:
    """{client id: sample id} of the project's samples whose metadata carries ``mark``."""
    samples = hook.list_project_samples(project_id, search=mark)
    found: dict[str, str] = {}
    for sample in samples:
        found.setdefault(sample.client_id or sample.id, sample.id)
    return found
