"""GencoveHook: the calls the provider makes to the Gencove API v2 (``<host>/api/v2``, shared/gencove-api.md §3).

Authentication is ``Authorization: Api-Key <key>``, sent to the connection's host only: never to the
pre-signed storage links files download from, and never across a redirect (core.http). A 429 is retried
after its ``Retry-After``, and a 503 maintenance answer is waited out until its ``maintenance_eta``, both
by the one request loop of core.http, within the caps of the :class:`RetryPolicy`.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.errors import ErrorKinds, ProviderError
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.base import (
    ServiceHook,
    form_behaviour,
    form_widgets,
    is_local,
    normalize_base_url,
    parse_number,
    parse_verify,
)
from airflow_provider_tis.hooks.defaults import GENCOVE_CONN_ID
from airflow_provider_tis.hooks.gencove_async import (
    MAX_PAGES,
    PAGE_LIMIT,
    AsyncGencoveClient,
    next_offset,
    sample_filters,
    too_many_pages,
)
from airflow_provider_tis.hooks.gencove_errors import (
    SERVICE,
    GencoveApiError,
    GencoveConfigError,
    GencoveConnectionError,
    GencoveResponseError,
    check_uuid,
    error_from_response,
    is_maintenance,
    unexpected_answer,
)
from airflow_provider_tis.hooks.gencove_models import (
    GencoveApiKey,
    GencoveProject,
    GencoveRestoreGroup,
    GencoveSample,
    GencoveSettings,
    Page,
)
from airflow_provider_tis.hooks.gencove_transfers import GencoveTransfers

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping

    from airflow_provider_tis.core.http import Endpoint
    from airflow_provider_tis.hooks.gencove_models import GencoveUser

DEFAULT_HOST = "https://api.gencove.com"
API = "/api/v2"
DEFAULT_TIMEOUT = 60.0
CANCEL_MAX = 20  # sample ids per cancel call (GOAS ProjectCancelSamples.maxItems, §3.3)
KEY_WARNING_DAYS = 7
#: Waits are capped, never forever: a 429 or a maintenance ETA is waited for at most 300 s at a time, and
#: maintenance for 30 minutes in all (RetryPolicy's default max_maintenance).
DEFAULT_RETRY = RetryPolicy(max_attempts=6, max_delay=300.0, max_elapsed=900.0)


class GencoveHook(GencoveTransfers, ServiceHook):
    """Talks to Gencove (``Authorization: Api-Key``).

    :param gencove_conn_id: Airflow connection of type ``gencove``: host = the API root (default
        https://api.gencove.com; https://api.eu1.gencove.com for the EU), password = the API key.
    :param retry_policy: backoff of idempotent calls, and the caps of 429 and maintenance waits.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for the answer to a creation once sent.
    """

    conn_name_attr = "gencove_conn_id"
    default_conn_name = GENCOVE_CONN_ID
    conn_type = "gencove"
    hook_name = "Gencove"

    config_error = GencoveConfigError
    async_client_class = AsyncGencoveClient

    def __init__(
        self,
        gencove_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 600.0,
    ) -> None:
        super().__init__(
            gencove_conn_id,
            retry_policy=retry_policy or DEFAULT_RETRY,
            connect_timeout=connect_timeout,
            submit_timeout=submit_timeout,
        )
        self.gencove_conn_id = gencove_conn_id

    @classmethod
    def get_ui_field_behaviour(cls) -> dict[str, Any]:
        """Connection form layout for Airflow < 3.2 (newer versions read get_provider_info)."""
        from airflow_provider_tis.get_provider_info import GENCOVE_FIELD_BEHAVIOUR

        return form_behaviour(GENCOVE_FIELD_BEHAVIOUR)

    @staticmethod
    def get_connection_form_widgets() -> dict[str, Any]:
        """Extra connection form fields for Airflow < 3.2 (Flask AppBuilder UI)."""
        from airflow_provider_tis.get_provider_info import GENCOVE_CONNECTION_FIELDS

        return form_widgets(GENCOVE_CONNECTION_FIELDS)

    # -- connection ---------------------------------------------------------------------------

    settings: GencoveSettings  # read once, by ServiceHook

    def read_settings(self, conn: Any) -> GencoveSettings:
        conn_id, extra = self.gencove_conn_id, conn.extra_dejson
        key = (conn.password or "").strip()
        if not key or any(c.isspace() for c in key):
            raise GencoveConfigError(
                f"Airflow connection '{conn_id}' has {'no' if not key else 'a malformed'} Gencove API key. "
                "Create one on web.gencove.com (Account > API keys) and put it in the password field."
            )
        root = normalize_base_url(
            conn.host,
            default=DEFAULT_HOST,
            schema=conn.schema,
            port=conn.port,
            api_path=API,
            secret_field="API key",
            error=GencoveConfigError,
        )
        if not root.startswith("https://") and not is_local(root):
            raise GencoveConfigError(
                f"The host of connection '{conn_id}' ({root}) must use https: the API key would travel "
                f"unencrypted. Use e.g. {DEFAULT_HOST} (plain http is accepted for localhost only)."
            )
        settings = GencoveSettings(
            conn_id=conn_id,
            base_url=root + API,
            token=key,
            verify=parse_verify(extra.get("verify")),
            timeout=parse_number(
                extra.get("timeout"), "timeout", conn_id, float, GencoveConfigError, default=DEFAULT_TIMEOUT
            ),
        )
        if settings.verify is False:
            self.log.warning("TLS verification is off for connection '%s' (extra verify=false).", conn_id)
        return settings

    def auth_headers(self, settings: GencoveSettings) -> dict[str, str]:
        return {"Authorization": f"Api-Key {settings.token}"}

    def error_kinds(self) -> ErrorKinds:
        def from_response(response: Any, action: str) -> GencoveApiError:
            return error_from_response(
                response, conn_id=self.gencove_conn_id, action=action, secret=self.settings.token
            )

        return ErrorKinds(
            SERVICE, "Gencove's API", GencoveResponseError, GencoveConnectionError, from_response
        )

    @cached_property
    def endpoint(self) -> Endpoint:
        """The common endpoint, plus Gencove's maintenance answer. [I] A 429 (DRF throttling) and a
        maintenance 503 are refused before any work is done, so even a creation is sent again after one."""
        return replace(super().endpoint, maintenance=is_maintenance, resend_refused=True)

    def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        return self.http.json(self.http.request(method, path, action=action, **kwargs), action)

    def _paged(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[Any]:
        """Every item of a DRF listing, page after page (limit/offset)."""
        offset: int | None = 0
        for _ in range(MAX_PAGES):
            if offset is None:
                return
            query = {**params, "limit": PAGE_LIMIT, "offset": offset}
            page = Page.from_json(self._json("GET", path, f"list {what}", params=query), what)
            yield from page.results
            offset = next_offset(page, offset)
        raise too_many_pages(what)

    # -- the account and projects ---------------------------------------------------------------

    def test_connection(self) -> tuple[bool, str]:
        """Read ``/user/`` and name the key's user; warn when the key expires within 7 days."""
        try:
            user = self.get_user()
            key = self.current_key()
        except ProviderError as exc:
            return False, str(exc)
        message = f"Connected to {self.settings.base_url} as {user.name or user.email} <{user.email}>"
        if key is not None and key.expiry_date is not None:
            days = (key.expiry_date - datetime.now(timezone.utc).date()).days
            message += f"; the API key works until {key.expiry_date} (UTC), {days} more day(s)"
            if days < KEY_WARNING_DAYS:
                self.log.warning(
                    "The Gencove API key of connection '%s' expires in %d days.", self.conn_id, days
                )
                message += ". Create a new key soon (Account > API keys)"
        return True, message + "."

    def get_user(self) -> GencoveUser:
        from airflow_provider_tis.hooks.gencove_models import GencoveUser

        return GencoveUser.from_json(self._json("GET", "/user/", "read the API key's user"))

    def list_api_keys(self) -> list[GencoveApiKey]:
        """The account's API keys (``GET /user-api-keys/``; never their secret part)."""
        return [GencoveApiKey.from_json(k) for k in self._paged("/user-api-keys/", {}, "the API keys")]

    def current_key(self) -> GencoveApiKey | None:
        """The connection's key as ``/user-api-keys/`` lists it (matched by its prefix), or None."""
        prefix = self.settings.token.split(".", 1)[0]
        return next((k for k in self.list_api_keys() if k.prefix and k.prefix == prefix), None)

    def list_projects(self, search: str | None = None) -> list[GencoveProject]:
        """Every visible project, across all pages.

        :param search: only projects whose id or name contains this text.
        """
        params = {"search": search} if search else {}
        return [GencoveProject.from_json(p) for p in self._paged("/projects/", params, "projects")]

    def get_project(self, project_id: str) -> GencoveProject:
        project_id = check_uuid(project_id, "project_id")
        return GencoveProject.from_json(
            self._json("GET", f"/projects/{project_id}", f"get project {project_id}")
        )

    # -- samples --------------------------------------------------------------------------------

    def list_project_samples(
        self,
        project_id: str,
        *,
        status: str | None = None,
        archive_status: str | None = None,
        search: str | None = None,
    ) -> list[GencoveSample]:
        """Every sample of a project (oldest first), across all pages of 200.

        :param project_id: the project (a UUID).
        :param status: analysis filter: ``all``, ``completed``, ``failed``, ``running`` or ``succeeded``.
        :param archive_status: archive filter: ``all``, ``archived``, ``available`` or ``restore_requested``.
        :param search: only samples whose id, client id or metadata contains this text.
        """
        project_id = check_uuid(project_id, "project_id")
        params = sample_filters(status, archive_status, search)
        path, what = f"/project-samples/{project_id}", f"the samples of project {project_id}"
        return [GencoveSample.from_json(item) for item in self._paged(path, params, what)]

    def get_sample(self, sample_id: str) -> GencoveSample:
        """A sample with its files and fresh download links (``GET /samples/{id}``)."""
        sample_id = check_uuid(sample_id, "sample_id")
        return GencoveSample.from_json(self._json("GET", f"/samples/{sample_id}", f"get sample {sample_id}"))

    def cancel_samples(self, project_id: str, sample_ids: Iterable[str]) -> list[str]:
        """Cancel samples still being analysed, at most 20 per call (§3.3); the ids sent."""
        project_id = check_uuid(project_id, "project_id")
        ids = list(dict.fromkeys(check_uuid(s, "sample_ids") for s in sample_ids))
        for start in range(0, len(ids), CANCEL_MAX):
            batch = ids[start : start + CANCEL_MAX]
            path = f"/project-cancel-samples/{project_id}"
            self.http.request(
                "POST", path, action=f"cancel {len(batch)} samples", json={"sample_ids": batch}, retry=False
            )
        return ids

    def restore_samples(self, project_id: str, sample_ids: Iterable[str] = ()) -> str:
        """Ask Gencove to restore archived samples (none named: every archived sample of the project);
        the restore group's id, to follow with :meth:`get_restore_group`."""
        project_id = check_uuid(project_id, "project_id")
        ids = [check_uuid(s, "sample_ids") for s in sample_ids]
        path, action = (
            f"/project-restore-samples/{project_id}",
            f"restore {len(ids) or 'all archived'} samples",
        )
        answer = self._json("POST", path, action, json={"sample_ids": ids}, retry=False)
        group = answer.get("restore_group_id") if isinstance(answer, dict) else None
        if not isinstance(group, str):
            raise unexpected_answer("a restore request", answer)
        return check_uuid(group, "restore_group_id")

    def get_restore_group(self, restore_group_id: str) -> GencoveRestoreGroup:
        """The samples of a restore group, as they are now."""
        group_id = check_uuid(restore_group_id, "restore_group_id")
        items = self._paged(f"/sample-restore-group/{group_id}", {}, f"restore group {group_id}")
        return GencoveRestoreGroup(group_id, tuple(GencoveSample.from_json(i) for i in items))
