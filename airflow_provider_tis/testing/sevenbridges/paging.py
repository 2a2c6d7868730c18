"""Listings: ``offset``/``limit`` pages with ``href``, ``links`` and the ``X-Total-Matching-Query``
header, and ``fields=`` selection (§1.4)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.testing.sevenbridges.config import SbgConfig

Query = dict[str, list[str]]


def _int(query: Query, name: str, default: int) -> int:
    raw = (query.get(name) or [""])[-1]
    if raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SbgApiError(400, 90000, more_info=f"'{name}' must be an integer.") from None
    if value < 0:
        raise SbgApiError(400, 90000, more_info=f"'{name}' must not be negative.")
    return value


def select(resource: dict[str, Any], query: Query, default: Sequence[str] | None = None) -> dict[str, Any]:
    """``resource`` cut to what ``fields`` asks: ``_all``, ``id,name`` (only those), ``!inputs``
    (all but those [I: the docs say fields can be excluded, not how]); without it, ``default`` (a
    listing's short form) or everything."""
    raw = ",".join(query.get("fields") or [])
    names = [n.strip() for n in raw.split(",") if n.strip()]
    if not names:
        return {k: v for k, v in resource.items() if k in default} if default else resource
    if "_all" in names:
        return resource
    excluded = {n[1:] for n in names if n.startswith("!")}
    wanted = [n for n in names if not n.startswith("!")]
    if wanted:
        return {k: resource[k] for k in wanted if k in resource}
    return {k: v for k, v in resource.items() if k not in excluded}


def page(
    items: Sequence[dict[str, Any]],
    query: Query,
    url: str,
    config: SbgConfig,
    default: Sequence[str] | None = None,
) -> tuple[dict[str, Any], int]:
    """One page of ``items`` (full resources, filtered already) and the total for the header.

    :param query: the request's query; ``offset``, ``limit`` and ``fields`` are used, the rest is kept in
        the links.
    :param url: the listing's absolute URL without the query.
    :param default: the fields a listing shows without ``fields`` [I].
    """
    offset = _int(query, "offset", 0)
    limit = min(_int(query, "limit", config.default_limit) or config.default_limit, config.max_limit)
    chosen = [select(item, query, default) for item in items[offset : offset + limit]]
    kept = [(k, v) for k, values in query.items() if k not in ("offset", "limit") for v in values]

    def link(at: int) -> str:
        return f"{url}?{urlencode([*kept, ('offset', str(at)), ('limit', str(limit))])}"

    links = []
    if offset + limit < len(items):
        links.append({"href": link(offset + limit), "rel": "next", "method": "GET"})
    if offset > 0:
        links.append({"href": link(max(offset - limit, 0)), "rel": "prev", "method": "GET"})
    return {"href": link(offset), "items": chosen, "links": links}, len(items)
