"""The simulated service's objects: projects, pipeline capabilities, uploads, samples and their files.

Field names follow the v2 API (§3.1-§3.4 of ``shared/gencove-api.md``); rendering them as JSON is
:mod:`~airflow_provider_tis.testing.gencove.views`' job.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

#: Analysis statuses that end a sample (§3.3: ``succeeded``, ``failed``, ``failed qc``; cancel is [I]).
SUCCEEDED, FAILED, FAILED_QC = "succeeded", "failed", "failed qc"
#: Archive statuses (§3.3); downloads are possible only when ``available`` or ``restored``.
AVAILABLE, ARCHIVED, RESTORED = "available", "archived", "restored"
RESTORE_STEPS = ("restore_requested", "restore_accepted", "restore_started", RESTORED)


def new_id() -> str:
    """A v2 id: a UUID (§3.1)."""
    return str(uuid.uuid4())


def iso(moment: float | None) -> str | None:
    """A timestamp as Django REST framework renders it: ISO 8601 in UTC with a ``Z``."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=timezone.utc).isoformat().replace("+00:00", "Z")


@dataclass
class Status:
    """One entry of a status history (``last_status`` is the newest; §3.3).

    :param transition_cutoff: for an archive status, when the next calculated transition happens [I]:
        the archiving of an ``available`` or ``restored`` sample, if one is planned.
    """

    status: str
    created: float
    note: str = ""
    id: str = field(default_factory=new_id)
    transition_cutoff: float | None = None


@dataclass
class Planned:
    """A status a sample takes once the clock reaches ``moment``; ``axis`` is analysis or archive."""

    moment: float
    axis: str
    status: str
    note: str = ""


@dataclass
class Capability:
    """Versioned pipeline capabilities a project runs, with the file types a succeeded sample gets."""

    id: str
    name: str
    key: str
    file_types: tuple[str, ...]


@dataclass
class Project:
    """A project; samples are created in it by assignment (§3.3)."""

    id: str
    name: str
    description: str
    created: float
    capability: Capability
    organization: str
    hidden: bool = False
    locked: bool = False


@dataclass
class SampleFile:
    """A file of a sample: bytes on disk, served from the object store under ``/<bucket>/<s3_path>``.

    :param filename: the name the pre-signed URL's ``response-content-disposition`` gives (§3.4).
    """

    id: str
    sample_id: str
    file_type: str
    filename: str
    s3_path: str
    path: Path
    size: int
    sha256: str
    etag: str


@dataclass
class Upload:
    """A FASTQ upload (§3.3): from a URL, the client's own S3 upload, or an S3 URI import.

    :param destination_path: the ``gncv://`` path; its name gives the client id and read (R1/R2).
    :param source: ``cli``, ``cli url`` or ``s3`` (GOAS ``SourceEnum``).
    :param ready_at: when an upload whose bytes are not fetched becomes ``succeeded``.
    """

    id: str
    destination_path: str
    source: str
    created: float
    bucket: str
    object_name: str
    source_url: str | None = None
    history: list[Status] = field(default_factory=list)
    path: Path | None = None
    ready_at: float | None = None
    sample_id: str | None = None

    @property
    def status(self) -> str:
        return self.history[-1].status


@dataclass
class Sample:
    """A sample in a project, with its analysis and archive histories (both newest last).

    :param outcome: the status the analysis will end with.
    :param pending: statuses still to come, in clock order.
    :param inputs: the FASTQ files the sample was made from, by file type (``fastq-r1``, ``fastq-r2``).
    """

    id: str
    project_id: str
    client_id: str
    created: float
    outcome: str
    metadata: Any = None
    physical_id: str = ""
    legacy_id: str = ""
    run: str | None = None
    hidden: bool = False
    history: list[Status] = field(default_factory=list)
    archive_history: list[Status] = field(default_factory=list)
    pending: list[Planned] = field(default_factory=list)
    inputs: dict[str, Path] = field(default_factory=dict)
    files: list[SampleFile] = field(default_factory=list)
    finished_at: float | None = None

    @property
    def status(self) -> str:
        """The analysis status now (``last_status.status``)."""
        return self.history[-1].status

    @property
    def archive_status(self) -> str:
        """The archive status now (``archive_last_status.status``)."""
        return self.archive_history[-1].status

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    @property
    def downloadable(self) -> bool:
        """Whether its files may be fetched (GCLI ``ALLOWED_ARCHIVE_STATUSES_RE``, §3.3)."""
        return self.archive_status in (AVAILABLE, RESTORED)

    @property
    def modified(self) -> float:
        return max(s.created for s in (*self.history, *self.archive_history))


@dataclass
class RestoreGroup:
    """The samples one restore request covers (``GET /sample-restore-group/{id}``)."""

    id: str
    project_id: str
    sample_ids: list[str]
    created: float
