"""The write routes of the simulated v2 API: imports, assignment, cancel, restore and API keys.

What a client asked is kept in :attr:`GencoveSimulator.imports` (and the request log), so a test can
check a URL or S3 import it never lets the simulator perform.
"""

from __future__ import annotations

import secrets
from datetime import date
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from airflow_provider_tis.testing.gencove.call import Answer
from airflow_provider_tis.testing.gencove.errors import ApiError, invalid
from airflow_provider_tis.testing.gencove.records import iso
from airflow_provider_tis.testing.gencove.uploads import UploadTable

if TYPE_CHECKING:
    from airflow_provider_tis.testing.gencove.call import Call
    from airflow_provider_tis.testing.gencove.records import Upload


def _upload_json(upload: Upload) -> dict[str, object]:
    """GOAS ``UploadURLResponse`` / ``UploadPostDataResponse``."""
    nested = UploadTable.nested(upload)
    return {
        "id": upload.id,
        "destination_path": upload.destination_path,
        "s3": {"bucket": upload.bucket, "object_name": upload.object_name},
        "last_status": nested["last_status"],
        "source": upload.source,
        "source_url": upload.source_url or "",
    }


def _destination(call: Call) -> str:
    path = call.text_field("destination_path")
    if not path.startswith("gncv://"):  # [I] the wording; the CLI always sends gncv:// paths
        raise invalid("destination_path", "Destination path must start with gncv://.")
    return path


def uploads_url(call: Call) -> Answer:
    """``POST /uploads-url/`` ``{destination_path, source_url}``: import a FASTQ from a URL (§3.3).
    Fetched only when the URL is on this machine; otherwise recorded only."""
    destination = _destination(call)
    source_url = call.text_field("source_url")
    if urlsplit(source_url).scheme not in ("http", "https"):
        raise invalid("source_url", "Enter a valid URL.")
    upload = call.sim.jobs.uploads.from_url(destination, source_url)
    call.sim.imports.append({"kind": "url", "destination_path": destination, "source_url": source_url})
    return Answer(_upload_json(upload), 201)  # [I] 201, as a DRF create view answers


def uploads_post_data(call: Call) -> Answer:
    """``POST /uploads-post-data/`` ``{destination_path}``: where the client puts its own upload."""
    upload = call.sim.jobs.uploads.post_data(_destination(call))
    call.sim.imports.append({"kind": "post_data", "destination_path": upload.destination_path})
    body = _upload_json(upload)
    del body["source"], body["source_url"]
    return Answer(body, 201)


def upload_credentials(call: Call) -> Answer:
    """``POST /upload-credentials/``: temporary AWS credentials for boto3 (§3.3). They are fake; point
    the CLI's ``GENCOVE_LOCALSTACK_S3_ENDPOINT`` at a local S3 to use them."""
    credentials = {
        "version": 1,
        "access_key": "ASIA" + secrets.token_hex(8).upper(),
        "secret_key": secrets.token_urlsafe(30),
        "token": secrets.token_urlsafe(48),
        "expiry_time": iso(call.sim.now() + 3600),
    }
    call.sim.imports.append({"kind": "credentials", "access_key": credentials["access_key"]})
    return Answer(credentials)


def s3_uri_import(call: Call) -> Answer:
    """``POST /s3-uri-import/`` ``{s3_uri, project_id, metadata, input_format}`` (§3.3). Samples
    appear for the client ids a test registered under that URI (:meth:`add_s3_objects`)."""
    s3_uri = call.text_field("s3_uri")
    if not s3_uri.startswith("s3://"):  # [I] the wording
        raise invalid("s3_uri", "S3 URI must start with s3://.")
    project_id = str(call.field("project_id"))
    if project_id not in call.sim.jobs.projects:
        raise invalid("project_id", f'Invalid pk "{project_id}" - object does not exist.')
    metadata = call.field("metadata", required=False)
    input_format = call.field("input_format", required=False, default="autodetect")
    call.sim.imports.append({"kind": "s3", "s3_uri": s3_uri, "project_id": project_id, "metadata": metadata})
    prefix = s3_uri.rstrip("/") + "/"
    table = call.sim.jobs
    with table.lock:
        for uri, client_ids in call.sim.s3_objects.items():
            if uri.rstrip("/") + "/" != prefix:
                continue
            rows = []
            for client_id in client_ids:
                names = {read: f"{client_id}_{read.upper()}.fastq.gz" for read in ("r1", "r2")}
                reads = {
                    read: table.uploads.from_s3(f"gncv://s3-import/{name}", prefix + name)
                    for read, name in names.items()
                }
                rows.append(
                    {"client_id": client_id, "fastq": {r: {"upload": u.id} for r, u in reads.items()}}
                )
            if rows:
                table.assign(table.projects[project_id], rows, metadata)
    body = {"s3_uri": s3_uri, "project_id": project_id, "metadata": metadata, "input_format": input_format}
    return Answer(body, 202)  # [I] accepted: the real import runs later


def assign(call: Call) -> Answer:
    """``POST /project-samples/{id}`` ``{uploads: [sample sheet rows], metadata}``: samples are made
    and their analysis starts (§3.3)."""
    project = call.project()
    rows = call.field("uploads")
    if not isinstance(rows, list):
        raise invalid("uploads", f'Expected a list of items but got type "{type(rows).__name__}".')
    metadata = call.field("metadata", required=False)
    answered = call.sim.jobs.assign(project, rows, metadata)
    return Answer({"uploads": answered, "metadata": metadata}, 201)


def cancel(call: Call) -> Answer:
    """``POST /project-cancel-samples/{id}`` ``{sample_ids}``: at most ``max_cancel`` (20, §3.3)."""
    project = call.project()
    ids = call.id_list("sample_ids", max_items=call.sim.config.max_cancel, allow_empty=False)
    call.sim.jobs.cancel(project, ids)
    return Answer({"sample_ids": ids}, 201)  # [I] 201 echoing the ids, per the older generated client


def restore(call: Call) -> Answer:
    """``POST /project-restore-samples/{id}`` ``{sample_ids}`` (empty: every archived sample): 202 and a
    ``restore_group_id`` to follow at ``/sample-restore-group/{id}`` (§3.3)."""
    project = call.project()
    group = call.sim.jobs.restore(project, call.id_list("sample_ids"))
    return Answer({"restore_group_id": group.id, "created": iso(group.created)}, 202)


def create_api_key(call: Call) -> Answer:
    """``POST /user-api-keys/`` ``{name, expiry_date?, ip_range?}`` (§3.2): the key is shown once."""
    name = call.text_field("name")
    if len(name) > 50:
        raise invalid("name", "Ensure this field has no more than 50 characters.")
    raw_expiry = call.field("expiry_date", required=False)
    try:
        expiry = date.fromisoformat(raw_expiry) if raw_expiry else None
    except (TypeError, ValueError):
        raise invalid(
            "expiry_date", "Date has wrong format. Use one of these formats instead: YYYY-MM-DD."
        ) from None
    ip_range = call.field("ip_range", required=False)
    try:
        created = call.sim.keys.create(
            call.sim.now(), name=name, expiry_date=expiry, ip_range=ip_range or None
        )
    except (TypeError, ValueError):
        raise invalid("ip_range", "Enter a list of networks in CIDR notation.") from None
    body = {**created.to_json(call.sim.now()), "key": created.key}
    del body["revoked"], body["has_expired"]
    return Answer(body, 201)


def jwt_refresh(call: Call) -> Answer:
    """``POST /jwt-refresh/`` (no auth): the simulator issues no JWTs, so every refresh token is
    refused as simplejwt does. The CLI calls this after any 401, even with an API key (§3.2)."""
    call.field("refresh")  # 400 "This field is required." / "may not be null." first
    raise ApiError(401, {"detail": "Token is invalid or expired", "code": "token_not_valid"})
