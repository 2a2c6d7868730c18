"""Projects, their files and folders, stored on disk under the simulator's workdir.

Every project has a root folder (``root_folder``); files and folders have a ``parent`` folder. A file's
bytes live in ``<workdir>/files/<id>``. Ids look like the platform's: 24 hex characters for files
(ObjectIds, [I] from users' code) and ``owner/name`` for projects (§1.6: ``extra.project``).
"""

from __future__ import annotations

import hashlib
import secrets
import shutil
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError

if TYPE_CHECKING:
    import threading
    from pathlib import Path

FILE, FOLDER = "file", "folder"


def iso(moment: float | None) -> str | None:
    """The platform's timestamps: ``2024-01-02T03:04:05Z`` (what SBPY's DateTimeField parses)."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def new_file_id() -> str:
    return secrets.token_hex(12)


@dataclass
class Project:
    """A project: ``id`` is ``owner/name``; ``members`` may use it besides the owner."""

    id: str
    name: str
    owner: str
    root_folder: str
    created_on: float
    members: set[str] = field(default_factory=set)

    def resource(self, base: str) -> dict[str, Any]:
        return {
            "href": f"{base}/projects/{self.id}",
            "id": self.id,
            "name": self.name,
            "type": "v2",
            "category": "PRIVATE",
            "description": "",
            "tags": [],
            "settings": {"locked": False, "use_interruptible_instances": True},
            "root_folder": self.root_folder,
            "created_by": self.owner,
            "created_on": iso(self.created_on),
            "modified_on": iso(self.created_on),
            "billing_group": "00000000-0000-4000-8000-000000000000",
        }


@dataclass
class SbgFile:
    """A file or folder. ``path`` is where a file's bytes are (None for a folder).

    :param hidden: not listed (a job's log file, reachable by id only).
    :param origin_task: the task that produced it, if any (its ``origin.task``).
    """

    id: str
    name: str
    project: str
    parent: str | None
    type: str
    created_on: float
    path: Path | None = None
    size: int = 0
    etag: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)
    tags: list[str] = field(default_factory=list)
    origin_task: str | None = None
    hidden: bool = False

    def resource(self, base: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "href": f"{base}/files/{self.id}",
            "id": self.id,
            "name": self.name,
            "type": self.type,
            "project": self.project,
            "parent": self.parent,
            "created_on": iso(self.created_on),
            "modified_on": iso(self.created_on),
        }
        if self.type == FILE:
            body.update(
                size=self.size,
                origin={"task": self.origin_task} if self.origin_task else {},
                storage={"type": "PLATFORM", "hosted_on_locations": ["aws:us-east-1"]},
                metadata=dict(self.metadata),
                tags=list(self.tags),
            )
        return body


#: What a file listing shows without ``fields`` [I]: SBPY always asks ``fields=_all`` (§1.4).
FILE_LIST_FIELDS = ("href", "id", "name", "type", "project", "parent")


class FileStore:
    """All projects and files; guarded by ``lock`` (shared with the task table).

    :param workdir: where file contents go (``files/``).
    :param lock: the simulator's lock.
    :param now: the simulator's clock.
    """

    def __init__(self, workdir: Path, lock: threading.RLock, now: Any) -> None:
        self.folder = workdir / "files"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.lock = lock
        self.now = now
        self.projects: dict[str, Project] = {}
        self.files: dict[str, SbgFile] = {}

    # -- projects -----------------------------------------------------------------------------

    def add_project(self, owner: str, name: str) -> Project:
        with self.lock:
            project_id = f"{owner}/{name}"
            if project_id in self.projects:
                return self.projects[project_id]
            root = SbgFile(new_file_id(), name, project_id, None, FOLDER, self.now(), hidden=True)
            self.files[root.id] = root
            project = Project(project_id, name, owner, root.id, self.now())
            self.projects[project_id] = project
            return project

    def project_for(self, user: str, project_id: str) -> Project:
        """The project ``user`` may use; 404 if it does not exist, 403 if it is someone else's [I]."""
        if project_id.count("/") != 1:
            raise SbgApiError(400, 3012)
        project = self.projects.get(project_id)
        if project is None:
            raise SbgApiError(404, 3002, more_info=f"Project {project_id} does not exist.")
        if user != project.owner and user not in project.members:
            raise SbgApiError(403, 3001)
        return project

    # -- files --------------------------------------------------------------------------------

    def file_for(self, user: str, file_id: str) -> SbgFile:
        """A file or folder ``user`` may see (404 code 5002, 403 code 5001)."""
        sim_file = self.files.get(file_id)
        if sim_file is None:
            raise SbgApiError(404, 5002, more_info=f"File {file_id} does not exist.")
        project = self.projects[sim_file.project]
        if user != project.owner and user not in project.members:
            raise SbgApiError(403, 5001)
        return sim_file

    def children(self, folder_id: str) -> list[SbgFile]:
        """A folder's visible files and folders, oldest first (the listing order [I])."""
        return [f for f in self.files.values() if f.parent == folder_id and not f.hidden]

    def named(self, folder_id: str, name: str) -> SbgFile | None:
        return next((f for f in self.children(folder_id) if f.name == name), None)

    def free_name(self, folder_id: str, name: str) -> str:
        """``name``, or ``_1_name``, ``_2_name`` ... if taken: how the platform names a task's outputs
        when the project already has a file of that name [I from the web UI]."""
        candidate, n = name, 0
        while self.named(folder_id, candidate) is not None:
            n += 1
            candidate = f"_{n}_{name}"
        return candidate

    def add_folder(self, project_id: str, parent: str | None, name: str) -> SbgFile:
        with self.lock:
            folder_id = parent or self.projects[project_id].root_folder
            if self.named(folder_id, name) is not None:
                raise SbgApiError(409, 5030, more_info=f"{name} already exists in this folder.")
            folder = SbgFile(new_file_id(), name, project_id, folder_id, FOLDER, self.now())
            self.files[folder.id] = folder
            return folder

    def add_file(
        self,
        project_id: str,
        parent: str | None,
        name: str,
        *,
        content: bytes | None = None,
        source: Path | None = None,
        overwrite: bool = False,
        **extra: Any,
    ) -> SbgFile:
        """Store a file from ``content`` or by moving ``source`` into place.

        :param overwrite: replace a file of that name in the folder (it gets a new id [I]); otherwise a
            taken name is 409 code 8004.
        :param extra: further :class:`SbgFile` fields (``metadata``, ``origin_task``, ``hidden``).
        """
        with self.lock:
            folder_id = parent or self.projects[project_id].root_folder
            existing = None if extra.get("hidden") else self.named(folder_id, name)
            if existing is not None:
                if not overwrite or existing.type == FOLDER:
                    raise SbgApiError(409, 8004, more_info=f"{name} already exists in this folder.")
                self.remove(existing.id)
            sim_file = SbgFile(new_file_id(), name, project_id, folder_id, FILE, self.now(), **extra)
            sim_file.path = self.folder / sim_file.id
            if source is not None:
                shutil.move(str(source), sim_file.path)
            else:
                sim_file.path.write_bytes(content or b"")
            sim_file.size = sim_file.path.stat().st_size
            sim_file.etag = _md5(sim_file.path)
            self.files[sim_file.id] = sim_file
            return sim_file

    def remove(self, file_id: str) -> None:
        with self.lock:
            sim_file = self.files.pop(file_id)
            if sim_file.path is not None:
                sim_file.path.unlink(missing_ok=True)

    def by_store_path(self, path: str) -> SbgFile | None:
        """The file whose presigned URL path is ``path`` (``/sbg-sim-bucket/<id>/<name>``)."""
        parts = path.strip("/").split("/")
        if len(parts) < 3 or parts[0] != "sbg-sim-bucket":
            return None
        with self.lock:
            sim_file = self.files.get(parts[1])
            return sim_file if sim_file is not None and sim_file.type == FILE else None


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as handle:
        while block := handle.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()
