"""Trigger events as a resuming task reads them: fail closed on anything it does not model."""

from __future__ import annotations

from typing import Any

from airflow_provider_tis.core.errors import ProviderError, scrub

#: Event statuses a waiting task handles; anything else is refused.
EVENT_STATUSES = ("success", "failed", "timeout", "error")


def validated_event(
    event: object, *, job_id: str, who: str, error: type[ProviderError], token: str | None
) -> dict[str, Any]:
    """``event`` if it is a dict with a known status about ``job_id``; else ``error`` (a status this task
    does not model must never reach its success path). Server text in it is scrubbed of ``token``."""
    if not isinstance(event, dict) or event.get("status") not in EVENT_STATUSES:
        raise error(
            f"{who} got an unexpected trigger event {scrub(repr(event), token)}; refusing to succeed."
        )
    if event.get("job_id") != job_id:
        raise error(f"The trigger event is about job {event.get('job_id')!r}, not {job_id!r}.")
    return {**event, "message": scrub(str(event.get("message", "")), token)}
