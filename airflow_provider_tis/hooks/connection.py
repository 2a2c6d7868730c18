"""Turn an Airflow connection of type ``tis`` into validated settings, without any network call."""

from __future__ import annotations

import base64
import json
import logging
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlsplit

from airflow_provider_tis import __version__
from airflow_provider_tis.hooks.errors import TisConfigError

USER_AGENT = f"airflow-provider-tis/{__version__}"
DEFAULT_HOST = "https://imputation.biodatacatalyst.nhlbi.nih.gov"
DEFAULT_APP = "imputationserver2"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_ACTIVE_JOBS = 3
TOKEN_WARNING_DAYS = 7
_LOCAL_HOSTS = ("localhost", "127.0.0.1", "::1")

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TisSettings:
    """Everything the hook needs from a connection.

    :param base_url: server root without ``/api/v2`` and without a trailing slash.
    :param token: the API token (masked; never shown in repr).
    :param verify: TLS verification: True, False or a CA bundle path.
    :param timeout: read timeout in seconds of ordinary API calls.
    :param app: app id used for submissions.
    :param max_active_jobs: the server's per-user limit of queued and running jobs.
    """

    conn_id: str
    base_url: str
    token: str = field(repr=False)
    verify: bool | str = True
    timeout: float = DEFAULT_TIMEOUT
    app: str = DEFAULT_APP
    max_active_jobs: int = DEFAULT_MAX_ACTIVE_JOBS

    @property
    def token_expiry(self) -> datetime | None:
        return jwt_expiry(self.token, self.conn_id)


def normalize_base_url(host: str | None, *, schema: str | None = None, port: int | None = None) -> str:
    """Server root URL from what users paste: with or without ``/api/v2``, trailing slash or scheme.

    A host without a scheme uses the connection's ``schema`` field when it is ``http``/``https``
    (as the HTTP provider does) and ``https`` otherwise.
    """
    host = (host or "").strip()
    if not host:
        return DEFAULT_HOST
    if "://" not in host:
        scheme = schema if schema in ("http", "https") else "https"
        host = f"{scheme}://{host}"
    parts = urlsplit(host)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TisConfigError(
            f"The host {host!r} is not a server URL. Use e.g. {DEFAULT_HOST} (http or https)."
        )
    if "@" in parts.netloc:
        raise TisConfigError(
            f"The host of the connection must not contain a user or password ({parts.scheme}://...@"
            f"{parts.hostname}); put the API token in the connection's password field."
        )
    netloc = parts.netloc
    if port and parts.port is None:
        netloc = f"{netloc}:{port}"
    path = parts.path.rstrip("/")
    path = path.removesuffix("/api/v2").rstrip("/")
    return f"{parts.scheme}://{netloc}{path}"


def is_local(url: str) -> bool:
    return urlsplit(url).hostname in _LOCAL_HOSTS


def _parse_verify(value: Any) -> bool | str:
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


def connection_warnings(settings: TisSettings) -> list[tuple[Any, ...]]:
    """Refuse an expired token; return the warnings the connection deserves, each (key, message, *args)."""
    conn_id, expiry, now = settings.conn_id, settings.token_expiry, datetime.now(timezone.utc)
    if expiry is not None and expiry <= now:
        raise TisConfigError(
            f"The API token in Airflow connection '{conn_id}' expired on "
            f"{expiry:%Y-%m-%d %H:%M} UTC. Create a new token on the server (Profile > API Access) "
            "and put it in the connection's password field."
        )
    warnings: list[tuple[Any, ...]] = []
    if expiry is not None and expiry - now < timedelta(days=TOKEN_WARNING_DAYS):
        warnings.append(
            (
                "expiry",
                "The API token in connection '%s' expires on %s UTC, in %d days. Create a new one soon.",
                conn_id,
                f"{expiry:%Y-%m-%d %H:%M}",
                (expiry - now).days,
            )
        )
    if settings.verify is False:
        warnings.append(
            ("verify", "TLS verification is off for connection '%s' (extra verify=false).", conn_id)
        )
    if settings.base_url.startswith("http://") and not is_local(settings.base_url):
        warnings.append(
            (
                "http",
                "Connection '%s' uses plain http to a remote host: the API token travels unencrypted. "
                "Use https.",
                conn_id,
            )
        )
    return warnings


def check_verify(settings: TisSettings) -> bool | str:
    """``settings.verify``, refused with a TisConfigError if it names a CA bundle that is not there.

    Checked where a client is built, not when the connection is read: a connection is also read where
    no request is made (the job link, lineage), on machines that need not hold the bundle. Without this,
    the TLS library fails with a bare FileNotFoundError that names neither the connection nor the extra.
    """
    verify = settings.verify
    if isinstance(verify, str) and not os.access(verify, os.R_OK):
        raise TisConfigError(
            f"Extra 'verify' of connection '{settings.conn_id}' names the CA bundle {verify!r}, which does "
            "not exist or cannot be read on this machine. Give the path of a CA bundle (PEM file or folder) "
            "that every worker and the triggerer can read, or true to use the system's certificates."
        )
    return verify


def _parse_number(value: Any, name: str, conn_id: str, kind: type[float] | type[int]) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise TisConfigError(
            f"Extra {name!r} of connection '{conn_id}' must be a positive number, got {value!r}."
        ) from None
    if number <= 0:
        raise TisConfigError(f"Extra {name!r} of connection '{conn_id}' must be positive, got {value!r}.")
    return number


def settings_from_connection(
    conn_id: str,
    *,
    host: str | None,
    schema: str | None,
    port: int | None,
    password: str | None,
    extra: dict[str, Any],
) -> TisSettings:
    """Validate the fields of a ``tis`` connection."""
    token = (password or "").strip()
    if not token:
        raise TisConfigError(
            f"Airflow connection '{conn_id}' has no TIS API token. Create one on the server "
            "(Profile > API Access) and put it in the connection's password field."
        )
    base_url = normalize_base_url(host, schema=schema, port=port)
    settings = TisSettings(
        conn_id=conn_id,
        base_url=base_url,
        token=token,
        verify=_parse_verify(extra.get("verify")),
        timeout=_parse_number(extra.get("timeout", DEFAULT_TIMEOUT), "timeout", conn_id, float),
        app=str(extra.get("app") or DEFAULT_APP),
        max_active_jobs=_parse_number(
            extra.get("max_active_jobs", DEFAULT_MAX_ACTIVE_JOBS), "max_active_jobs", conn_id, int
        ),
    )
    settings.token_expiry  # noqa: B018 - a malformed token fails here, before any request
    return settings


def jwt_expiry(token: str, conn_id: str) -> datetime | None:
    """The ``exp`` claim of a JWT, read without checking the signature (the server does that).

    Cloudgene 2 tokens carried ``expire`` in milliseconds instead; both are understood.
    """
    parts = token.split(".")
    if len(parts) != 3:
        raise TisConfigError(
            f"The password of Airflow connection '{conn_id}' is not a TIS API token (expected a JWT "
            "with three dot-separated parts). Copy the token again from the server's Profile page."
        )
    try:
        payload = parts[1] + "=" * (-len(parts[1]) % 4)
        claims = json.loads(base64.urlsafe_b64decode(payload))
    except ValueError:
        raise TisConfigError(
            f"The password of Airflow connection '{conn_id}' is not a valid TIS API token (its payload "
            "cannot be decoded). Copy the token again from the server's Profile page."
        ) from None
    if not isinstance(claims, dict):
        return None
    if isinstance(claims.get("exp"), (int, float)):
        return datetime.fromtimestamp(claims["exp"], tz=timezone.utc)
    if isinstance(claims.get("expire"), (int, float)):
        return datetime.fromtimestamp(claims["expire"] / 1000, tz=timezone.utc)
    return None
