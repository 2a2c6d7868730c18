"""Routes of the multipart upload API (``/upload/multipart``; the flow is in :mod:`.uploads`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.call import Call, Reply


def upload_init(call: Call) -> Reply:
    """``POST /upload/multipart[?overwrite=true]``: the upload id and the ``part_size`` to use."""
    upload = call.sim.uploads.init(call.user, call.json(), overwrite=call.flag("overwrite"))
    return 200, upload.resource()


def upload_info(call: Call) -> Reply:
    """``GET /upload/multipart/{id}``."""
    return 200, call.sim.uploads.upload_for(call.user, call.params["id"]).resource()


def upload_part(call: Call) -> Reply:
    """``GET /upload/multipart/{id}/part/{n}``: the presigned PUT URL of part ``n``."""
    uploads = call.sim.uploads
    return 200, uploads.part_url(uploads.upload_for(call.user, call.params["id"]), call.params["part"])


def upload_report(call: Call) -> Reply:
    """``POST /upload/multipart/{id}/part`` (SBPY adds a trailing slash): report a part's ETag; the
    answer is the upload [I]."""
    uploads = call.sim.uploads
    upload = uploads.upload_for(call.user, call.params["id"])
    uploads.report(upload, call.json())
    return 200, upload.resource()


def upload_complete(call: Call) -> Reply:
    """``POST /upload/multipart/{id}/complete``: the new file's resource (SBPY makes a ``File`` of it)."""
    uploads = call.sim.uploads
    sim_file = uploads.complete(uploads.upload_for(call.user, call.params["id"]), call.json())
    return 200, sim_file.resource(call.base)


def upload_abort(call: Call) -> Reply:
    """``DELETE /upload/multipart/{id}``."""
    uploads = call.sim.uploads
    uploads.abort(uploads.upload_for(call.user, call.params["id"]))
    return 204, None
