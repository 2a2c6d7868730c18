"""The read routes of the simulated v2 API: the account, projects, samples, files and the sample sheet.

Each takes a :class:`~.call.Call` and returns an :class:`~.call.Answer`; :mod:`.server` does the HTTP.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.testing.gencove import views
from airflow_provider_tis.testing.gencove.call import Answer
from airflow_provider_tis.testing.gencove.errors import invalid, not_found
from airflow_provider_tis.testing.gencove.files import DESCRIPTIONS, INPUT_TYPES
from airflow_provider_tis.testing.gencove.records import iso

if TYPE_CHECKING:
    from airflow_provider_tis.testing.gencove.call import Call


def user(call: Call) -> Answer:
    """``GET /user/`` (GCLI ``UserDetails``)."""
    account = call.sim.account
    return Answer({**account, "created": iso(call.sim.created)})


def organization(call: Call) -> Answer:
    """``GET /organization/`` (GCLI ``OrganizationDetails``): archive periods in whole days, 0 when
    the simulator never archives on its own [I]."""
    config = call.sim.config

    def days(seconds: float | None) -> int:
        return round(seconds / 86400) if seconds else 0

    return Answer(
        {
            "id": call.sim.jobs.organization,
            "name": "Simulated Organization",
            "expire_uploads_period_days": 30,
            "archive_period_days": days(config.archive_after),
            "archive_restore_period_days": days(config.restore_period),
            "uploads_enabled": True,
        }
    )


def api_keys(call: Call) -> Answer:
    """``GET /user-api-keys/``: the account's keys (never the secret part)."""
    now = call.sim.now()
    keys = [k.to_json(now) for k in sorted(call.sim.keys.keys.values(), key=lambda k: -k.created)]
    return Answer(views.paginate(keys, call.query, call.url, call.sim.config))


def projects(call: Call) -> Answer:
    """``GET /projects/``: newest first [I]; ``hidden_status`` (default visible [I]) and ``search``."""
    hidden = views.choice(call.query, "hidden_status", ("all", "hidden", "visible"), "visible")
    search = call.query.get("search", "").lower()
    table = call.sim.jobs
    with table.lock:
        chosen = [
            p
            for p in sorted(table.projects.values(), key=lambda p: (-p.created, p.id))
            if (hidden == "all" or p.hidden == (hidden == "hidden")) and search in f"{p.id} {p.name}".lower()
        ]
        items = [views.project_json(p, table.in_project(p.id)) for p in chosen]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def project(call: Call) -> Answer:
    """``GET /projects/{id}`` (GOAS ``ProjectDetail``)."""
    found = call.project()
    return Answer(views.project_json(found, call.sim.jobs.in_project(found.id), detail=True))


def pipeline_capabilities(call: Call) -> Answer:
    """``GET /pipeline-capabilities/?search=<id>,<id>`` (how the CLI's ``projects list`` names them)."""
    wanted = [s for s in call.query.get("search", "").split(",") if s]
    found = [c for c in call.sim.jobs.capabilities.values() if not wanted or c.id in wanted]
    items = [views.capability_json(c) for c in found]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def pipeline_capability(call: Call) -> Answer:
    """``GET /pipeline-capabilities/{id}``."""
    found = call.sim.jobs.capabilities.get(call.id)
    if found is None:
        raise not_found()
    return Answer(views.capability_json(found))


def file_types(call: Call) -> Answer:
    """``GET /file-types/[?project_id=]``: a project's file types, or every one known."""
    project_id = call.query.get("project_id")
    if project_id:
        if project_id not in call.sim.jobs.projects:  # [I] the wording
            raise invalid("project_id", f'Invalid pk "{project_id}" - object does not exist.')
        kinds = call.sim.jobs.projects[project_id].capability.file_types
    else:
        kinds = tuple(k for c in call.sim.jobs.capabilities.values() for k in c.file_types)
    keys = list(dict.fromkeys((*INPUT_TYPES, *kinds)))
    items = [{"key": k, "description": DESCRIPTIONS.get(k, k)} for k in keys]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def project_samples(call: Call) -> Answer:
    """``GET /project-samples/{id}`` with the GOAS filters (§3.3)."""
    found = call.project()
    chosen = views.filter_samples(call.sim.jobs.in_project(found.id), call.query)
    items = [views.sample_json(s) for s in chosen]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def sample(call: Call) -> Answer:
    """``GET /samples/{id}``: with files and fresh pre-signed ``download_url``s (§3.4)."""
    found = call.sample()
    return Answer(views.sample_detail_json(found, call.sim.presign))


def sample_statuses(call: Call) -> Answer:
    """``GET /sample-statuses/{id}``: the analysis history, newest first [I]."""
    found = call.sample()
    items = [{"status": s.status, "note": s.note, "created": iso(s.created)} for s in reversed(found.history)]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def sample_metadata(call: Call) -> Answer:
    """``GET /sample-metadata/{id}``."""
    return Answer({"metadata": call.sample().metadata})


def sample_qc(call: Call) -> Answer:
    """``GET /sample-quality-controls/{id}``."""
    items = views.qc_json(call.sample())
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def restore_group(call: Call) -> Answer:
    """``GET /sample-restore-group/{id}``: the group's samples, with the project-samples filters."""
    group = call.sim.jobs.restore_groups.get(call.id)
    if group is None:
        raise not_found()
    with call.sim.jobs.lock:
        call.sim.jobs.advance()
        members = [call.sim.jobs.jobs[i] for i in group.sample_ids]
    items = [views.sample_json(s) for s in views.filter_samples(members, call.query)]
    return Answer(views.paginate(items, call.query, call.url, call.sim.config))


def sample_sheet(call: Call) -> Answer:
    """``GET /sample-sheet/``: succeeded uploads by client id (``search``: a gncv:// path prefix)."""
    status = views.choice(call.query, "status", ("all", "assigned", "unassigned"), "all")
    sort_by = views.choice(call.query, "sort_by", ("created", "modified"), "created")
    descending = views.choice(call.query, "sort_order", ("asc", "desc"), "desc") == "desc"
    rows = call.sim.jobs.uploads.sample_sheet(call.query.get("search", ""), status, sort_by, descending)
    return Answer(views.paginate(rows, call.query, call.url, call.sim.config))


def file_checksum(call: Call) -> Answer:
    """``GET /files/{id}.sha256``: ``<sha256>  <name>`` as ``sha256sum`` writes it [I: the format]."""
    found = call.sim.file(call.id)
    if found is None:
        raise not_found()
    name = call.query.get("filename") or found.filename
    return Answer(text=f"{found.sha256}  {name}\n", content_type="text/plain")
