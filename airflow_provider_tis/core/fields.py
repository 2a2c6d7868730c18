"""Reading a service's JSON answers field by field, failing closed.

A model parses an answer with the service's :class:`AnswerReader`: an answer of the wrong shape is the
service's response error, which says what was expected and shows only the shape of what came (values may
be private), and names how the right host looks (a wrong host is the usual cause).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from airflow_provider_tis.core.errors import ProviderError, shape_of


@dataclass(frozen=True)
class AnswerReader:
    """The field readers of one service.

    :param service: the service's name in messages, e.g. ``"Gencove"``.
    :param error: the service's response error (an answer it cannot use).
    :param host_hint: how the right host looks, completing "Check that the connection's host is ...".
    """

    service: str
    error: type[ProviderError]
    host_hint: str

    def unexpected(self, what: str, data: object) -> ProviderError:
        """JSON of the wrong shape for ``what``."""
        return self.error(
            f"{self.service} sent an unexpected answer for {what} ({shape_of(data)}). Check that the "
            f"connection's host is {self.host_hint}."
        )

    def object(self, data: object, what: str) -> dict[str, Any]:
        """``data`` if it is a JSON object, else the unexpected-answer error."""
        if not isinstance(data, dict):
            raise self.unexpected(what, data)
        return data

    def text(self, data: dict[str, Any], key: str, what: str, *, required: bool = False) -> str:
        """A text field. One this provider relies on (``required``) must be a non-empty string; another
        defaults to "" when absent, and a non-string value is kept as its text."""
        value = data.get(key)
        if isinstance(value, str) and (value or not required):
            return value
        if not required:
            return "" if value is None else str(value)
        missing = "missing" if value is None else f"a {type(value).__name__}"
        raise self.error(
            f"{self.service} sent {what} without a valid '{key}' ({missing}). Check that the connection's "
            f"host is {self.host_hint}."
        )

    @staticmethod
    def integer(data: dict[str, Any], key: str) -> int | None:
        """An integer field, or None (absent, null, or not an integer: booleans are not)."""
        value = data.get(key)
        return value if isinstance(value, int) and not isinstance(value, bool) else None
