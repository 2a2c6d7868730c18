"""Gencove resources as the API v2 shows them: the user, API keys, projects, samples (two status axes),
their files, restore groups and DRF pages. Parsing fails closed: a resource without the fields this
provider relies on is an error that says so, never a guess (shared/gencove-api.md §3)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from enum import Enum
from typing import Any
from urllib.parse import unquote, urlsplit

from airflow_provider_tis.core.files import safe_relative_name
from airflow_provider_tis.hooks.gencove_errors import (
    ANSWERS,
    GencoveResponseError,
    parse_time,
    unexpected_answer,
)

#: Archive statuses whose files can be downloaded (GCLI ``ALLOWED_ARCHIVE_STATUSES_RE``, §3.3).
DOWNLOADABLE_ARCHIVE = frozenset({"available", "restored"})
#: Archive statuses on the way back from the archive (§3.3), before ``restored``.
RESTORING_ARCHIVE = frozenset({"restore_requested", "restore_accepted", "restore_started"})


@dataclass(frozen=True)
class GencoveSettings:
    """A validated ``gencove`` connection.

    :param conn_id: the Airflow connection id.
    :param base_url: the API base, ``/api/v2`` included.
    :param token: the API key (the password; masked, never in repr).
    :param verify: TLS verification: True, False or a CA bundle path.
    :param timeout: read timeout of API calls, in seconds.
    """

    conn_id: str
    base_url: str
    token: str = field(repr=False)
    verify: bool | str = True
    timeout: float = 60.0


class SampleStatus(str, Enum):
    """What an analysis status (``last_status.status``, a free string, §3.3) means for a wait: the ONE
    place that maps Gencove's words to an outcome. ``succeeded`` is success; ``failed`` and every
    ``failed ...`` (``failed qc``, any case) are failures, as the CLI's ``^(succeeded|failed)`` reads them;
    a canceled sample is over and did not succeed [I: no cancel status is documented, so both spellings
    are taken, and as a failure: the safe side]; anything else is still running."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELED = "canceled"
    RUNNING = "running"  # any other status: scheduled, running, a stage name never seen before

    @classmethod
    def of(cls, status: str) -> SampleStatus:
        text = status.strip().lower()
        if text == "succeeded":
            return cls.SUCCEEDED
        if text.startswith("failed"):
            return cls.FAILED
        if text in ("canceled", "cancelled"):
            return cls.CANCELED
        return cls.RUNNING

    @property
    def is_terminal(self) -> bool:
        return self is not SampleStatus.RUNNING

    @property
    def is_success(self) -> bool:
        return self is SampleStatus.SUCCEEDED


_object, _text, _int = ANSWERS.object, ANSWERS.text, ANSWERS.integer


@dataclass(frozen=True)
class GencoveUser:
    """``GET /user/``: the API key's user."""

    id: str
    email: str
    name: str = ""

    @classmethod
    def from_json(cls, data: object) -> GencoveUser:
        body = _object(data, "the user")
        return cls(
            id=_text(body, "id", "the user", required=True),
            email=_text(body, "email", "the user", required=True),
            name=_text(body, "name", "the user"),
        )


@dataclass(frozen=True)
class GencoveApiKey:
    """An entry of ``GET /user-api-keys/`` (never the secret): its ``prefix`` is the start of the key."""

    id: str
    name: str
    prefix: str
    expiry_date: date | None = None
    has_expired: bool = False
    revoked: bool = False
    ip_range: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, data: object) -> GencoveApiKey:
        body = _object(data, "an API key")
        raw_expiry = body.get("expiry_date")
        try:
            expiry = date.fromisoformat(raw_expiry) if isinstance(raw_expiry, str) and raw_expiry else None
        except ValueError:
            raise unexpected_answer("an API key's expiry_date", raw_expiry) from None
        ranges = body.get("ip_range")
        return cls(
            id=_text(body, "id", "an API key", required=True),
            name=_text(body, "name", "an API key"),
            prefix=_text(body, "prefix", "an API key", required=True),
            expiry_date=expiry,
            has_expired=body.get("has_expired") is True,
            revoked=body.get("revoked") is True,
            ip_range=tuple(str(r) for r in ranges) if isinstance(ranges, list) else (),
        )


@dataclass(frozen=True)
class GencoveProject:
    """A project (samples are created in it by assignment)."""

    id: str
    name: str
    description: str = ""
    sample_count: int | None = None
    pipeline_capabilities: str = ""
    organization: str = ""

    @classmethod
    def from_json(cls, data: object) -> GencoveProject:
        body = _object(data, "a project")
        return cls(
            id=_text(body, "id", "a project", required=True),
            name=_text(body, "name", "a project"),
            description=_text(body, "description", "a project"),
            sample_count=_int(body, "sample_count"),
            pipeline_capabilities=_text(body, "pipeline_capabilities", "a project"),
            organization=_text(body, "organization", "a project"),
        )


@dataclass(frozen=True)
class GencoveStatus:
    """A ``last_status`` (analysis: with a ``note``) or ``archive_last_status`` (with a ``transition_cutoff``).

    :param status: Gencove's word, as sent.
    :param note: why (``failed qc``: which check failed).
    :param created: when the status was reached.
    :param transition_cutoff: for an archive status, when the next archive transition happens.
    """

    status: str
    note: str = ""
    created: datetime | None = None
    transition_cutoff: datetime | None = None

    @classmethod
    def from_json(cls, data: object, what: str) -> GencoveStatus:
        body = _object(data, what)
        return cls(
            status=_text(body, "status", what, required=True),
            note=_text(body, "note", what),
            created=parse_time(body.get("created")),
            transition_cutoff=parse_time(body.get("transition_cutoff")),
        )


@dataclass(frozen=True)
class GencoveSampleFile:
    """A file of a sample (``SampleFileNested``). ``download_url`` is a pre-signed link (a secret while it
    lasts: never log it); None while the sample is archived."""

    id: str
    file_type: str
    size: int | None
    download_url: str | None = field(default=None, repr=False)
    checksum_sha256: str = ""
    s3_path: str = ""

    @property
    def file_name(self) -> str:
        """A safe local file name: the last part of ``s3_path`` (else of the link's path, else the id)."""
        source = self.s3_path or (unquote(urlsplit(self.download_url).path) if self.download_url else "")
        name = source.rstrip("/").rpartition("/")[2] or f"{self.id}.{self.file_type}"
        return safe_relative_name(name, GencoveResponseError)

    @classmethod
    def from_json(cls, data: object) -> GencoveSampleFile:
        body = _object(data, "a sample file")
        url = body.get("download_url")
        if url is not None and not (isinstance(url, str) and url.startswith(("https://", "http://"))):
            raise unexpected_answer("a sample file's download_url", url)
        checksum = _text(body, "checksum_sha256", "a sample file").lower()
        if checksum and not (len(checksum) == 64 and all(c in "0123456789abcdef" for c in checksum)):
            raise unexpected_answer("a sample file's checksum_sha256", checksum)
        return cls(
            id=_text(body, "id", "a sample file", required=True),
            file_type=_text(body, "file_type", "a sample file", required=True),
            size=_int(body, "size"),
            download_url=url or None,
            checksum_sha256=checksum,
            s3_path=_text(body, "s3_path", "a sample file"),
        )


@dataclass(frozen=True)
class GencoveSample:
    """A sample, from a project's list (``files`` empty) or ``GET /samples/{id}`` (with ``files``).

    :param last_status: the analysis status (see :attr:`status`).
    :param archive_last_status: the archive status (``available``, ``archived``, ``restore_*``, ``restored``).
    """

    id: str
    client_id: str
    last_status: GencoveStatus
    archive_last_status: GencoveStatus
    project: str = ""
    files: tuple[GencoveSampleFile, ...] = ()

    @property
    def status(self) -> SampleStatus:
        return SampleStatus.of(self.last_status.status)

    @property
    def archive_status(self) -> str:
        return self.archive_last_status.status

    @property
    def is_downloadable(self) -> bool:
        """Its files can be fetched now: archive status ``available`` or ``restored`` (§3.3)."""
        return self.archive_status in DOWNLOADABLE_ARCHIVE

    @property
    def fingerprint(self) -> tuple[str, str, str]:
        """What a coalesced poll notices: analysis status, archive status and note."""
        return self.last_status.status, self.archive_status, self.last_status.note

    @classmethod
    def from_json(cls, data: object) -> GencoveSample:
        body = _object(data, "a sample")
        files = body.get("files", [])
        if not isinstance(files, list):
            raise unexpected_answer("a sample's files", files)
        return cls(
            id=_text(body, "id", "a sample", required=True),
            client_id=_text(body, "client_id", "a sample"),
            last_status=GencoveStatus.from_json(body.get("last_status"), "a sample's last_status"),
            archive_last_status=GencoveStatus.from_json(
                body.get("archive_last_status"), "a sample's archive_last_status"
            ),
            project=_text(body, "project", "a sample"),
            files=tuple(GencoveSampleFile.from_json(f) for f in files),
        )


@dataclass(frozen=True)
class GencoveRestoreGroup:
    """``GET /sample-restore-group/{id}``: the samples one restore request covers, as they are now."""

    id: str
    samples: tuple[GencoveSample, ...]

    @property
    def restored(self) -> bool:
        """Every sample's files are downloadable again."""
        return all(s.is_downloadable for s in self.samples)


@dataclass(frozen=True)
class Page:
    """One DRF page ``{meta: {count, next, previous}, results}`` (§3.1)."""

    count: int | None
    next: str | None
    results: list[Any]

    @classmethod
    def from_json(cls, data: object, what: str) -> Page:
        body = _object(data, what)
        meta, results = body.get("meta"), body.get("results")
        if not isinstance(meta, dict) or not isinstance(results, list):
            raise unexpected_answer(what, data)
        following = meta.get("next")
        return cls(
            _int(meta, "count"), following if isinstance(following, str) and following else None, results
        )
