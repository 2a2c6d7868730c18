"""The multipart upload API: init, a presigned URL per part, part reports with ETags, complete, abort.

The flow is SBPY's (``transfer/upload.py``): ``POST /upload/multipart`` (``name``, ``size``,
``part_size``, ``project`` or ``parent``; ``?overwrite=true``), then per part ``GET
/upload/multipart/{id}/part/{n}`` for ``{"url": ...}``, a ``PUT`` of the bytes to that URL (the object
store answers an ``ETag``), ``POST /upload/multipart/{id}/part/`` reporting ``{"part_number": n,
"response": {"headers": {"ETag": ...}}}``, and ``POST /upload/multipart/{id}/complete`` (SBPY sends
no body; a ``{"parts": [...]}`` list is taken too). ``DELETE /upload/multipart/{id}`` aborts.
Completion checks what S3 would: every part reported, each ETag the one the store gave, inner parts
no smaller than ``min_part_size``, and the declared size.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import shutil
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError
from airflow_provider_tis.testing.sevenbridges.files import FOLDER, iso

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_tis.testing.sevenbridges.config import SbgConfig
    from airflow_provider_tis.testing.sevenbridges.files import FileStore, SbgFile

#: The part size when the init asks none (SBPY's ``UPLOAD_RECOMMENDED_SIZE``).
DEFAULT_PART_SIZE = 32 * 1024 * 1024
MAX_PARTS = 10_000


@dataclass
class Upload:
    """One multipart upload.

    :param stored: part number -> (path, ETag, size) of what the store received.
    :param reported: part number -> ETag the client reported.
    """

    id: str
    user: str
    project: str
    parent: str
    name: str
    size: int
    part_size: int
    overwrite: bool
    initiated: float
    folder: Path
    stored: dict[int, tuple[Path, str, int]] = field(default_factory=dict)
    reported: dict[int, str] = field(default_factory=dict)

    @property
    def total_parts(self) -> int:
        return max(1, math.ceil(self.size / self.part_size))

    def resource(self) -> dict[str, Any]:
        return {
            "upload_id": self.id,
            "project": self.project,
            "parent": self.parent,
            "name": self.name,
            "size": self.size,
            "part_size": self.part_size,
            "initiated": iso(self.initiated),
            "uploaded": False,
        }


def _part_number(value: Any, upload: Upload) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= upload.total_parts:
        raise SbgApiError(400, 8012, more_info=f"Parts are numbered 1 to {upload.total_parts}.")
    return value


def _reported_etag(report: Any) -> tuple[Any, str]:
    """(part number, ETag) of one part report; 400 code 8014 if it is not one."""
    response = report.get("response") if isinstance(report, dict) else None
    headers = response.get("headers") if isinstance(response, dict) else None
    etag = (headers.get("ETag") or headers.get("etag")) if isinstance(headers, dict) else None
    if not isinstance(etag, str) or not etag.strip('"'):
        raise SbgApiError(400, 8014, more_info="Expecting {part_number, response: {headers: {ETag}}}.")
    return report.get("part_number"), etag.strip('"')


class UploadTable:
    """Uploads in progress.

    :param files: where a completed upload becomes a file.
    :param config: ``min_part_size`` and ``upload_url_ttl``.
    :param workdir: parts go to ``<workdir>/uploads/<upload id>/``.
    :param lock: the simulator's lock.
    :param presign: signs a store path for a PUT until a moment: ``(path, expires) -> url``.
    """

    def __init__(
        self,
        files: FileStore,
        config: SbgConfig,
        workdir: Path,
        lock: threading.RLock,
        presign: Callable[[str, float], str],
    ) -> None:
        self.files, self.config, self.lock, self.presign = files, config, lock, presign
        self.folder = workdir / "uploads"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.uploads: dict[str, Upload] = {}

    def init(self, user: str, body: Any, *, overwrite: bool) -> Upload:
        """``POST /upload/multipart``; a taken name is 409 code 8004 unless ``overwrite``."""
        if not isinstance(body, dict):
            raise SbgApiError(400, 8013, more_info="Send {name, size, part_size, project | parent}.")
        name, size = body.get("name"), body.get("size")
        if not isinstance(name, str) or not name or "/" in name:
            raise SbgApiError(400, 8013, more_info="'name' must be a file name.")
        if not isinstance(size, int) or isinstance(size, bool) or size < 0:
            raise SbgApiError(400, 8013, more_info="'size' must be the file's size in bytes.")
        project_id, parent_id = body.get("project"), body.get("parent")
        if project_id and parent_id:
            raise SbgApiError(400, 5031)
        if parent_id:
            parent = self.files.file_for(user, str(parent_id))
            if parent.type != FOLDER:
                raise SbgApiError(400, 5022)
            project_id, folder_id = parent.project, parent.id
        elif project_id:
            project = self.files.project_for(user, str(project_id))
            project_id, folder_id = project.id, project.root_folder
        else:
            raise SbgApiError(400, 8013, more_info="Give 'project' or 'parent'.")
        if not overwrite and self.files.named(folder_id, name) is not None:
            raise SbgApiError(409, 8004, more_info=f"{name} exists; upload with ?overwrite=true.")
        asked = body.get("part_size")
        part_size = asked if isinstance(asked, int) and asked > 0 else DEFAULT_PART_SIZE
        # [I] the server raises a part size that is too small, or too small for 10,000 parts (SBPY
        # logs "Part size optimized by server" and uses the answer's ``part_size``)
        part_size = max(part_size, self.config.min_part_size, math.ceil(size / MAX_PARTS))
        with self.lock:
            upload_id = secrets.token_hex(24)
            folder = self.folder / upload_id
            folder.mkdir()
            upload = Upload(
                upload_id,
                user,
                str(project_id),
                folder_id,
                name,
                size,
                part_size,
                overwrite,
                self.files.now(),
                folder,
            )
            self.uploads[upload_id] = upload
            return upload

    def upload_for(self, user: str, upload_id: str) -> Upload:
        """An upload of ``user``: 404 code 8003, another user's 403 code 8001."""
        upload = self.uploads.get(upload_id)
        if upload is None:
            raise SbgApiError(404, 8003, more_info=f"Upload {upload_id} does not exist (or has ended).")
        if upload.user != user:
            raise SbgApiError(403, 8001)
        return upload

    def part_url(self, upload: Upload, number: str) -> dict[str, Any]:
        """``GET /upload/multipart/{id}/part/{n}``: where to PUT part ``n`` and what to report [I]."""
        part = _part_number(number, upload)
        expires = self.files.now() + self.config.upload_url_ttl
        return {
            "method": "PUT",
            "url": self.presign(f"/sbg-sim-uploads/{upload.id}/{part}", expires),
            "expires": iso(expires),
            "headers": {},
            "success_codes": [200],
            "report": {"success_codes": [200], "headers": ["ETag"]},
        }

    def store_part(self, upload_id: str, part: int, received: Path) -> str | None:
        """Keep a part the store received (a re-sent part replaces it); its ETag, or None if the upload
        no longer exists (completed or aborted)."""
        digest = hashlib.md5(received.read_bytes(), usedforsecurity=False).hexdigest()
        with self.lock:
            upload = self.uploads.get(upload_id)
            if upload is None or not 1 <= part <= upload.total_parts:
                received.unlink(missing_ok=True)
                return None
            target = upload.folder / str(part)
            received.replace(target)
            upload.stored[part] = (target, digest, target.stat().st_size)
            return digest

    def report(self, upload: Upload, body: Any) -> None:
        """``POST /upload/multipart/{id}/part``: remember the part's ETag for the completion."""
        number, etag = _reported_etag(body)
        upload.reported[_part_number(number, upload)] = etag

    def complete(self, upload: Upload, body: Any) -> SbgFile:
        """``POST /upload/multipart/{id}/complete``: the new file, or 400 code 8007 saying what is wrong
        (the upload then stays, so the client may fix it or abort)."""
        if isinstance(body, dict) and "parts" in body:
            if not isinstance(body["parts"], list):
                raise SbgApiError(400, 8015)
            for report in body["parts"]:
                self.report(upload, report)
        elif body not in (None, {}):
            raise SbgApiError(400, 8015)
        problem = self._problem(upload)
        if problem:
            raise SbgApiError(400, 8007, more_info=problem)
        assembled = upload.folder / "assembled"
        with assembled.open("wb") as out:
            for number in range(1, upload.total_parts + 1):
                with upload.stored[number][0].open("rb") as part:
                    shutil.copyfileobj(part, out, 1 << 20)
        with self.lock:
            sim_file = self.files.add_file(
                upload.project, upload.parent, upload.name, source=assembled, overwrite=upload.overwrite
            )
            self._drop(upload)
        return sim_file

    def _problem(self, upload: Upload) -> str | None:
        total = 0
        for number in range(1, upload.total_parts + 1):
            if number not in upload.reported:
                return f"Part {number} of {upload.total_parts} was not reported."
            if number not in upload.stored:
                return f"Part {number} was never uploaded."
            _, etag, size = upload.stored[number]
            if upload.reported[number] != etag:
                return f"Part {number}: the reported ETag is not the stored part's (InvalidPart)."
            if number < upload.total_parts and size < self.config.min_part_size:
                return f"Part {number} is {size} bytes, under the {self.config.min_part_size} minimum."
            total += size
        if total != upload.size:
            return f"The parts hold {total} bytes; the upload declared {upload.size}."
        return None

    def abort(self, upload: Upload) -> None:
        """``DELETE /upload/multipart/{id}``: the parts are deleted, the id then answers 404."""
        with self.lock:
            self._drop(upload)

    def _drop(self, upload: Upload) -> None:
        self.uploads.pop(upload.id, None)
        shutil.rmtree(upload.folder, ignore_errors=True)
