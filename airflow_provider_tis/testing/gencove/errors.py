"""Errors with Django REST framework bodies (§3.1: ``detail``, or field -> messages)."""

from __future__ import annotations

from typing import Any

from airflow_provider_tis.testing.core.http_base import HttpError


class ApiError(HttpError):
    """An answer with a JSON body other than ``{"detail": message}``.

    :param status: the HTTP status.
    :param body: the JSON body, e.g. ``{"sample_ids": ["..."]}``.
    :param headers: extra answer headers.
    """

    def __init__(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        super().__init__(status, str(body), headers)
        self.body = body


def invalid(field: str, *messages: str) -> ApiError:
    """A DRF validation error (400) on one field."""
    return ApiError(400, {field: list(messages)})


def not_found() -> HttpError:
    """DRF's 404 for an object that does not exist or is not the account's."""
    return HttpError(404, "Not found.")
