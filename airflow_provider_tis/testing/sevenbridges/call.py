"""One API request as a route function sees it, and the shape of a route."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator

#: What a route returns: the status and the JSON body (None with 204).
Reply = tuple[int, Any]


@dataclass
class Call:
    """A request after authentication.

    :param user: the username the token belongs to.
    :param params: the path's parameters.
    :param query: the query string, every value of every name.
    :param raw: the body as sent.
    :param url: the request's absolute URL without the query (for ``href`` and links).
    :param log: the request log entry's extra fields (``job_state``).
    :param headers: answer headers a route adds (``X-Total-Matching-Query``).
    """

    sim: SevenBridgesSimulator
    user: str
    params: dict[str, str]
    query: dict[str, list[str]]
    raw: bytes
    url: str
    log: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        """The API root, ``http://127.0.0.1:<port>/v2``."""
        return self.sim.url

    def arg(self, name: str) -> str | None:
        """The last value of a query parameter."""
        values = self.query.get(name)
        return values[-1] if values else None

    def flag(self, name: str) -> bool:
        return (self.arg(name) or "").lower() in ("true", "1")

    def json(self) -> Any:
        """The body as JSON (None when empty; SBPY sends ``null`` when it has nothing to send);
        400 code 90009 when it is not JSON."""
        if not self.raw.strip():
            return None
        try:
            return json.loads(self.raw)
        except ValueError:
            raise SbgApiError(400, 90009) from None

    def total(self, count: int) -> None:
        """Set the listing's ``X-Total-Matching-Query`` header (SBPY reads it, §1.4)."""
        self.headers["X-Total-Matching-Query"] = str(count)


Route = Callable[["Call"], Reply]
