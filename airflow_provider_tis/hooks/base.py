"""What every service's hook shares: reading an Airflow connection into validated settings.

All checks here run without a network call and raise the service's config error, naming the connection
and the field to fix.
"""

from __future__ import annotations

import os
from functools import cached_property
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import urlsplit

from airflow_provider_tis.core.errors import ConfigError, ErrorKinds
from airflow_provider_tis.core.http import AsyncHttpClient, Endpoint, HttpClient
from airflow_provider_tis.core.shared_clients import SharedClient
from airflow_provider_tis.version_compat import BaseHook, aget_connection, mask_secret

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow_provider_tis.core.http import Session
    from airflow_provider_tis.core.retry import RetryPolicy

_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")


def normalize_base_url(
    host: str | None,
    *,
    default: str,
    schema: str | None = None,
    port: int | None = None,
    api_path: str = "",
    secret_field: str = "API token",
    error: type[ConfigError] = ConfigError,
) -> str:
    """Server root URL from what users paste: with or without ``api_path``, trailing slash or scheme.

    A host without a scheme uses the connection's ``schema`` field when it is ``http``/``https``
    (as the HTTP provider does) and ``https`` otherwise.
    """
    host = (host or "").strip()
    if not host:
        return default
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise error(f"The host {host!r} is not a server URL. Use e.g. {default} (http or https).")
    if "@" in parts.netloc:
        raise error(
            f"The host of the connection must not contain a user or password ({parts.scheme}://...@"
            f"{parts.hostname}); put the {secret_field} in the connection's password field."
        )
    netloc = parts.netloc
    default_port = {"https": 443, "http": 80}[parts.scheme]
    if port and parts.port is None and port != default_port:  # 443 stored only to please a form: no :443
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    if api_path:
        path = path.removesuffix(api_path).rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in _LOCAL_HOSTS


def parse_verify(value: Any) -> bool | str:
    """The ``verify`` extra: true (default), false, or a CA bundle path."""
    if value is None or value == "":
        return True
    if isinstance(value, bool):
        return value
    text = str(value).strip()
    if text.lower() in ("true", "1", "yes"):
        return True
    if text.lower() in ("false", "0", "no"):
        return False
    return text  # a CA bundle path


def check_verify(verify: bool | str, conn_id: str, error: type[ConfigError] = ConfigError) -> bool | str:
    """``verify``, refused if it names a CA bundle that is not there.

    Checked where a client is built, not when the connection is read: a connection is also read where
    no request is made (the job link, lineage), on machines that need not hold the bundle. Without this,
    the TLS library fails with a bare FileNotFoundError that names neither the connection nor the extra.
    """
    if isinstance(verify, str) and not os.access(verify, os.R_OK):
        raise error(
            f"Extra 'verify' of connection '{conn_id}' names the CA bundle {verify!r}, which does "
            "not exist or cannot be read on this machine. Give the path of a CA bundle (PEM file or folder) "
            "that every worker and the triggerer can read, or true to use the system's certificates."
        )
    return verify


def parse_number(
    value: Any,
    name: str,
    conn_id: str,
    kind: type[float] | type[int],
    error: type[ConfigError] = ConfigError,
    *,
    default: float | None = None,
) -> Any:
    """A positive number from an extra; ``default`` when it is missing or empty (Airflow 3's connection
    form stores a number field left empty as null)."""
    if (value is None or value == "") and default is not None:
        return kind(default)
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise error(
            f"Extra {name!r} of connection '{conn_id}' must be a positive number, got {value!r}."
        ) from None
    if number <= 0:
        raise error(f"Extra {name!r} of connection '{conn_id}' must be positive, got {value!r}.")
    return number


def http_warning(base_url: str, conn_id: str) -> tuple[str, str, str] | None:
    """The warning a plain-http connection to a remote host deserves: its token travels unencrypted."""
    if base_url.startswith("http://") and not is_local(base_url):
        return (
            "http",
            "Connection '%s' uses plain http to a remote host: the API token travels unencrypted. Use https.",
            conn_id,
        )
    return None


def form_behaviour(behaviour: Mapping[str, Any]) -> dict[str, Any]:
    """A connection form layout of get_provider_info as Airflow < 3.2 asks hooks for it (underscored keys)."""
    return {key.replace("-", "_"): behaviour[key] for key in ("hidden-fields", "relabeling", "placeholders")}


def form_widgets(fields: Mapping[str, Mapping[str, Any]]) -> dict[str, Any]:
    """The extra fields of a connection form as Airflow < 3.2's Flask AppBuilder UI wants them."""
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget
    from flask_babel import lazy_gettext
    from wtforms import StringField

    return {
        name: StringField(lazy_gettext(field["label"]), widget=BS3TextFieldWidget())
        for name, field in fields.items()
    }


class ServiceHook(BaseHook):
    """The connection-to-client glue every service's hook shares.

    The connection is read once (without blocking an event loop in :meth:`async_client`) into the
    service's settings, which carry ``base_url``, ``token``, ``verify`` and ``timeout``; the token is
    registered with the secret masker first. A subclass says how settings are read (:meth:`read_settings`),
    which headers authenticate (:meth:`auth_headers`) and how its errors are named (:meth:`error_kinds`).

    :param conn_id: the Airflow connection id (stored under the subclass's ``conn_name_attr``).
    :param retry_policy: backoff for idempotent calls; submissions and downloads are never retried here.
    :param connect_timeout: seconds to wait for a TCP/TLS connection.
    :param submit_timeout: seconds to wait for the answer to a submission once its upload is sent.
    """

    conn_name_attr: ClassVar[str]
    config_error: ClassVar[type[ConfigError]] = ConfigError
    async_client_class: ClassVar[type[AsyncHttpClient]] = AsyncHttpClient

    def __init__(
        self, conn_id: str, *, retry_policy: RetryPolicy, connect_timeout: float, submit_timeout: float
    ) -> None:
        super().__init__()
        setattr(self, self.conn_name_attr, conn_id)
        self.retry_policy = retry_policy
        self.connect_timeout = connect_timeout
        self.submit_timeout = submit_timeout

    @property
    def conn_id(self) -> str:
        return str(getattr(self, self.conn_name_attr))

    def read_settings(self, conn: Any) -> Any:
        """The service's validated settings of a connection (no network call)."""
        raise NotImplementedError

    def auth_headers(self, settings: Any) -> dict[str, str]:
        raise NotImplementedError

    def error_kinds(self) -> ErrorKinds:
        raise NotImplementedError

    @cached_property
    def settings(self) -> Any:
        """The validated connection; fails before any request if it cannot work."""
        return self._settings_of(self.get_connection(self.conn_id))

    def _settings_of(self, conn: Any) -> Any:
        if conn.password:
            mask_secret(conn.password)
        return self.read_settings(conn)

    async def async_client(self) -> SharedClient[Any]:
        """A lease on the event loop's client of this connection, shared with every other trigger that
        uses it: ``async with await hook.async_client() as client:``. The connection is read without
        blocking the loop."""
        if "settings" not in self.__dict__:
            self.__dict__["settings"] = self._settings_of(await aget_connection(self.conn_id))
        return SharedClient(self.async_client_class, self.endpoint, self.log)

    @cached_property
    def endpoint(self) -> Endpoint:
        """How the server is called: its URL, the auth headers, TLS, timeouts, retries and error names."""
        settings = self.settings
        return Endpoint(
            base_url=settings.base_url,
            auth=self.auth_headers(settings),
            errors=self.error_kinds(),
            secret=settings.token,
            verify=check_verify(settings.verify, self.conn_id, self.config_error),
            timeout=settings.timeout,
            connect_timeout=self.connect_timeout,
            retry_policy=self.retry_policy,
        )

    @cached_property
    def http(self) -> HttpClient:
        return HttpClient(self.endpoint, self.log)

    @property
    def session(self) -> Session:
        """The pooled session of :attr:`http`. It carries no token: each API call adds it."""
        return self.http.session
