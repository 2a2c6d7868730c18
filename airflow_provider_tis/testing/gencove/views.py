"""JSON of the v2 API: records as its serializers render them, list filters and DRF pagination.

Pages are Django REST framework ``LimitOffsetPagination`` wrapped in ``meta`` (§3.1):
``{"meta": {"count", "next", "previous"}, "results": [...]}``, with absolute ``next``/``previous``
links built from the request's own URL (query keys sorted, as DRF's ``replace_query_param`` does).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from airflow_provider_tis.testing.gencove.errors import invalid
from airflow_provider_tis.testing.gencove.records import (
    ARCHIVED,
    AVAILABLE,
    FAILED_QC,
    RESTORE_STEPS,
    RESTORED,
    SUCCEEDED,
    iso,
)

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_tis.testing.gencove.config import GencoveConfig
    from airflow_provider_tis.testing.gencove.records import (
        Capability,
        Project,
        Sample,
        SampleFile,
        Status,
    )

#: List filters of ``/project-samples/{id}`` and ``/sample-restore-group/{id}`` (GOAS enums, §3.3).
SAMPLE_FILTERS = {
    "status": ("all", "completed", "failed", "running", "succeeded"),
    "archive_status": ("all", "archived", "available", "restore_requested"),
    "hidden_status": ("all", "hidden", "visible"),
    "sort_by": ("client_id", "created", "id", "modified", "status"),
    "sort_order": ("asc", "desc"),
}


def status_json(status: Status, archive: bool = False) -> dict[str, Any]:
    body = {"id": status.id, "status": status.status, "note": status.note, "created": iso(status.created)}
    if archive:
        del body["note"]
        body["transition_cutoff"] = iso(status.transition_cutoff)
    return body


def sample_json(sample: Sample) -> dict[str, Any]:
    """A sample in a list (GOAS ``SampleList``)."""
    return {
        "id": sample.id,
        "run": sample.run,
        "created": iso(sample.created),
        "hidden": sample.hidden,
        "modified": iso(sample.modified),
        "client_id": sample.client_id,
        "physical_id": sample.physical_id,
        "legacy_id": sample.legacy_id,
        "last_status": status_json(sample.history[-1]),
        "archive_last_status": status_json(sample.archive_history[-1], archive=True),
        "failed_qc": sample.history[-1].note if sample.status == FAILED_QC else "",
    }


def sample_detail_json(sample: Sample, presign: Callable[[SampleFile], str]) -> dict[str, Any]:
    """A sample with its files (GOAS ``SampleDetails``). An archived file shows no ``download_url``
    (``SampleFileNested``: "skips displaying download url if file is not available")."""
    body = sample_json(sample)
    del body["failed_qc"]
    body["project"] = sample.project_id
    body["files"] = [
        {
            "id": f.id,
            "s3_path": f.s3_path,
            "size": f.size,
            "download_url": presign(f) if sample.downloadable else None,
            "file_type": f.file_type,
            "checksum_sha256": f.sha256,
        }
        for f in sample.files
    ]
    return body


def capability_json(capability: Capability) -> dict[str, Any]:
    return {"id": capability.id, "name": capability.name, "key": capability.key}


def project_json(project: Project, samples: list[Sample], detail: bool = False) -> dict[str, Any]:
    """A project (GOAS ``Project``; ``ProjectDetail`` adds ``files``). ``roles`` is an object, as the
    CLI's model needs; its content is [I]."""
    modified = max([project.created, *(s.modified for s in samples)])
    body: dict[str, Any] = {
        "id": project.id,
        "name": project.name,
        "description": project.description,
        "created": iso(project.created),
        "modified": iso(modified),
        "hidden": project.hidden,
        "organization": project.organization,
        "organization_name": "Simulated Organization",
        "sample_count": sum(1 for s in samples if not s.hidden),
        "hidden_sample_count": sum(1 for s in samples if s.hidden),
        "pipeline_capabilities": project.capability.id,
        "project_modifications": None,
        "roles": {"organization": ["admin"]},
        "webhook_url": "",
        "is_shared": False,
        "locked": project.locked,
    }
    if detail:
        body["files"] = []
    return body


def qc_json(sample: Sample) -> list[dict[str, Any]]:
    """Quality control results of a finished sample (``/sample-quality-controls/{id}``) [I: the keys]."""
    if not sample.finished or sample.status not in (SUCCEEDED, FAILED_QC):
        return []
    coverage = 0.18 if sample.status == FAILED_QC else 1.02
    return [
        {
            "quality_control_type": {"key": "bases_dedup", "type": "float"},
            "quality_control": {
                "value_expected": 1.0e9,
                "value_measured": 2.4e9,
                "value_string": None,
                "status": "pass",
            },
        },
        {
            "quality_control_type": {"key": "effective_coverage", "type": "float"},
            "quality_control": {
                "value_expected": 0.5,
                "value_measured": coverage,
                "value_string": None,
                "status": "fail" if sample.status == FAILED_QC else "pass",
            },
        },
    ]


# -- query parameters, filters, pages ------------------------------------------------------------


def query_of(raw: str) -> dict[str, str]:
    """The query's parameters, the last value of each (as Django's ``QueryDict.get``)."""
    return {key: values[-1] for key, values in parse_qs(raw, keep_blank_values=True).items()}


def choice(query: dict[str, str], name: str, allowed: tuple[str, ...], default: str) -> str:
    """A django-filter choice parameter; 400 for a value outside ``allowed``, blank means ``default``."""
    value = query.get(name, "") or default
    if value not in allowed:
        raise invalid(name, f"Select a valid choice. {value} is not one of the available choices.")
    return value


def _status_matches(sample: Sample, wanted: str) -> bool:
    # [I] completed = every finished sample; failed = failed and failed qc; running = not finished.
    if wanted == "succeeded":
        return sample.status == SUCCEEDED
    if wanted == "failed":
        return sample.status.startswith("failed")
    if wanted == "completed":
        return sample.finished
    return wanted != "running" or not sample.finished


def _archive_matches(sample: Sample, wanted: str) -> bool:
    # [I] available includes restored (both downloadable); restore_requested covers the restore steps.
    if wanted == "available":
        return sample.archive_status in (AVAILABLE, RESTORED)
    if wanted == "archived":
        return sample.archive_status == ARCHIVED
    if wanted == "restore_requested":
        return sample.archive_status in RESTORE_STEPS[:-1]
    return True


def filter_samples(samples: list[Sample], query: dict[str, str]) -> list[Sample]:
    """Samples matching the query's filters, sorted (default: newest created first [I])."""
    status = choice(query, "status", SAMPLE_FILTERS["status"], "all")
    archive = choice(query, "archive_status", SAMPLE_FILTERS["archive_status"], "all")
    hidden = choice(query, "hidden_status", SAMPLE_FILTERS["hidden_status"], "visible")
    sort_by = choice(query, "sort_by", SAMPLE_FILTERS["sort_by"], "created")
    descending = choice(query, "sort_order", SAMPLE_FILTERS["sort_order"], "desc") == "desc"
    search = query.get("search", "").lower()  # "by id or client id or metadata content"
    chosen = [
        s
        for s in samples
        if _status_matches(s, status)
        and _archive_matches(s, archive)
        and (hidden == "all" or s.hidden == (hidden == "hidden"))
        and (
            not search
            or search
            in f"{s.id}\n{s.client_id}\n{'' if s.metadata is None else json.dumps(s.metadata)}".lower()
        )
    ]
    keys: dict[str, Callable[[Sample], Any]] = {
        "client_id": lambda s: s.client_id,
        "created": lambda s: s.created,
        "id": lambda s: s.id,
        "modified": lambda s: s.modified,
        "status": lambda s: s.status,
    }
    return sorted(chosen, key=lambda s: (keys[sort_by](s), s.id), reverse=descending)


def _replace(url: str, key: str, value: int | None) -> str:
    """DRF's ``replace_query_param`` (``value`` None: ``remove_query_param``)."""
    scheme, netloc, path, raw, fragment = urlsplit(url)
    query = parse_qs(raw, keep_blank_values=True)
    query.pop(key, None)
    if value is not None:
        query[key] = [str(value)]
    return urlunsplit((scheme, netloc, path, urlencode(sorted(query.items()), doseq=True), fragment))


def _positive(raw: str | None, default: int, *, strict: bool = False, cutoff: int | None = None) -> int:
    """DRF's ``_positive_int``; anything invalid gives ``default``."""
    try:
        value = int(raw)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return default
    if value < 0 or (value == 0 and strict):
        return default
    return min(value, cutoff) if cutoff else value


def paginate(items: list[Any], query: dict[str, str], url: str, config: GencoveConfig) -> dict[str, Any]:
    """One page of ``items`` with absolute ``next``/``previous`` links built from the request's ``url``.

    :param query: the request's query parameters (``limit``, ``offset``).
    :param url: the request's absolute URL, query included.
    """
    limit = _positive(query.get("limit"), config.page_size, strict=True, cutoff=config.max_page_size)
    offset = _positive(query.get("offset"), 0)
    count = len(items)
    with_limit = _replace(url, "limit", limit)
    following = None if offset + limit >= count else _replace(with_limit, "offset", offset + limit)
    if offset <= 0:
        previous = None
    else:
        previous = _replace(with_limit, "offset", offset - limit if offset - limit > 0 else None)
    return {
        "meta": {"count": count, "next": following, "previous": previous},
        "results": items[offset : offset + limit],
    }
