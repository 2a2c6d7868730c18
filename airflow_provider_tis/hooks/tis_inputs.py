"""Pre-flight checks of a TIS submission: cheap, local, and done before a single byte is uploaded."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.inputs import resolve_files as resolve_any_files
from airflow_provider_tis.core.inputs import task_job_name
from airflow_provider_tis.hooks.tis_errors import TisConfigError

if TYPE_CHECKING:
    import os
    from collections.abc import Sequence
    from pathlib import Path

BGZF_MAGIC = b"\x1f\x8b\x08\x04"
_HEADER_BYTES = 18
_UNSAFE_CHARACTERS = set('&<>"')
#: Special inside the double quotes of the pipeline's ``7z -p"<password>"`` (bash), so they change the password.
_SHELL_CHARACTERS = set("$`\\")


def resolve_files(files: str | Sequence[str | os.PathLike[str]]) -> list[Any]:
    """The VCFs ``files`` names (paths, URLs, globs; see :func:`airflow_provider_tis.core.inputs.resolve_files`)."""
    return resolve_any_files(files, TisConfigError)


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


def default_job_name(context: Any) -> str:
    """The name of a job submitted without ``job_name``: dag, run, task, map index."""
    return task_job_name(context)
