"""The simulated CGI REST API (``/api/v1``): auth, submit, list, status, logs, download and delete.

Error bodies are [I] (never seen): the ones a Flask app gives by default, so a client must not expect
JSON from an error. Framework errors (401, 404, 405, 5xx) are small HTML pages; the service's own
refusals (400: a bad form, the job quota, a download before Done) are ``{"message": ...}`` JSON.
"""

from __future__ import annotations

import hmac
import html
import json
import re
import shutil
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_tis.testing.cgi.formats import KINDS, REFERENCES
from airflow_provider_tis.testing.cgi.jobs import DONE, CgiJob
from airflow_provider_tis.testing.core.http_base import HttpError, SimHandler, SimServer, byte_range
from airflow_provider_tis.testing.core.multipart import MultipartError, boundary_of, read_multipart

if TYPE_CHECKING:
    from airflow_provider_tis.testing.cgi.simulator import CgiSimulator

#: Route names, for :class:`~airflow_provider_tis.testing.core.faults.Faults` and the request log.
ROUTES = ("submit", "list", "status", "logs", "download", "delete")

# The API root answers with or without a trailing slash: users call both ``/api/v1`` and ``/api/v1/``.
_ROOT = re.compile(r"^/api/v1/?$")
_JOB = re.compile(r"^/api/v1/(?P<id>[^/]+)/?$")
_JSON_STATUSES = (400, 409, 411, 413, 429)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def _html(status: int, message: str) -> bytes:
    """A werkzeug-style error page."""
    phrase = _phrase(status)
    return (
        f"<!doctype html>\n<html lang=en>\n<title>{status} {phrase}</title>\n"
        f"<h1>{phrase}</h1>\n<p>{html.escape(message)}</p>\n"
    ).encode()


class CgiHandler(SimHandler):
    """Request handler of :class:`~airflow_provider_tis.testing.cgi.simulator.CgiSimulator`."""

    @property
    def sim(self) -> CgiSimulator:
        return cast("CgiSimulator", self.server.sim)

    def presented_token(self) -> str | None:
        """The token half of ``Authorization: <email> <token>`` (hashed into the log, never stored)."""
        parts = (self.headers.get("Authorization") or "").split()
        return parts[1] if len(parts) == 2 else None

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_HEAD = do_GET
    do_DELETE = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET

    # -- dispatch -----------------------------------------------------------------------------

    def _route(self) -> tuple[str | None, dict[str, str], tuple[str, ...]]:
        """(route or None, path parameters, methods the path allows)."""
        parts = urlsplit(self.path)
        method = "GET" if self.command == "HEAD" else self.command
        if _ROOT.match(parts.path):
            return {"GET": "list", "POST": "submit"}.get(method), {}, ("GET", "POST")
        match = _JOB.match(parts.path)
        if not match:
            return None, {}, ()
        if method == "DELETE":
            return "delete", match.groupdict(), ("GET", "DELETE")
        if method != "GET":
            return None, {}, ("GET", "DELETE")
        action = (parse_qs(parts.query).get("action") or [""])[0]
        return {"logs": "logs", "download": "download"}.get(action, "status"), match.groupdict(), ()

    def _dispatch(self) -> None:
        route, params, allowed = self._route()
        if route is None:
            self.begin_record("api", "unknown")
            self._drain()
            if allowed:
                self._error(405, "The method is not allowed for the requested URL.", Allow=", ".join(allowed))
            else:
                self._error(404, "The requested URL was not found on the server.")
            return
        extra = self.begin_record("api", route)
        self.dispatch(
            route,
            lambda: getattr(self, f"_route_{route}")(extra=extra, **params),
            lambda err: self._error(err.status, err.message, **err.headers),
        )

    def _error(self, status: int, message: str | None, **headers: str) -> None:
        if status in _JSON_STATUSES:
            body = json.dumps({"message": message or _phrase(status)}).encode()
            self._send(status, body, **headers)
        else:
            self._send(
                status, _html(status, message or _phrase(status)), "text/html; charset=utf-8", **headers
            )

    # -- auth and jobs ------------------------------------------------------------------------

    def _user(self) -> str:
        """The account ``Authorization: <email> <token>`` names; 401 for a missing or wrong pair."""
        parts = (self.headers.get("Authorization") or "").split()
        expected = self.sim.users.get(parts[0]) if len(parts) == 2 else None
        valid = expected is not None and hmac.compare_digest(expected, parts[1])
        self.note(auth_ok=valid)
        if not valid:
            self._drain()
            # [I] the real answer was never seen; werkzeug's 401 page, with no WWW-Authenticate header
            raise HttpError(401, "Authentication failed: send the header 'Authorization: <email> <token>'.")
        return parts[0]

    def _job(self, job_id: str, user: str, extra: dict[str, Any]) -> CgiJob:
        """The account's job; another account's job is 404 like an unknown one [I] (nothing leaks)."""
        self.sim.jobs.advance()
        job = self.sim.jobs.jobs.get(job_id)
        if job is None or job.user != user:
            raise HttpError(404, "The requested URL was not found on the server.")
        extra["job_state"] = job.status
        return job

    # -- routes -------------------------------------------------------------------------------

    def _route_list(self, extra: dict[str, Any]) -> None:
        user = self._user()
        self._json([job.id for job in self.sim.jobs.owned(user)])

    def _route_status(self, extra: dict[str, Any], id: str) -> None:
        user = self._user()
        action = (parse_qs(urlsplit(self.path).query).get("action") or [""])[0]
        if action:  # [I] anything but logs or download
            raise HttpError(400, f"Unknown action '{action}'. Use 'logs' or 'download'.")
        with self.sim.jobs.lock:
            job = self._job(id, user, extra)
            self._json({"status": job.status, "metadata": job.metadata()})

    def _route_logs(self, extra: dict[str, Any], id: str) -> None:
        user = self._user()
        with self.sim.jobs.lock:
            job = self._job(id, user, extra)
            self._json({"status": job.status, "logs": self.sim.jobs.logs(job)})

    def _route_delete(self, extra: dict[str, Any], id: str) -> None:
        user = self._user()
        with self.sim.jobs.lock:
            job = self._job(id, user, extra)
            # [I] whether DELETE stops a running job is unknown: here it removes it at once, freeing quota.
            self.sim.jobs.remove(job.id)
        self._json({"status": "Deleted", "id": id})  # [I] the answer body was never seen

    def _route_download(self, extra: dict[str, Any], id: str) -> None:
        user = self._user()
        with self.sim.jobs.lock:
            job = self._job(id, user, extra)
            if job.status != DONE or job.zip_path is None:
                raise HttpError(400, f"Job {id} is {job.status}: results exist only once it is Done.")  # [I]
            path = job.zip_path
            size = path.stat().st_size
        headers = {
            "Content_Type": "application/zip",
            "Content_Disposition": f'attachment; filename="{id}.zip"',
        }
        start, end, status = 0, size - 1, 200
        if self.sim.config.download_ranges:
            headers["Accept_Ranges"] = "bytes"
            if header := self.headers.get("Range"):
                try:
                    start, end = byte_range(header, size)
                except ValueError:
                    raise HttpError(
                        416, "The requested range is not satisfiable.", {"Content-Range": f"bytes */{size}"}
                    ) from None
                status = 206
                headers["Content_Range"] = f"bytes {start}-{end}/{size}"
        self.send_file(path, start, end, status, headers)

    def _route_submit(self, extra: dict[str, Any]) -> None:
        user = self._user()
        length_header = self.headers.get("Content-Length")
        if length_header is None:
            raise HttpError(411, "Content-Length required.")
        try:
            boundary = boundary_of(self.headers.get("Content-Type", ""))
        except MultipartError:
            self._drain()
            raise HttpError(400, "Send the job as multipart/form-data.") from None
        length = int(length_header)
        self.drop_upload_if_armed(length)  # before anything exists that a drop must clean up
        job_id, folder = self.sim.jobs.new_folder()
        try:
            try:
                form = read_multipart(self.rfile, length, boundary, folder / "input", folder_per_part=True)
            except MultipartError as exc:
                raise HttpError(400, f"Malformed multipart body: {exc}") from None
            fields = dict(form.fields)
            extra["fields"] = fields
            extra["files"] = tuple(name for name, _, _ in form.files)
            job_args = self._check_form(
                user, fields, {name: path for name, _, path in form.files if name in KINDS}
            )
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
        with self.sim.jobs.lock:  # the quota check and the new job are one step, whatever runs in parallel
            limit = self.sim.config.max_jobs
            if self.sim.jobs.count(user) >= limit:  # [I] size, status and wording
                shutil.rmtree(folder, ignore_errors=True)
                raise HttpError(
                    400,
                    f"You have reached the limit of {limit} jobs. "
                    "Delete finished jobs (DELETE /api/v1/<id>) before submitting new ones.",
                )
            job = self.sim.jobs.add(job_id, folder, **job_args)
            extra["job_state"] = job.status
        if self.sim.faults.take_submit_drop():
            self._abort()  # the job exists, the client never hears its id
            return
        self._json(job_id)  # a bare JSON string, e.g. "c22ecf2af788d65ec257" [U]

    def _check_form(self, user: str, fields: dict[str, str], inputs: dict[str, Any]) -> dict[str, Any]:
        """The job's arguments from the form; 400 for what the service refuses at once.

        :param user: the account submitting.
        :param fields: the text fields (the last of a repeated name wins).
        :param inputs: saved uploads by part name, only ``mutations``, ``cnas`` and ``translocations``
            (other file parts are ignored [I]).
        """
        config = self.sim.config
        cancer_type = fields.get("cancer_type", "").strip()
        if not cancer_type:
            raise HttpError(400, "The field 'cancer_type' is required.")
        if not inputs:
            raise HttpError(400, "Upload at least one file: 'mutations', 'cnas' or 'translocations'.")
        reference = fields.get("reference", "").strip() or config.default_reference
        if reference not in REFERENCES:  # [I] a 400 rather than a silent default
            raise HttpError(400, f"Unknown reference '{reference}': use hg19 or hg38.")
        if config.reject_unknown_cancer_type and cancer_type not in config.cancer_types:
            raise HttpError(400, f"Unknown cancer type '{cancer_type}'.")
        title = fields.get("title", "")  # [I] an empty title when none is given
        return {
            "user": user,
            "title": title,
            "cancer_type": cancer_type,
            "reference": reference,
            "inputs": inputs,
        }


def make_server(sim: CgiSimulator, port: int) -> SimServer:
    """The API server of ``sim`` on 127.0.0.1 (``port`` 0: a free one)."""
    return SimServer(port, CgiHandler, sim)
