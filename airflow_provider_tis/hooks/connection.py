"""Turn an Airflow connection of type ``tis`` into validated settings, without any network call."""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from airflow_provider_tis.core.http import USER_AGENT  # noqa: F401 - its home was here
from airflow_provider_tis.hooks.base import check_verify as check_verify_of
from airflow_provider_tis.hooks.base import (  # noqa: F401 - is_local lived here
    http_warning,
    is_local,
    parse_number,
    parse_verify,
)
from airflow_provider_tis.hooks.base import normalize_base_url as normalize_base_url_of
from airflow_provider_tis.hooks.tis_errors import TisConfigError

DEFAULT_HOST = "https://imputation.biodatacatalyst.nhlbi.nih.gov"
DEFAULT_APP = "imputationserver2"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_ACTIVE_JOBS = 3
TOKEN_WARNING_DAYS = 7


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
    if (plain := http_warning(settings.base_url, conn_id)) is not None:
        warnings.append(plain)
    return warnings


def normalize_base_url(host: str | None, *, schema: str | None = None, port: int | None = None) -> str:
    """The TIS server root from what users paste (with or without ``/api/v2``)."""
    return normalize_base_url_of(
        host, default=DEFAULT_HOST, schema=schema, port=port, api_path="/api/v2", error=TisConfigError
    )


def check_verify(settings: TisSettings) -> bool | str:
    return check_verify_of(settings.verify, settings.conn_id, TisConfigError)


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
        verify=parse_verify(extra.get("verify")),
        timeout=parse_number(
            extra.get("timeout"), "timeout", conn_id, float, TisConfigError, default=DEFAULT_TIMEOUT
        ),
        app=str(extra.get("app") or DEFAULT_APP),
        max_active_jobs=parse_number(
            extra.get("max_active_jobs"),
            "max_active_jobs",
            conn_id,
            int,
            TisConfigError,
            default=DEFAULT_MAX_ACTIVE_JOBS,
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
