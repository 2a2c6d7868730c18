"""Inputs of a submission: which files a parameter names, and a job name unique to the task instance."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_tis.core.errors import ConfigError
from airflow_provider_tis.version_compat import ObjectStoragePath

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

NAME_MAX = 100
#: Hex digits of the task instance's hash appended to an explicit job name.
SUFFIX_HEX = 10


def resolve_files(
    files: str | Sequence[str | os.PathLike[str]], error: type[ConfigError] = ConfigError
) -> list[Any]:
    """Paths from local paths, ``file://`` URLs, storage URLs (``s3://conn@bucket/key``, ``gs://``,
    ``memory://``) and globs of them, or a list of those (order kept, glob matches sorted)."""
    items = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    if not items:
        raise error("No input files given: pass `files` as a path, a glob or a list of .vcf.gz files.")
    paths: list[Path] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise error(f"{item!r} in `files` is not a path; give paths, file:// URLs or globs.")
        text = os.fspath(item).strip()
        if "://" in text and urlsplit(text).scheme != "file":
            paths.extend(_storage_paths(text, error))
            continue
        if "://" in text:
            text = unquote(urlsplit(text).path)
        text = os.path.expanduser(text)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise error(
                    f"The pattern {text!r} in `files` matched no file on this worker; check the pattern."
                )
            paths.extend(Path(m) for m in matches)
        else:
            paths.append(Path(text))
    return paths


def _storage_paths(url: str, error: type[ConfigError]) -> list[Any]:
    try:
        path = ObjectStoragePath(url)
        path.fs  # noqa: B018 - an unknown scheme fails here, with the URL in the message
    except Exception as exc:
        raise error(
            f"Cannot read input {url!r}: {exc}. Use a local path or a URL whose scheme an installed provider "
            "supports (s3:// with the Amazon provider, gs:// with Google, ...)."
        ) from exc
    if not glob.has_magic(path.name):
        return [path]
    matches = sorted(path.parent.glob(path.name), key=str)
    if not matches:
        raise error(f"The pattern {url!r} in `files` matched no file; check the pattern.")
    return matches


def task_job_name(context: Any, job_name: str | None = None, limit: int = NAME_MAX) -> str:
    """The job name sent to the server: unique to this task instance and stable across its retries.

    Without ``job_name``: dag, run, task and map index, made safe. With one: ``<job_name>-<hash>``,
    the hash of those same parts, so a later DAG run never finds (and reuses) this run's job. Either
    way the name stays within 100 characters; only the readable part is ever shortened.
    """
    ti = context["ti"]
    parts = [ti.dag_id, ti.run_id, ti.task_id]
    map_index = getattr(ti, "map_index", -1)
    if isinstance(map_index, int) and map_index >= 0:
        parts.append(str(map_index))
    raw = "__".join(str(p) for p in parts)
    digest = hashlib.sha256(raw.encode()).hexdigest()
    if job_name:
        return f"{job_name[: limit - SUFFIX_HEX - 1]}-{digest[:SUFFIX_HEX]}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")
    if len(name) > limit:  # keep it readable, and unique through a hash of the full name
        name = name[: limit - 17] + "-" + digest[:16]
    return name


def positive_seconds(value: Any, name: str, error: Callable[[str], Exception], why: str) -> float:
    """``value`` (a number or a timedelta) as seconds, else raise ``error(message)``, the message naming
    ``name`` and ``why`` it matters. Checked when a DAG is parsed (an interval of 0 would poll without a
    pause), so ``error`` builds the service's error only when one is raised: its module stays unloaded."""
    seconds = value.total_seconds() if hasattr(value, "total_seconds") else value
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float)) or not seconds > 0:
        raise error(f"{name} must be a positive number of seconds, got {value!r}. {why}")
    return float(seconds)
