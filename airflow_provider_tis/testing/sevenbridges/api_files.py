"""Routes: ``/user``, ``/rate_limit``, ``/projects``, ``/files`` (listing, lookup by name, folders,
``download_info``) and ``/bulk/files/get``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError, error_body
from airflow_provider_tis.testing.sevenbridges.files import FILE_LIST_FIELDS, FOLDER
from airflow_provider_tis.testing.sevenbridges.paging import page, select

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.call import Call, Reply
    from airflow_provider_tis.testing.sevenbridges.files import SbgFile

#: A project listing's items without ``fields`` [I].
PROJECT_LIST_FIELDS = ("href", "id", "name", "category")


def user(call: Call) -> Reply:
    """``GET /user``: the token's user."""
    return 200, select(call.sim.profile(call.user), call.query)


def rate_limit(call: Call) -> Reply:
    """``GET /rate_limit``: the user's budget, not counted against it (§1.3). ``instance_limit`` is the
    parallel-instance quota [I: 25, never reached here]."""
    budget = call.sim.limiter.peek(call.user)
    reset = budget.reset_at(call.sim.config.reset_in_ms)
    return 200, {
        "rate": {"limit": budget.limit, "remaining": budget.remaining, "reset": reset},
        "instance_limit": {"limit": 25, "remaining": 25},
    }


# -- projects -----------------------------------------------------------------------------------


def projects(call: Call) -> Reply:
    """``GET /projects`` and ``GET /projects/{owner}``: the projects the user may use."""
    owner = call.params.get("owner")
    store = call.sim.files
    visible = [
        p.resource(call.base)
        for p in store.projects.values()
        if (call.user == p.owner or call.user in p.members) and owner in (None, p.owner)
    ]
    if name := call.arg("name"):
        visible = [p for p in visible if p["name"] == name]
    body, total = page(visible, call.query, call.url, call.sim.config, PROJECT_LIST_FIELDS)
    call.total(total)
    return 200, body


def project(call: Call) -> Reply:
    """``GET /projects/{owner}/{name}``."""
    found = call.sim.files.project_for(call.user, f"{call.params['owner']}/{call.params['name']}")
    return 200, select(found.resource(call.base), call.query)


# -- files --------------------------------------------------------------------------------------


def _matches(sim_file: SbgFile, call: Call) -> bool:
    """The listing's filters: ``name`` (repeatable, any of them; the lookup by name), ``tag``,
    ``metadata.<key>`` and ``origin.task``."""
    names = call.query.get("name")
    if names and sim_file.name not in names:
        return False
    tags = call.query.get("tag")
    if tags and not set(tags) & set(sim_file.tags):
        return False
    for key, values in call.query.items():
        if key.startswith("metadata.") and str(sim_file.metadata.get(key[9:])) not in values:
            return False
    origin = call.arg("origin.task")
    return origin is None or sim_file.origin_task == origin


def _listing(call: Call, folder_id: str) -> Reply:
    store = call.sim.files
    found = [f.resource(call.base) for f in store.children(folder_id) if _matches(f, call)]
    body, total = page(found, call.query, call.url, call.sim.config, FILE_LIST_FIELDS)
    call.total(total)
    return 200, body


def files(call: Call) -> Reply:
    """``GET /files?project=owner/name`` (the project's root folder) or ``?parent=<folder id>``."""
    project_id, parent_id = call.arg("project"), call.arg("parent")
    if project_id and parent_id:
        raise SbgApiError(400, 5031)
    if parent_id:
        return folder_list(call, parent_id)
    if not project_id:
        raise SbgApiError(400, 5005)
    return _listing(call, call.sim.files.project_for(call.user, project_id).root_folder)


def folder_list(call: Call, folder_id: str | None = None) -> Reply:
    """``GET /files/{id}/list``: a folder's files and folders."""
    folder = call.sim.files.file_for(call.user, folder_id or call.params["id"])
    if folder.type != FOLDER:
        raise SbgApiError(400, 5022)
    return _listing(call, folder.id)


def folder_create(call: Call) -> Reply:
    """``POST /files`` with ``{"name", "type": "folder", "project" | "parent"}``."""
    body = call.json()
    if not isinstance(body, dict) or body.get("type") != FOLDER:
        raise SbgApiError(400, 5012)
    name = body.get("name")
    if not isinstance(name, str) or not name or "/" in name:
        raise SbgApiError(400, 90000, more_info="Invalid name parameter.")
    store = call.sim.files
    if body.get("project") and body.get("parent"):
        raise SbgApiError(400, 5031)
    if body.get("parent"):
        parent = store.file_for(call.user, str(body["parent"]))
        if parent.type != FOLDER:
            raise SbgApiError(400, 5022)
        folder = store.add_folder(parent.project, parent.id, name)
    else:
        found = store.project_for(call.user, str(body.get("project") or ""))
        folder = store.add_folder(found.id, None, name)
    return 201, folder.resource(call.base)


def file(call: Call) -> Reply:
    """``GET /files/{id}``."""
    return 200, select(call.sim.files.file_for(call.user, call.params["id"]).resource(call.base), call.query)


def file_delete(call: Call) -> Reply:
    """``DELETE /files/{id}``; a folder only when empty (400 code 5021)."""
    store = call.sim.files
    sim_file = store.file_for(call.user, call.params["id"])
    if sim_file.type == FOLDER and (sim_file.parent is None or store.children(sim_file.id)):
        raise SbgApiError(400, 5021)
    store.remove(sim_file.id)
    return 204, None


def download_info(call: Call) -> Reply:
    """``GET /files/{id}/download_info``: ``{"url": <presigned store URL>}``, valid ``url_ttl`` seconds
    (§1.5); a folder is 400 code 5017."""
    sim_file = call.sim.files.file_for(call.user, call.params["id"])
    if sim_file.type == FOLDER:
        raise SbgApiError(400, 5017)
    return 200, {"url": call.sim.presign(sim_file)}


def bulk_files_get(call: Call) -> Reply:
    """``POST /bulk/files/get`` with ``{"file_ids": [...]}``: a ``resource`` or an ``error`` each."""
    ids = bulk_ids(call, "file_ids")
    items: list[dict[str, Any]] = []
    for file_id in ids:
        try:
            sim_file = call.sim.files.file_for(call.user, file_id)
            items.append({"resource": select(sim_file.resource(call.base), call.query)})
        except SbgApiError as err:
            items.append({"error": error_body(err)})
    return 200, {"items": items}


def bulk_ids(call: Call, key: str) -> list[str]:
    """The id list of a bulk call: strings, at most ``bulk_max`` (400 code 90000 otherwise [I])."""
    body = call.json()
    ids = body.get(key) if isinstance(body, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise SbgApiError(400, 90000, more_info=f"Send {{'{key}': [<id>, ...]}}.")
    if len(ids) > call.sim.config.bulk_max:
        raise SbgApiError(400, 90000, more_info=f"At most {call.sim.config.bulk_max} ids per call.")
    return ids
