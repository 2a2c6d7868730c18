"""Pre-flight checks of a submission: cheap, local, and done before a single byte is uploaded."""

from __future__ import annotations

import glob
import hashlib
import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

from airflow_provider_tis.hooks.errors import TisConfigError
from airflow_provider_tis.version_compat import ObjectStoragePath

if TYPE_CHECKING:
    from collections.abc import Sequence

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_HEADER_BYTES = 18
_UNSAFE_CHARACTERS = set('&<>"')
#: Special inside the double quotes of the pipeline's ``7z -p"<password>"`` (bash), so they change the password.
_SHELL_CHARACTERS = set("$`\\")
_NAME_MAX = 100
#: Hex digits of the task instance's hash appended to an explicit job name.
_SUFFIX_HEX = 10


def resolve_files(files: str | Sequence[str | os.PathLike[str]]) -> list[Any]:
    """Paths from local paths, ``file://`` URLs, storage URLs (``s3://conn@bucket/key``, ``gs://``,
    ``memory://``) and globs of them, or a list of those (order kept, glob matches sorted)."""
    items = [files] if isinstance(files, (str, os.PathLike)) else list(files)
    if not items:
        raise TisConfigError(
            "No input files given: pass `files` as a path, a glob or a list of .vcf.gz files."
        )
    paths: list[Path] = []
    for item in items:
        if not isinstance(item, (str, os.PathLike)):
            raise TisConfigError(f"{item!r} in `files` is not a path; give paths, file:// URLs or globs.")
        text = os.fspath(item).strip()
        if "://" in text and urlsplit(text).scheme != "file":
            paths.extend(_storage_paths(text))
            continue
        if "://" in text:
            text = unquote(urlsplit(text).path)
        text = os.path.expanduser(text)
        if glob.has_magic(text):
            matches = sorted(glob.glob(text))
            if not matches:
                raise TisConfigError(
                    f"The pattern {text!r} in `files` matched no file on this worker; check the pattern."
                )
            paths.extend(Path(m) for m in matches)
        else:
            paths.append(Path(text))
    return paths


def _storage_paths(url: str) -> list[Any]:
    try:
        path = ObjectStoragePath(url)
        path.fs  # noqa: B018 - an unknown scheme fails here, with the URL in the message
    except Exception as exc:
        raise TisConfigError(
            f"Cannot read input {url!r}: {exc}. Use a local path or a URL whose scheme an installed provider "
            "supports (s3:// with the Amazon provider, gs:// with Google, ...)."
        ) from exc
    if not glob.has_magic(path.name):
        return [path]
    matches = sorted(path.parent.glob(path.name), key=str)
    if not matches:
        raise TisConfigError(f"The pattern {url!r} in `files` matched no file; check the pattern.")
    return matches


def check_input_files(paths: Sequence[Any]) -> None:
    """Each file exists, is readable, is named ``*.vcf.gz`` and starts like BGZF; no base name twice.

    Only the first bytes of each file are read, on object storage too.
    """
    seen: dict[str, Path] = {}
    for path in paths:
        if not path.name.endswith(".vcf.gz"):
            raise TisConfigError(
                f"Input {path} is not named *.vcf.gz; the server only reads *.vcf.gz files. "
                "Compress the VCF with bgzip and name it <name>.vcf.gz."
            )
        if path.is_dir():
            raise TisConfigError(
                f"Input {path} is a directory; list the .vcf.gz files in it (or use a glob)."
            )
        try:
            with path.open("rb") as handle:
                head = handle.read(_HEADER_BYTES)
        except FileNotFoundError:
            raise TisConfigError(
                f"Input file {path} does not exist on this worker; check the path (and that the worker sees it)."
            ) from None
        except OSError as exc:
            raise TisConfigError(
                f"Input file {path} cannot be read ({exc.strerror}); check its permissions."
            ) from None
        check_bgzf_header(head, str(path))
        if path.name in seen:
            raise TisConfigError(
                f"Inputs {seen[path.name]} and {path} have the same file name; the server would keep only one "
                "of them. Rename one."
            )
        seen[path.name] = path


def check_bgzf_header(head: bytes, name: str) -> None:
    if not head:
        raise TisConfigError(f"Input file {name} is empty; write it again (bgzip, then tabix).")
    if head[:2] != b"\x1f\x8b":
        raise TisConfigError(f"Input file {name} is not gzip-compressed. Compress it with `bgzip`.")
    if head[:4] != BGZF_MAGIC or head[12:14] != b"BC":
        raise TisConfigError(
            f"Input file {name} is gzip but not BGZF (block gzip); the server rejects it. "
            "Recompress it with `bgzip` instead of `gzip`."
        )


def check_server_safe(value: str, what: str) -> None:
    """The server HTML-escapes text fields, so ``& < > "`` and non-ASCII characters would be changed."""
    bad = sorted({c for c in value if c in _UNSAFE_CHARACTERS or ord(c) > 126 or ord(c) < 32})
    if bad:
        shown = " ".join(repr(c) for c in bad)
        raise TisConfigError(
            f"The {what} contains {shown}, which the server would alter (it HTML-escapes text fields). "
            'Use ASCII letters, digits and punctuation other than & < > ".'
        )


def check_password(password: str) -> None:
    """Refuse what the server would HTML-escape, and what its pipeline's shell would change.

    imputationserver2 zips the results with ``7z -p"<password>"`` in a bash script
    (``compression_encryption_vcf.nf``), where a dollar sign, a backtick or a backslash inside the double
    quotes expands or escapes: the zips would be encrypted with another password than the one given.
    (The server's own generated passwords avoid these characters.)
    """
    check_server_safe(password, "password")
    bad = sorted({c for c in password if c in _SHELL_CHARACTERS})
    if bad:
        shown = " ".join(f"'{c}'" for c in bad)  # not repr: it would show a backslash twice
        raise TisConfigError(
            f"The password contains {shown}, which the server's pipeline would change (it passes the password "
            "to 7z in a shell script, where $ ` \\ are special), so the result zips would not open with it. "
            'Use ASCII letters, digits and punctuation other than & < > " $ ` \\.'
        )


def task_job_name(context: Any, job_name: str | None = None) -> str:
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
        return f"{job_name[: _NAME_MAX - _SUFFIX_HEX - 1]}-{digest[:_SUFFIX_HEX]}"
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", raw).strip("-.")
    if len(name) > _NAME_MAX:  # keep it readable, and unique through a hash of the full name
        name = name[: _NAME_MAX - 17] + "-" + digest[:16]
    return name


def default_job_name(context: Any) -> str:
    """The name of a job submitted without ``job_name``: dag, run, task, map index."""
    return task_job_name(context)
