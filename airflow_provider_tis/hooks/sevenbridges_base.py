"""The Seven Bridges connection and request plumbing the hook's API calls stand on: the connection read
and checked once, the token header, the error names, the connection's rate budget, JSON calls and paged
listings.

Every answer's ``X-RateLimit-*`` headers feed one request budget per connection and process (threads of an
upload and triggers of the connection share it): once it is used up, requests wait for its reset; a 429
is waited out until the reset, and a 503 with ``code: 0`` (maintenance) is waited out too, all within the
caps of the :class:`RetryPolicy` (see :mod:`airflow_provider_tis.core.ratelimit` and ``core.http``).
"""

from __future__ import annotations

from dataclasses import replace
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.errors import ErrorKinds
from airflow_provider_tis.core.ratelimit import RateLimitState, budget_for
from airflow_provider_tis.core.retry import RetryPolicy
from airflow_provider_tis.hooks.base import (
    ServiceHook,
    is_local,
    normalize_base_url,
    parse_number,
    parse_verify,
)
from airflow_provider_tis.hooks.sevenbridges_async import AsyncSevenBridgesClient, _items
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SERVICE,
    SbgApiError,
    SbgConfigError,
    SbgConnectionError,
    SbgResponseError,
    check_project_id,
    error_from_response,
    is_maintenance,
)
from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesSettings

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping

    from airflow_provider_tis.core.http import Endpoint

CONN_ID = "sevenbridges_default"
DEFAULT_HOST = "https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2"
API = "/v2"
DEFAULT_TIMEOUT = 60.0
PAGE_LIMIT = 100  # the largest page (§1.4)
MAX_PAGES = 10_000  # a server whose "next" never ends stops here
#: Waits are capped, never forever: a rate-limit window lasts 5 minutes, so a 429 waits for its reset up to
#: 300 s; maintenance is tried every minute for at most 30 (RetryPolicy's defaults; SBPY waits forever).
DEFAULT_RETRY = RetryPolicy(max_attempts=6, max_delay=300.0, max_elapsed=900.0)


class SevenBridgesBaseHook(ServiceHook):
    """The connection of :class:`~airflow_provider_tis.hooks.sevenbridges.SevenBridgesHook` (use that; its
    docstring names the parameters)."""

    conn_name_attr = "sevenbridges_conn_id"
    default_conn_name = CONN_ID
    config_error = SbgConfigError
    async_client_class = AsyncSevenBridgesClient

    def __init__(
        self,
        sevenbridges_conn_id: str = default_conn_name,
        *,
        retry_policy: RetryPolicy | None = None,
        connect_timeout: float = 10.0,
        submit_timeout: float = 600.0,
    ) -> None:
        super().__init__(
            sevenbridges_conn_id,
            retry_policy=retry_policy or DEFAULT_RETRY,
            connect_timeout=connect_timeout,
            submit_timeout=submit_timeout,
        )
        self.sevenbridges_conn_id = sevenbridges_conn_id

    settings: SevenBridgesSettings  # read once, by ServiceHook

    def read_settings(self, conn: Any) -> SevenBridgesSettings:
        conn_id, extra = self.sevenbridges_conn_id, conn.extra_dejson
        token = (conn.password or "").strip()
        if not token or any(c.isspace() for c in token):
            raise SbgConfigError(
                f"Airflow connection '{conn_id}' has {'no' if not token else 'a malformed'} Seven Bridges auth "
                "token. Generate one on the platform (Developer > Auth token) and put it in the password field."
            )
        root = normalize_base_url(
            conn.host,
            default=DEFAULT_HOST.removesuffix(API),
            schema=conn.schema,
            port=conn.port,
            api_path=API,
            secret_field="auth token",
            error=SbgConfigError,
        )
        if not root.startswith("https://") and not is_local(root):
            raise SbgConfigError(
                f"The host of connection '{conn_id}' ({root}) must use https: the auth token would travel "
                f"unencrypted. Use e.g. {DEFAULT_HOST} (plain http is accepted for localhost only)."
            )
        project = extra.get("project") or ""
        settings = SevenBridgesSettings(
            conn_id=conn_id,
            base_url=root + API,
            token=token,
            project=check_project_id(project, "default project (extra 'project')") if project else "",
            verify=parse_verify(extra.get("verify")),
            timeout=parse_number(
                extra.get("timeout"), "timeout", conn_id, float, SbgConfigError, default=DEFAULT_TIMEOUT
            ),
        )
        if settings.verify is False:
            self.log.warning("TLS verification is off for connection '%s' (extra verify=false).", conn_id)
        return settings

    def auth_headers(self, settings: SevenBridgesSettings) -> dict[str, str]:
        return {"X-SBG-Auth-Token": settings.token}

    def error_kinds(self) -> ErrorKinds:
        def from_response(response: Any, action: str) -> SbgApiError:
            return error_from_response(
                response, conn_id=self.sevenbridges_conn_id, action=action, secret=self.settings.token
            )

        return ErrorKinds(
            SERVICE, "the Seven Bridges API", SbgResponseError, SbgConnectionError, from_response
        )

    @cached_property
    def endpoint(self) -> Endpoint:
        """The common endpoint, plus the connection's rate budget and the platform's maintenance answer."""
        base = super().endpoint  # built (and cached) by ServiceHook, then replaced here
        budget = budget_for(base.base_url, self.settings.token)
        return replace(base, rate_budget=budget, maintenance=is_maintenance, resend_refused=True)

    @property
    def rate_limit(self) -> RateLimitState:
        """The connection's request budget as the last answers in this process reported it."""
        budget = self.endpoint.rate_budget
        return budget.state if budget is not None else RateLimitState()

    def _project(self, project: str | None) -> str:
        if project is not None:  # "" or "None" from a template that gave nothing: refused, not the default
            return check_project_id(project)
        if not self.settings.project:
            raise SbgConfigError(
                f"No project given, and connection '{self.sevenbridges_conn_id}' has no default (extra "
                "'project', e.g. 'alice/demo'). Pass `project='owner/project'` or set the extra."
            )
        return self.settings.project

    def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        return self.http.json(self.http.request(method, path, action=action, **kwargs), action)

    def _paged(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[Any]:
        """Every item of a listing, page after page (``offset``/``limit``) while a ``next`` link says more."""
        offset = 0
        for _ in range(MAX_PAGES):
            page = {**params, "offset": offset, "limit": PAGE_LIMIT}
            data = self._json("GET", path, f"list {what}", params=page)
            items = _items(data, f"the list of {what}")
            yield from items
            links = data.get("links") or []
            if not items or not any(isinstance(link, dict) and link.get("rel") == "next" for link in links):
                return
            offset += len(items)
        raise SbgResponseError(f"{SERVICE} listed {what} over more than {MAX_PAGES} pages; stopped there.")
