"""API keys (§3.2): ``Authorization: Api-Key <key>``, with an optional expiry date and IP allow-list.

A key looks like djangorestframework-api-key's, whose fields the v2 ``APIKey`` schema repeats
(``prefix``, ``revoked`` "cannot be undone", ``expiry_date`` "last day (UTC) to use the API key"):
``<8-character prefix>.<32-character secret>``.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import string
from dataclasses import dataclass, field
from datetime import date, datetime, timezone

from airflow_provider_tis.testing.gencove.records import new_id

_ALPHABET = string.ascii_letters + string.digits

#: Refusals, each (status, DRF ``detail``). The facts say 401 after expiry and 403 outside ``ip_range``
#: [I]; the wording is [I] too, in Django REST framework's style. A missing header gets DRF's own text.
NO_CREDENTIALS = (401, "Authentication credentials were not provided.")
INVALID_KEY = (401, "Invalid API key.")
REVOKED_KEY = (401, "This API key has been revoked.")
EXPIRED_KEY = (401, "This API key has expired.")
IP_NOT_ALLOWED = (403, "This API key is not allowed from your IP address.")


def _random(length: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


def utc_day(moment: float) -> date:
    """The UTC calendar day of a clock reading (expiry is a day, §3.2)."""
    return datetime.fromtimestamp(moment, tz=timezone.utc).date()


@dataclass
class ApiKey:
    """One API key of the account.

    :param expiry_date: the last UTC day the key works (None: no expiry).
    :param ip_range: CIDR networks the key may be used from (None: any).
    """

    key: str
    name: str
    created: float
    expiry_date: date | None = None
    ip_range: list[str] | None = None
    revoked: bool = False
    id: str = field(default_factory=new_id)

    @property
    def prefix(self) -> str:
        return self.key.split(".", 1)[0]

    def expired(self, now: float) -> bool:
        return self.expiry_date is not None and utc_day(now) > self.expiry_date

    def allows(self, address: str) -> bool:
        """Whether a request from ``address`` may use the key."""
        if not self.ip_range:
            return True
        ip = ipaddress.ip_address(address)
        return any(ip in ipaddress.ip_network(cidr, strict=False) for cidr in self.ip_range)

    def to_json(self, now: float) -> dict[str, object]:
        """The v2 ``APIKey`` record (the key itself is shown only once, at creation)."""
        return {
            "revoked": self.revoked,
            "id": self.id,
            "name": self.name,
            "prefix": self.prefix,
            "expiry_date": self.expiry_date.isoformat() if self.expiry_date else None,
            "has_expired": self.expired(now),
            "ip_range": self.ip_range,
        }


class KeyRing:
    """The account's API keys."""

    def __init__(self) -> None:
        self.keys: dict[str, ApiKey] = {}

    def create(
        self,
        now: float,
        *,
        name: str = "simulator",
        key: str | None = None,
        expiry_date: date | None = None,
        ip_range: list[str] | None = None,
    ) -> ApiKey:
        """A new key (``key`` to choose its text, e.g. a fixed one for a demo)."""
        for cidr in ip_range or ():
            ipaddress.ip_network(cidr, strict=False)  # ValueError for a bad network
        api_key = ApiKey(key or f"{_random(8)}.{_random(32)}", name, now, expiry_date, ip_range)
        self.keys[api_key.key] = api_key
        return api_key

    def check(self, key: str, address: str, now: float) -> tuple[ApiKey | None, tuple[int, str] | None]:
        """(the key, None) if ``key`` may be used from ``address`` now, else (key or None, refusal)."""
        found = next((k for k in self.keys.values() if hmac.compare_digest(k.key, key)), None)
        if found is None:
            return None, INVALID_KEY
        if found.revoked:
            return found, REVOKED_KEY
        if found.expired(now):
            return found, EXPIRED_KEY
        if not found.allows(address):
            return found, IP_NOT_ALLOWED
        return found, None
