"""GencoveSampleTrigger: waits in the triggerer until samples of a Gencove project end their analysis (or,
in restore mode, until their files are downloadable again), without a worker slot.

Gencove has no job resource: the samples of a project are read from the project's sample list, page by
page (200 a request, §3.1), never one request per sample. The triggers of one connection waiting on samples
of one project in one triggerer share one listing per poll interval
(:func:`~airflow_provider_tis.hooks.gencove_async.fingerprint_lister`), and a trigger reads the list itself
only when one of its samples changed.

The helpers here (what a sample's outcome means, the summaries, the messages) are shared with the sensor
and the operators, which import them when a task runs.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.gencove import GencoveHook
from airflow_provider_tis.hooks.gencove_async import AsyncGencoveClient, fingerprint_lister
from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError, check_uuid
from airflow_provider_tis.triggers.base import JobPollingTrigger

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping, Sequence

    from airflow_provider_tis.core.coalesce import Lister
    from airflow_provider_tis.hooks.gencove_models import GencoveSample
    from airflow_provider_tis.version_compat import TriggerEvent

#: What a trigger waits for: every sample's analysis to end, or every sample's files to be downloadable.
ANALYSIS, RESTORE = "analysis", "restore"
WAIT_FOR = (ANALYSIS, RESTORE)
ARCHIVED = "archived"  # the archive status a restore request acts on (§3.3)
#: How many samples a message names; the rest are counted.
MAX_NAMED = 20


def decoded_sample_ids(value: object) -> object:
    """Sample ids as a task was given them, decoded: JSON text (a template renders an XCom to text) read,
    one plain id made a one-item list; anything else as it is, for the caller to check."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    try:
        return json.loads(text) if text.startswith(("[", "{")) else [text]
    except ValueError:
        raise GencoveConfigError(f"sample_ids is not a JSON list or object: {value[:200]!r}.") from None


def parse_sample_ids(value: object) -> list[str]:
    """The sample ids a task was given, checked before any request: a list (or tuple) of ids, a dict of
    client id -> sample id (what an upload operator pushes), or either as a JSON string; each a UUID, each
    once, at least one."""
    value = decoded_sample_ids(value)
    if isinstance(value, dict):
        value = list(value.values())
    if not isinstance(value, (list, tuple)):
        raise GencoveConfigError(
            f"sample_ids must be a list of Gencove sample ids, or a dict client_id -> sample_id; got "
            f"{type(value).__name__}."
        )
    ids = list(dict.fromkeys(check_uuid(item, "sample_ids") for item in value))
    if not ids:
        raise GencoveConfigError("sample_ids is empty: give at least one Gencove sample id.")
    return ids


def sample_summary(sample: GencoveSample) -> dict[str, str]:
    """What the task reports of a sample (JSON-safe; no file links)."""
    return {
        "id": sample.id,
        "client_id": sample.client_id,
        "status": sample.last_status.status,
        "note": sample.last_status.note,
        "archive_status": sample.archive_status,
    }


def said_of(sample: GencoveSample) -> str:
    """A sample's state in words, as logged when it changes: ``failed qc (low coverage), archived``."""
    note = f" ({sample.last_status.note})" if sample.last_status.note else ""
    return f"{sample.last_status.status}{note}, {sample.archive_status}"


def named(samples: Sequence[GencoveSample], *, note: bool = True) -> str:
    """``client (id) failed qc: low coverage; ...``, at most :data:`MAX_NAMED` of them."""
    parts = []
    for sample in samples[:MAX_NAMED]:
        said = f": {sample.last_status.note}" if note and sample.last_status.note else ""
        parts.append(f"{sample.client_id or '?'} ({sample.id}) {sample.last_status.status}{said}")
    more = len(samples) - MAX_NAMED
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def missing_message(project_id: str, missing: Iterable[str]) -> str:
    ids = list(missing)
    return (
        f"{len(ids)} sample(s) waited for are not in Gencove project {project_id}: "
        f"{', '.join(ids[:MAX_NAMED])}{' ...' if len(ids) > MAX_NAMED else ''}. Either the project is the "
        "wrong one, or the samples were deleted (or hidden). Check project_id and sample_ids (the XCom or "
        "template that provides them)."
    )


def missing_of(samples: Mapping[str, GencoveSample], sample_ids: Iterable[str]) -> list[str]:
    return [i for i in sample_ids if i not in samples]


def outcome(
    project_id: str, samples: Sequence[GencoveSample], *, allow_failed: bool, wait_for: str = ANALYSIS
) -> tuple[str | None, str]:
    """What the samples' states mean for a wait: ``("success", "")``, ``("failed", why)``, or ``(None,
    the state in words)`` while waiting. The one place the sensor and the trigger decide.

    :param project_id: the samples' project (named in messages).
    :param samples: the samples waited for, as listed now.
    :param allow_failed: failed or canceled samples are left out instead of failing the wait (unless none
        succeeded).
    :param wait_for: ``analysis`` (every sample's analysis ended) or ``restore`` (every sample's files are
        downloadable again).
    """
    total = len(samples)
    if wait_for == RESTORE:
        waiting = [s for s in samples if not s.is_downloadable]
        if waiting:
            states = sorted({s.archive_status for s in waiting})
            return None, f"{len(waiting)} of {total} samples not restored yet ({', '.join(states)})"
        return "success", ""
    running = [s for s in samples if not s.status.is_terminal]
    if running:
        return None, f"{len(running)} of {total} samples still being analysed"
    failed = [s for s in samples if not s.status.is_success]
    if failed and (not allow_failed or len(failed) == total):
        why = "none of them succeeded" if len(failed) == total and allow_failed else "they did not succeed"
        return "failed", (
            f"{len(failed)} of {total} Gencove samples of project {project_id} ended without success "
            f"({why}): {named(failed)}."
        )
    return "success", ""


class GencoveSampleTrigger(JobPollingTrigger):
    """Poll the samples of a Gencove project until each has ended (or, with ``wait_for="restore"``, until
    each one's files are downloadable), or the deadline passes; yields exactly one event.

    Events (``job_id`` is the project id):

    - ``{"status": "success", "job_id", "project_id", "sample_ids", "wait_for", "end_time", "samples"}``:
      ``samples`` holds each sample's summary ``{id, client_id, status, note, archive_status}``, in the
      order of ``sample_ids``; ``end_time`` is the deadline, for a task that waits again (a restore);
    - ``{"status": "failed", "job_id", "message", "samples"}``: some sample ended ``failed*`` or canceled
      (without ``allow_failed``, or none succeeded), the message naming each with its client id, status
      and status note; or a sample is not in the project (``samples`` then empty); or the project is gone;
    - ``{"status": "timeout" | "error", "job_id", "message"}``, as every trigger of the provider.

    :param project_id: the Gencove project the samples are in.
    :param sample_ids: the samples to wait for.
    :param gencove_conn_id: Airflow connection id of type ``gencove``.
    :param poll_interval: seconds between polls.
    :param end_time: absolute deadline (epoch seconds); then a ``timeout`` event is sent.
    :param allow_failed: failed samples do not fail the wait (unless none succeeded).
    :param cancel_on_kill: cancel the samples still being analysed when the Airflow task is killed.
    :param wait_for: ``analysis`` (default) or ``restore`` (wait for archive status restored/available;
        the trigger only reads: a restore is requested by the task, from a worker).
    """

    service = "Gencove"
    conn_param = "gencove_conn_id"

    def __init__(
        self,
        project_id: str,
        sample_ids: Sequence[str],
        gencove_conn_id: str,
        poll_interval: float,
        end_time: float,
        allow_failed: bool = False,
        cancel_on_kill: bool = False,
        wait_for: str = ANALYSIS,
    ) -> None:
        super().__init__(project_id, gencove_conn_id, poll_interval, end_time, cancel_on_kill)
        if wait_for not in WAIT_FOR:
            raise GencoveConfigError(f"wait_for must be one of {', '.join(WAIT_FOR)}; got {wait_for!r}.")
        self.sample_ids = [str(i) for i in sample_ids]
        self.allow_failed = bool(allow_failed)
        self.wait_for = wait_for
        self._said: dict[str, str] = {}  # each sample's state last logged

    def arguments(self) -> dict[str, Any]:
        arguments = super().arguments()
        return {
            "project_id": arguments.pop("job_id"),
            "sample_ids": list(self.sample_ids),
            **arguments,
            "allow_failed": self.allow_failed,
            "wait_for": self.wait_for,
        }

    def hook(self) -> GencoveHook:
        return GencoveHook(self.conn_id)

    def lister(self) -> Lister:
        return fingerprint_lister(self.job_id)

    def watch_key(self) -> tuple[str, ...]:
        # every sample waited for, with ``seen`` their fingerprints in this order (PollGroup wakes this
        # trigger when any of them changes)
        return tuple(self.sample_ids)

    def gone_message(self) -> str:
        return (
            f"Gencove project {self.job_id} does not exist (deleted, or the API key's user cannot see it); "
            "its samples cannot be waited for."
        )

    async def look(self, client: AsyncGencoveClient) -> tuple[TriggerEvent | None, str]:
        listed = await client.project_samples(self.job_id)  # one request per page, not per sample
        missing = missing_of(listed, self.sample_ids)
        if missing:
            return self.event("failed", message=missing_message(self.job_id, missing), samples=[]), "missing"
        samples = [listed[i] for i in self.sample_ids]
        self.seen = tuple(s.fingerprint for s in samples)
        for sample in samples:
            said = said_of(sample)
            if self._said.get(sample.id) != said:
                self.log.info("Gencove sample %s (%s) is %s.", sample.id, sample.client_id, said)
                self._said[sample.id] = said
        verdict, words = outcome(self.job_id, samples, allow_failed=self.allow_failed, wait_for=self.wait_for)
        summaries = [sample_summary(s) for s in samples]
        if verdict == "success":
            event = self.event(
                "success",
                project_id=self.job_id,
                sample_ids=list(self.sample_ids),
                wait_for=self.wait_for,
                end_time=self.end_time,
                samples=summaries,
            )
            return event, "done"
        if verdict == "failed":
            return self.event("failed", message=words, samples=summaries), "failed"
        return None, words

    async def cancel(self, client: AsyncGencoveClient) -> str:
        listed = await client.project_samples(self.job_id)
        running = [i for i in self.sample_ids if i in listed and not listed[i].status.is_terminal]
        if running:  # an ended sample cannot be canceled: the service refuses the whole call (400)
            await client.cancel_samples(self.job_id, running)
        return f"{len(running)} sample(s) canceled"
