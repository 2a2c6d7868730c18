"""What the Gencove transfer operators are given, checked before any request: the FASTQ sources of an
import (URLs, storage paths to presign, local files) and the sample ids of a download.

Imported by the operators' ``execute`` only (a DAG file's parse never loads it).
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_tis.core.errors import redact_url
from airflow_provider_tis.core.files import is_single_name
from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError, check_uuid

if TYPE_CHECKING:
    from collections.abc import Mapping

#: How long a presigned storage link lasts: Gencove fetches it right after the import is asked, but a
#: queue on its side may delay that [I: no documented fetch delay; one day is generous and still short].
PRESIGN_SECONDS = 24 * 3600
_WEB = ("http", "https")
_LOCAL = ("", "file", "local")


@dataclass(frozen=True)
class FastqSource:
    """One FASTQ of an import.

    :param kind: ``"url"`` (Gencove fetches it), ``"storage"`` (presigned, then fetched) or ``"local"``
        (uploaded to Gencove's S3 with temporary credentials).
    :param shown: how logs and messages name it (a URL without its query string: a signature is secret).
    :param url: the URL Gencove fetches (url and storage kinds).
    :param path: the local file (local kind).
    """

    kind: str
    shown: str
    url: str | None = None
    path: str | None = None

    def __repr__(self) -> str:  # the URL may carry a signature: never print it whole
        return f"FastqSource({self.kind}, {self.shown})"


def parse_json(value: Any, argument: str) -> Any:
    """A templated argument that rendered to JSON text (an XCom pushed as a string), decoded."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if not text.startswith(("{", "[")):
        return value
    try:
        return json.loads(text)
    except ValueError as exc:
        raise GencoveConfigError(f"`{argument}` looks like JSON but cannot be read: {exc}.") from None


def check_client_ids(client_ids: list[str]) -> None:
    """Client ids name uploads (``<client id>_R1.fastq.gz``) and download folders: non-empty, one name
    (no ``/``), no surrounding spaces, unique."""
    for client_id in client_ids:
        if not isinstance(client_id, str) or not client_id.strip() or client_id != client_id.strip():
            raise GencoveConfigError(
                f"Client id {client_id!r} must be a non-empty text without surrounding spaces. Nothing was sent."
            )
        if not is_single_name(client_id):
            raise GencoveConfigError(
                f"Client id {client_id!r} must be a single name (no '/', '\\', NUL, '.' or '..'): it names "
                "files and folders. Rename it to one plain name, e.g. 'S1'. Nothing was sent."
            )
    twice = sorted({c for c in client_ids if client_ids.count(c) > 1})
    if twice:
        raise GencoveConfigError(
            f"Client ids must be unique; repeated: {', '.join(twice)}. Nothing was sent."
        )


def plan_samples(samples: Any, presign_seconds: int = PRESIGN_SECONDS) -> dict[str, list[FastqSource]]:
    """Client id -> its one or two FASTQ sources, every one checked (local files exist, storage paths
    presigned) before any request."""
    samples = parse_json(samples, "samples")
    if not isinstance(samples, dict) or not samples:
        raise GencoveConfigError(
            "`samples` must map each client id to its FASTQ source or [R1, R2] sources, e.g. "
            "{'S1': ['https://host/S1_R1.fastq.gz', 'https://host/S1_R2.fastq.gz']}; got "
            f"{type(samples).__name__}. Nothing was sent."
        )
    check_client_ids(list(samples))
    planned: dict[str, list[FastqSource]] = {}
    for client_id, given in samples.items():
        items = list(given) if isinstance(given, (list, tuple)) else [given]
        if not 1 <= len(items) <= 2:
            raise GencoveConfigError(
                f"Sample {client_id!r} has {len(items)} sources; give one FASTQ (single-end) or two "
                "(R1, R2). Nothing was sent."
            )
        planned[client_id] = [_source(item, client_id, presign_seconds) for item in items]
    return planned


def _source(item: Any, client_id: str, presign_seconds: int) -> FastqSource:
    if hasattr(item, "protocol") and hasattr(item, "fs"):  # an ObjectStoragePath
        if item.protocol in _LOCAL:
            return _local(item.path, client_id)
        return FastqSource("storage", str(item), url=presign(item, presign_seconds))
    if not isinstance(item, (str, os.PathLike)):
        raise GencoveConfigError(
            f"Source {item!r} of sample {client_id!r} is not a URL, a storage path or a local file. "
            "Nothing was sent."
        )
    text = os.fspath(item).strip()
    scheme = urlsplit(text).scheme.lower() if "://" in text else ""
    if scheme in _WEB:
        if not urlsplit(text).hostname:
            raise GencoveConfigError(f"Source {redact_url(text)} of sample {client_id!r} has no host.")
        return FastqSource("url", redact_url(text), url=text)
    if scheme in _LOCAL:
        return _local(unquote(urlsplit(text).path) if scheme else text, client_id)
    from airflow_provider_tis.version_compat import ObjectStoragePath

    try:
        path = ObjectStoragePath(text)
        path.fs  # noqa: B018 - an unknown scheme fails here, before any request
    except Exception as exc:
        raise GencoveConfigError(
            f"Cannot use source {redact_url(text)} of sample {client_id!r}: {exc}. Use an https URL, a local "
            "file, or a storage URL whose scheme an installed provider supports (s3://, gs:// ...). "
            "Nothing was sent."
        ) from None
    return FastqSource("storage", redact_url(text), url=presign(path, presign_seconds))


def _local(text: str, client_id: str) -> FastqSource:
    path = os.path.abspath(os.path.expanduser(text))
    if not os.path.isfile(path):
        raise GencoveConfigError(
            f"Source {text!r} of sample {client_id!r} is not a file on this worker. Check the path (a "
            "relative path is relative to the worker's working folder) and that the file is on every worker "
            "that may run the task. Nothing was sent."
        )
    return FastqSource("local", path, path=path)


def presign(path: Any, seconds: int) -> str:
    """A presigned http(s) link to a storage path, from its filesystem's ``sign()`` (fsspec)."""
    storage = getattr(path, "protocol", "?")
    try:
        url = path.fs.sign(path.path, expiration=seconds)
    except NotImplementedError:
        url = None
    except Exception as exc:  # the storage's own error (no credentials...): its type and words
        raise GencoveConfigError(
            f"Could not presign {path} for Gencove to fetch ({type(exc).__name__}: {redact_url(str(exc))}). "
            "Check the storage connection's credentials. Nothing was sent."
        ) from None
    if not isinstance(url, str) or urlsplit(url).scheme not in _WEB:
        raise GencoveConfigError(
            f"The {storage}:// storage of {path} cannot make presigned links (its filesystem has no sign()), "
            "so Gencove cannot fetch it. Give an https URL, a path on a storage that presigns (s3://, "
            "gs:// ...), or copy the file to the worker and give its local path. Nothing was sent."
        )
    return url


def import_folder(context: Mapping[str, Any]) -> str:
    """The ``gncv://`` folder of this task instance's uploads: the same on every try (so a retry finds
    what an earlier one uploaded), another for every DAG run and mapped index."""
    from airflow_provider_tis.core.inputs import task_job_name

    return "airflow-" + task_job_name(context, limit=90)


def parse_sample_ids(sample_ids: Any) -> list[tuple[str | None, str]]:
    """(client id or None, sample id) pairs from a list of ids, a {client id: sample id} mapping (the
    import's XCom "samples") or JSON text of either; ids checked as UUIDs, client ids as folder names."""
    from airflow_provider_tis.triggers.gencove import decoded_sample_ids

    value = decoded_sample_ids(sample_ids)
    if isinstance(value, dict):
        check_client_ids([str(c) for c in value])
        pairs: list[tuple[str | None, str]] = [
            (str(c), check_uuid(s, "sample_ids")) for c, s in value.items()
        ]
    elif isinstance(value, (list, tuple)):
        pairs = [(None, check_uuid(s, "sample_ids")) for s in value]
    else:
        pairs = []
    if not pairs:
        raise GencoveConfigError(
            "`sample_ids` must be a non-empty list of sample ids, or {client id: sample id} (e.g. the import's "
            f"XCom 'samples'); got {sample_ids!r}. Nothing was downloaded."
        )
    ids = [s for _, s in pairs]
    twice = sorted({s for s in ids if ids.count(s) > 1})
    if twice:
        raise GencoveConfigError(
            f"`sample_ids` names {', '.join(twice)} more than once. Nothing was downloaded."
        )
    return pairs


def safe_folder(client_id: str, sample_id: str) -> str:
    """A sample's download folder: its client id, refused when it is not one safe name."""
    if not is_single_name(client_id):
        raise GencoveConfigError(
            f"Sample {sample_id} has client id {client_id!r}, which is not a safe folder name (empty, '..', "
            "'/', '\\' or NUL): it would be written outside the destination. Nothing was downloaded. Give "
            "`sample_ids` as {folder name: sample id} to choose the folders."
        )
    return client_id
