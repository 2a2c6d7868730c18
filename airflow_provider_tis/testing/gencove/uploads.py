"""Uploads (§3.3): FASTQs that become samples once assigned to a project from the sample sheet.

Three ways in: ``POST /uploads-url/`` (the service fetches a URL), ``POST /uploads-post-data/`` after
``POST /upload-credentials/`` (the client puts the bytes into S3 itself), and S3 URI imports. The
simulator fetches a URL only when it is on this machine (127.0.0.1, localhost); any other upload is
recorded and gets synthetic FASTQ bytes after ``upload_seconds`` [I], or the bytes a test hands to
:meth:`UploadTable.complete`.
"""

from __future__ import annotations

import re
import threading
import urllib.request
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow_provider_tis.testing.gencove.files import fastq_bytes
from airflow_provider_tis.testing.gencove.records import Status, Upload, iso, new_id

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing.gencove.samples import SampleTable

#: Upload statuses, as the CLI names them (``UploadStatuses``).
STARTED, DONE, FAILED = "started", "succeeded", "failed"
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
# The CLI names uploads ``<client id>_<R1|R2>.fastq.gz`` under a gncv:// folder (``PATH_TEMPLATE``).
_NAME = re.compile(r"^(?P<folder>.*/)?(?P<client>[^/]+?)_(?P<read>R[12])(?:_\d+)?\.(?:fastq|fq)(?:\.b?gz)?$")


def parse_destination(path: str) -> tuple[str, str, str]:
    """(folder, client id, ``r1`` or ``r2``) of a ``gncv://`` destination path; an unpaired name is R1 [I]."""
    match = _NAME.match(path)
    if match:
        return match.group("folder") or "", match.group("client"), match.group("read").lower()
    folder, _, name = path.rpartition("/")
    return (folder + "/" if folder else ""), name.split(".", 1)[0], "r1"


def is_local(url: str) -> bool:
    """Whether the simulator may fetch ``url`` (never anything off this machine)."""
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS


class UploadTable:
    """The organisation's uploads; shares the sample table's lock and clock.

    :param table: the sample table (its lock and ``now()``).
    :param folder: where upload bytes are written.
    """

    def __init__(self, table: SampleTable, folder: Path) -> None:
        self.table = table
        self.folder = folder
        self.uploads: dict[str, Upload] = {}

    def _new(self, destination_path: str, source: str, source_url: str | None = None) -> Upload:
        now = self.table.now()
        upload_id = new_id()
        object_name = f"organization/{self.table.organization}/uploads/{upload_id}.fastq"  # [I]
        upload = Upload(
            upload_id,
            destination_path,
            source,
            now,
            self.table.config.upload_bucket,
            object_name,
            source_url,
            [Status(STARTED, now)],
        )
        self.uploads[upload.id] = upload
        return upload

    def from_url(self, destination_path: str, source_url: str) -> Upload:
        """An upload the service imports from ``source_url`` (fetched now if it is local)."""
        with self.table.lock:
            upload = self._new(destination_path, "cli url", source_url)
            if not is_local(source_url):
                upload.ready_at = upload.created + self.table.config.upload_seconds
        if is_local(source_url):
            threading.Thread(target=self._fetch, args=(upload,), daemon=True).start()
        return upload

    def post_data(self, destination_path: str) -> Upload:
        """The upload a client puts into S3 itself; the same path gives the same upload (the CLI skips
        a file whose upload already ``succeeded``)."""
        with self.table.lock:
            for upload in self.uploads.values():
                if upload.destination_path == destination_path and upload.source == "cli":
                    return upload
            upload = self._new(destination_path, "cli")
            upload.ready_at = upload.created + self.table.config.upload_seconds
            return upload

    def from_s3(self, destination_path: str, source_url: str) -> Upload:
        """An upload an S3 URI import found (ready at once)."""
        with self.table.lock:
            upload = self._new(destination_path, "s3", source_url)
            self.complete(upload.id)
            return upload

    def complete(
        self, upload_id: str, data: bytes | None = None, note: str = "", moment: float | None = None
    ) -> Upload:
        """Mark an upload ``succeeded`` with ``data`` (default: a synthetic FASTQ for its client id) at
        ``moment`` (default: now)."""
        with self.table.lock:
            upload = self.uploads[upload_id]
            _, client_id, read = parse_destination(upload.destination_path)
            self.folder.mkdir(parents=True, exist_ok=True)
            upload.path = self.folder / f"{upload.id}.fastq.gz"
            upload.path.write_bytes(fastq_bytes(client_id, read) if data is None else data)
            upload.ready_at = None
            upload.history.append(Status(DONE, self.table.now() if moment is None else moment, note))
            return upload

    def _fetch(self, upload: Upload) -> None:
        assert upload.source_url is not None
        try:
            opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
            with opener.open(upload.source_url, timeout=30) as answer:  # a local URL only
                data = answer.read()
        except (OSError, ValueError) as exc:
            with self.table.lock:
                upload.history.append(Status(FAILED, self.table.now(), f"Could not fetch the URL: {exc}"))
            return
        self.complete(upload.id, data)

    def advance(self, now: float) -> None:
        for upload in self.uploads.values():
            if upload.ready_at is not None and upload.ready_at <= now and upload.status == STARTED:
                self.complete(upload.id, moment=upload.ready_at)

    def check_row(self, row: Any) -> tuple[dict[str, Any], tuple[str, dict[str, Upload]]]:
        """Validate one sample sheet row of an assignment: (DRF errors or {}, (client id, uploads by
        read)). An upload must exist, have ``succeeded`` and be unassigned [I: the wording]."""
        if not isinstance(row, dict):
            return {"non_field_errors": ["Invalid data. Expected a dictionary."]}, ("", {})
        errors: dict[str, Any] = {}
        client_id = row.get("client_id")
        if not isinstance(client_id, str) or not client_id.strip():
            errors["client_id"] = ["This field is required."]
        fastq: dict[str, Any] = row["fastq"] if isinstance(row.get("fastq"), dict) else {}
        found: dict[str, Upload] = {}
        fastq_errors: dict[str, Any] = {}
        for read in ("r1", "r2"):
            nested = fastq.get(read)
            if nested is None:
                if read == "r1":
                    fastq_errors[read] = ["This field is required."]
                continue
            upload_id = nested.get("upload") if isinstance(nested, dict) else None
            upload = self.uploads.get(str(upload_id))
            if upload is None:
                fastq_errors[read] = {"upload": [f'Invalid pk "{upload_id}" - object does not exist.']}
            elif upload.status != DONE:
                fastq_errors[read] = {"upload": [f"Upload {upload.id} is {upload.status}, not succeeded."]}
            elif upload.sample_id is not None:
                fastq_errors[read] = {"upload": [f"Upload {upload.id} is already assigned to a sample."]}
            else:
                found[read] = upload
        if fastq_errors:
            errors["fastq"] = fastq_errors
        return errors, (str(client_id or "").strip(), found)

    # -- the sample sheet ---------------------------------------------------------------------

    def sample_sheet(
        self, search: str, assigned: str, sort_by: str = "created", descending: bool = True
    ) -> list[dict[str, Any]]:
        """Rows ``{client_id, fastq: {r1, r2}}`` of succeeded uploads (§3.3), newest first by default.

        :param search: a ``gncv://`` path prefix (empty: all).
        :param assigned: ``all``, ``assigned`` or ``unassigned``.
        :param sort_by: ``created`` or ``modified`` (the upload's last status).
        """
        with self.table.lock:
            self.table.advance()
            rows: dict[tuple[str, str], dict[str, Any]] = {}
            ready = [u for u in self.uploads.values() if u.status == DONE]
            for upload in sorted(ready, key=lambda u: u.created):
                if search and not upload.destination_path.startswith(search):
                    continue
                if assigned != "all" and (upload.sample_id is not None) != (assigned == "assigned"):
                    continue
                folder, client_id, read = parse_destination(upload.destination_path)
                row = rows.setdefault((folder, client_id), {"client_id": client_id, "fastq": {}})
                row["fastq"][read] = self.nested(upload)
                moment = upload.created if sort_by == "created" else upload.history[-1].created
                row["_key"] = max(row.get("_key", moment), moment)
            ordered = sorted(rows.values(), key=lambda r: r["_key"], reverse=descending)
            return [{k: v for k, v in row.items() if k != "_key"} for row in ordered]

    @staticmethod
    def nested(upload: Upload) -> dict[str, Any]:
        """An upload as a sample sheet row names it (GOAS ``UploadNestedList``)."""
        last = upload.history[-1]
        return {
            "upload": upload.id,
            "destination_path": upload.destination_path,
            "last_status": {
                "id": last.id,
                "status": last.status,
                "note": last.note,
                "created": iso(last.created),
            },
            "source_url": upload.source_url or "",
        }
