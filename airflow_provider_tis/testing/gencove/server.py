"""The simulated Gencove v2 API over HTTP (``/api/v2/...``), and its S3-like file store.

Order of checks, as a Django REST framework service makes them: maintenance (a 503 with
``{maintenance, maintenance_message, maintenance_eta}``, §3.5, before anything else [I]), then the
API key (401/403, §3.2), then the method (405), then the route. Errors are DRF bodies: ``{"detail":
...}`` or field -> messages (§3.1); a path no route has gets Django's HTML 404 page [I].
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast
from urllib.parse import parse_qs, urlsplit

from airflow_provider_tis.testing.core.http_base import HttpError, SimHandler, SimServer
from airflow_provider_tis.testing.core.store import StoreHandler
from airflow_provider_tis.testing.gencove import actions, routes
from airflow_provider_tis.testing.gencove.call import Answer, Call
from airflow_provider_tis.testing.gencove.errors import ApiError
from airflow_provider_tis.testing.gencove.keys import NO_CREDENTIALS
from airflow_provider_tis.testing.gencove.views import query_of

if TYPE_CHECKING:
    from collections.abc import Callable
    from pathlib import Path

    from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator

_ID = r"(?P<id>[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"
_HTML_404 = (
    b'<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n  <h1>Not '
    b"Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n"
)


@dataclass(frozen=True)
class Route:
    """One endpoint: its name (for faults and the log), method, path pattern and implementation."""

    name: str
    method: str
    pattern: re.Pattern[str]
    serve: Callable[[Call], Answer]
    auth: bool = True


def _route(name: str, method: str, path: str, serve: Callable[[Call], Answer], auth: bool = True) -> Route:
    return Route(name, method, re.compile("^/api/v2" + path.replace("{id}", _ID) + "$"), serve, auth)


ENDPOINTS = (
    _route("user", "GET", "/user/", routes.user),
    _route("organization", "GET", "/organization/", routes.organization),
    _route("api_keys", "GET", "/user-api-keys/", routes.api_keys),
    _route("create_api_key", "POST", "/user-api-keys/", actions.create_api_key),
    _route("jwt_refresh", "POST", "/jwt-refresh/", actions.jwt_refresh, auth=False),
    _route("projects", "GET", "/projects/", routes.projects),
    _route("project", "GET", "/projects/{id}", routes.project),
    _route("pipeline_capabilities", "GET", "/pipeline-capabilities/", routes.pipeline_capabilities),
    _route("pipeline_capability", "GET", "/pipeline-capabilities/{id}", routes.pipeline_capability),
    _route("file_types", "GET", "/file-types/", routes.file_types),
    _route("project_samples", "GET", "/project-samples/{id}", routes.project_samples),
    _route("assign", "POST", "/project-samples/{id}", actions.assign),
    _route("sample", "GET", "/samples/{id}", routes.sample),
    _route("sample_statuses", "GET", "/sample-statuses/{id}", routes.sample_statuses),
    _route("sample_metadata", "GET", "/sample-metadata/{id}", routes.sample_metadata),
    _route("sample_qc", "GET", "/sample-quality-controls/{id}", routes.sample_qc),
    _route("sample_sheet", "GET", "/sample-sheet/", routes.sample_sheet),
    _route("uploads_url", "POST", "/uploads-url/", actions.uploads_url),
    _route("uploads_post_data", "POST", "/uploads-post-data/", actions.uploads_post_data),
    _route("upload_credentials", "POST", "/upload-credentials/", actions.upload_credentials),
    _route("s3_uri_import", "POST", "/s3-uri-import/", actions.s3_uri_import),
    _route("cancel", "POST", "/project-cancel-samples/{id}", actions.cancel),
    _route("restore", "POST", "/project-restore-samples/{id}", actions.restore),
    _route("restore_group", "GET", "/sample-restore-group/{id}", routes.restore_group),
    _route("file_checksum", "GET", r"/files/{id}\.sha256", routes.file_checksum),
)
#: Route names, for :class:`~airflow_provider_tis.testing.core.faults.Faults` and the request log.
ROUTES = (*(e.name for e in ENDPOINTS), "store")


def _throttled(err: HttpError) -> str:
    """DRF's ``Throttled`` text for a 429 with ``Retry-After``."""
    wait = err.headers.get("Retry-After")
    if wait is None:
        return "Request was throttled."
    seconds = math.ceil(float(wait))
    return f"Request was throttled. Expected available in {seconds} second{'' if seconds == 1 else 's'}."


_DEFAULT_DETAIL = {
    401: NO_CREDENTIALS[1],
    404: "Not found.",
    500: "A server error occurred.",
    503: "Service temporarily unavailable, try again later.",
}


class GencoveHandler(SimHandler):
    """Request handler of :class:`~airflow_provider_tis.testing.gencove.simulator.GencoveSimulator`."""

    @property
    def sim(self) -> GencoveSimulator:
        return cast("GencoveSimulator", self.server.sim)

    def presented_token(self) -> str | None:
        """The key of ``Authorization: Api-Key <key>`` (or the JWT of ``Bearer``), hashed into the log."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        return token.strip() or None if scheme in ("Api-Key", "Bearer") else None

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_GET
    do_HEAD = do_GET
    do_PUT = do_GET
    do_PATCH = do_GET
    do_DELETE = do_GET

    def _dispatch(self) -> None:
        path = urlsplit(self.path).path
        method = "GET" if self.command == "HEAD" else self.command
        matches = [(e, m) for e in ENDPOINTS if (m := e.pattern.match(path))]
        if not matches:
            self.begin_record("api", "unknown")
            self._drain()
            if any(e.pattern.match(path + "/") for e in ENDPOINTS):  # Django's APPEND_SLASH [I]
                query = urlsplit(self.path).query
                self._send(
                    301, b"", "text/html; charset=utf-8", Location=path + "/" + (f"?{query}" if query else "")
                )
            else:
                self._send(404, _HTML_404, "text/html; charset=utf-8")
            return
        allowed = [e.method for e, _ in matches]
        endpoint, found = next(((e, m) for e, m in matches if e.method == method), matches[0])
        extra = self.begin_record("api", endpoint.name)
        self.dispatch(
            endpoint.name,
            lambda: self._serve(
                endpoint, found.group("id") if "id" in found.groupdict() else "", extra, allowed
            ),
            self._error,
        )

    def _serve(self, endpoint: Route, object_id: str, extra: dict[str, Any], allowed: list[str]) -> None:
        maintenance = self.sim.maintenance_body()
        if maintenance is not None:
            self._drain()
            raise ApiError(503, maintenance)
        if endpoint.auth:
            self._authenticate()
        method = "GET" if self.command == "HEAD" else self.command
        if method not in allowed:
            self._drain()
            raise HttpError(
                405, f'Method "{self.command}" not allowed.', {"Allow": ", ".join([*allowed, "OPTIONS"])}
            )
        body: Any = None
        if method == "POST":
            body = self._body()
        else:
            self._drain()
        if isinstance(body, dict):
            extra["fields"] = {k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()}
        raw_query = urlsplit(self.path).query
        host = self.headers.get("Host") or f"127.0.0.1:{self.server.server_address[1]}"
        call = Call(self.sim, object_id, query_of(raw_query), f"http://{host}{self.path}", body, extra)
        with self.sim.jobs.lock:  # one consistent view of the world per answer
            answer = endpoint.serve(call)
        if answer.text is not None:
            self._send(answer.status, answer.text.encode(), answer.content_type)
        else:
            self._json(answer.body, answer.status)

    def _authenticate(self) -> None:
        """401 without a usable ``Api-Key``, 403 from an address outside the key's ``ip_range`` (§3.2)."""
        scheme, _, token = (self.headers.get("Authorization") or "").partition(" ")
        if scheme == "Bearer" and token.strip():  # the simulator issues no JWTs (simplejwt's answer)
            self.note(auth_ok=False)
            self._drain()
            raise ApiError(
                401,
                {"detail": "Given token not valid for any token type", "code": "token_not_valid"},
                {"WWW-Authenticate": 'Bearer realm="api"'},
            )
        refusal: tuple[int, str] | None = NO_CREDENTIALS
        if scheme == "Api-Key" and token.strip():
            _, refusal = self.sim.keys.check(token.strip(), self.client_address[0], self.sim.now())
        self.note(auth_ok=refusal is None)
        if refusal is not None:
            self._drain()
            status, detail = refusal
            # DRF sends WWW-Authenticate with a 401 (from its first authenticator, here JWT) [I].
            raise HttpError(
                status, detail, {"WWW-Authenticate": 'Bearer realm="api"'} if status == 401 else {}
            )

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        self.drop_upload_if_armed(length)
        raw = self.rfile.read(length) if length else b""
        kind = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        if not raw:
            return {}
        if kind == "application/x-www-form-urlencoded":
            return {k: v[-1] for k, v in parse_qs(raw.decode(), keep_blank_values=True).items()}
        if kind != "application/json":
            raise HttpError(415, f'Unsupported media type "{kind}" in request.')
        try:
            return json.loads(raw)
        except ValueError as exc:
            raise HttpError(400, f"JSON parse error - {exc}") from None

    def _error(self, err: HttpError) -> None:
        if isinstance(err, ApiError):
            body = err.body
        elif err.status == 429 and err.message is None:
            body = {"detail": _throttled(err)}
        else:
            body = {"detail": err.message or _DEFAULT_DETAIL.get(err.status, "Error")}
        self._send(err.status, json.dumps(body).encode(), **err.headers)


class GencoveStoreHandler(StoreHandler):
    """The S3-like store with two S3 habits the shared one lacks: it sends the ``Content-Disposition``
    a pre-signed URL's ``response-content-disposition`` asks for, and it refuses an archived object
    (Glacier) with 403 ``InvalidObjectState`` [I: S3's answer; the facts only say the CLI refuses]."""

    def send_file(
        self, path: Path, start: int, end: int, status: int, headers: dict[str, str], *, chunked: bool = False
    ) -> int:
        parts = urlsplit(self.path)
        sim = cast("GencoveSimulator", self.server.sim)
        if sim.archived_object(parts.path):
            return self._error(
                403, "InvalidObjectState", "The operation is not valid for the object's storage class"
            )
        disposition = parse_qs(parts.query).get("response-content-disposition")
        if disposition:
            headers = {**headers, "Content_Disposition": disposition[-1]}
        return super().send_file(path, start, end, status, headers, chunked=chunked)


def make_servers(sim: GencoveSimulator, port: int, store_port: int) -> tuple[SimServer, SimServer]:
    """The API server and the file store of ``sim`` on 127.0.0.1 (port 0: a free one)."""
    return SimServer(port, GencoveHandler, sim), SimServer(store_port, GencoveStoreHandler, sim)
