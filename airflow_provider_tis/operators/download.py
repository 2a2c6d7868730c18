"""DownloadResultsOperator: fetch a job's output files into a folder or object storage, frugally and verified.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the transfer
engine are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import fnmatch
import hashlib
import re
from dataclasses import replace
from enum import Enum
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.lineage import results_asset
from airflow_provider_tis.hooks.defaults import TIS_CONN_ID
from airflow_provider_tis.version_compat import AssetAlias, BaseOperator, mask_secret

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.core.manifest import Manifest
    from airflow_provider_tis.hooks.models import Job, OutputFile
    from airflow_provider_tis.hooks.tis import TisHook
    from airflow_provider_tis.version_compat import Context

LOW_DOWNLOADS_LEFT = 3
_CHROMOSOME_ZIP = re.compile(r"(^|/)chr_[^/]+\.zip$")


class DownloadResultsOperator(BaseOperator):
    """Download the output files of a finished job; return the URIs of the files at the destination.

    Each file normally costs one of its 10 downloads: a broken transfer resumes on the same storage link,
    and files this job already wrote to the destination are skipped, so a retry spends nothing on them.
    Every file is written under a temporary name and renamed once its size (and MD5, when the job has a
    ``.md5`` sidecar) is verified; then it is recorded in the destination's manifest (``.tis-manifest/``:
    job id, name, bytes, MD5, unpacked members), which alone proves a file complete: a file of another
    job with the same name is downloaded again. Local files are readable by their owner only.

    :param job_id: the TIS job id (templated).
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` or
        ``file:///data/tis`` (templated). File ``x`` goes to ``<destination>/x``; names with
        folders (``statistics/summary.txt``) keep them.
    :param include: glob patterns of file names to download (default: all), e.g. ``["chr_*.zip"]``; a
        string is one pattern (templated). An empty list is an error. The ``.md5`` sidecar of a selected
        zip is always downloaded too.
    :param exclude: glob patterns (or one pattern) of file names to skip.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param dest_conn_id: connection for the destination storage (or put it in the URL: ``s3://conn@bucket``).
    :param overwrite: download again even if a complete file is at the destination.
    :param max_parallel: files downloaded at the same time.
    :param extract: unpack each ``chr_<N>.zip`` into the destination (needs ``password``). A zip that was
        downloaded but not unpacked (a wrong password, say) is unpacked by the next try without
        downloading it again.
    :param password: the results' zip password (templated; masked in logs and rendered fields).
    :param keep_archives: keep the zips after unpacking them.
    :param emit_asset: declare the destination as an outlet, so DAGs can be scheduled on new results: an
        ``Asset`` with the destination's URI, or, when the destination is templated, an ``AssetAlias``
        (named ``asset_alias``) that each run points at the folder it wrote.
    :param asset_alias: name of that alias; schedule a DAG on ``AssetAlias("tis_results")`` to follow it.
    """

    template_fields: Sequence[str] = (
        "job_id",
        "destination",
        "include",
        "exclude",
        "dest_conn_id",
        "password",
    )
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        job_id: str,
        destination: str,
        include: str | Sequence[str] | None = None,
        exclude: str | Sequence[str] | None = None,
        tis_conn_id: str = TIS_CONN_ID,
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        max_parallel: int = 4,
        extract: bool = False,
        password: str | None = None,
        keep_archives: bool = True,
        emit_asset: bool = False,
        asset_alias: str = "tis_results",
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.destination = destination
        self.include = include
        self.exclude = exclude
        self.tis_conn_id = tis_conn_id
        self.dest_conn_id = dest_conn_id
        self.overwrite = overwrite
        self.max_parallel = max_parallel
        self.extract = extract
        self.password = password
        self.keep_archives = keep_archives
        self.emit_asset = emit_asset
        self.asset_alias = asset_alias
        if emit_asset:
            templated = "{{" in str(destination) or "{%" in str(destination)
            outlet = AssetAlias(name=asset_alias) if templated else results_asset(destination)
            self.outlets = [*self.outlets, outlet]

    @cached_property
    def hook(self) -> TisHook:
        from airflow_provider_tis.hooks.tis import TisHook

        return TisHook(self.tis_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.download import run_parallel
        from airflow_provider_tis.core.files import destination_root, write_atomically
        from airflow_provider_tis.core.manifest import Manifest
        from airflow_provider_tis.hooks.tis_errors import TisConfigError

        if self.password:
            mask_secret(self.password)
        if self.extract and not self.password:
            raise TisConfigError("extract=True needs the zip password: pass `password`.")
        if self.max_parallel < 1:
            raise TisConfigError(f"max_parallel must be at least 1, got {self.max_parallel}.")
        include, exclude = _patterns(self.include, "include"), _patterns(self.exclude, "exclude") or []
        root = destination_root(self.destination, self.dest_conn_id, TisConfigError)
        job = self.hook.get_job(self.job_id)
        files = self._selected_files(job, include, exclude)
        targets = _targets(files, root)  # every name checked before anything is downloaded
        manifest = Manifest(root, write_atomically)
        plan = {f.name: self._plan(f, job.id, targets, manifest) for f in files}
        for file in files:
            if plan[file.name] is _Action.DONE:
                self.log.info(
                    "%s from this job is already at the destination; not downloading it again.", file.name
                )
        todo = [f for f in files if plan[f.name] is _Action.FETCH]
        self._check_before_downloading(todo)
        sidecars = [f for f in todo if f.name.endswith(".md5")]
        for sidecar in sidecars:  # first, so the zips can be checked as they arrive
            self._download(sidecar, job.id, targets[sidecar.name], None, manifest)
        checksums = {
            f.name.removesuffix(".md5"): _read_md5(targets[f.name]) for f in files if f.name.endswith(".md5")
        }
        checksums = {name: digest for name, digest in checksums.items() if digest}
        finish = partial(self._finish, job_id=job.id, manifest=manifest)
        jobs = [
            partial(finish, f, plan[f.name], targets[f.name], checksums.get(f.name))
            for f in files
            if f not in sidecars
        ]
        unpacked = [path for paths in run_parallel(jobs, self.max_parallel, "tis-download") for path in paths]
        removed = self.extract and not self.keep_archives
        written = [targets[f.name] for f in files if not (removed and _is_zip(f.name))] + unpacked
        if self.emit_asset and any(isinstance(o, AssetAlias) for o in self.outlets):
            context["outlet_events"][AssetAlias(name=self.asset_alias)].add(results_asset(self.destination))
        self._lineage = (written, job.id)
        return [str(path) for path in written]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the files written at the destination are the outputs; the TIS job id is an
        external query run facet."""
        from airflow_provider_tis.core.lineage import operator_lineage

        written, job_id = self._lineage
        return operator_lineage(outputs=written, job_id=job_id, server=self.hook.settings.base_url)

    def _selected_files(self, job: Job, include: list[str] | None, exclude: list[str]) -> list[OutputFile]:
        from airflow_provider_tis.hooks.models import JobState
        from airflow_provider_tis.hooks.outcome import TisJobFailedError, failure_message

        if job.state is JobState.RETIRED:
            raise TisJobFailedError(failure_message(job))
        if job.state.is_active:
            raise TisJobFailedError(
                f"TIS job {job.id} is still {job.state.name}; wait for it with JobStateSensor before downloading."
            )
        chosen = {
            f.name
            for f in job.files
            if (include is None or any(fnmatch.fnmatchcase(f.name, p) for p in include))
            and not any(fnmatch.fnmatchcase(f.name, p) for p in exclude)
        }
        chosen |= {
            f.name for f in job.files if f.name.endswith(".md5") and f.name.removesuffix(".md5") in chosen
        }
        files = [f for f in job.files if f.name in chosen]
        if not files:
            raise TisJobFailedError(
                f"TIS job {job.id} ({job.state.name}) has no output files"
                + (" matching include/exclude." if job.files else ".")
            )
        return files

    def _plan(self, file: OutputFile, job_id: str, targets: dict[str, Any], manifest: Manifest) -> _Action:
        """What a file needs. Only the manifest proves a file complete: it must name this job and this file,
        and the bytes there must still be the ones recorded (size, and a zip's MD5 against its sidecar)."""
        from airflow_provider_tis.core.files import size_of

        target = targets[file.name]
        entry = manifest.entry(file.name)
        if self.overwrite or entry is None or entry.job_id != job_id:
            return _Action.FETCH
        present = size_of(target) == entry.size
        if file.name.endswith(".md5") and (not present or entry.md5 != _md5_of(target)):
            return _Action.FETCH  # a sidecar is tiny: its bytes are checked, not only its size
        if _is_zip(file.name) and f"{file.name}.md5" in targets:
            sidecar = manifest.entry(f"{file.name}.md5")
            proven = sidecar is not None and sidecar.job_id == job_id
            if not proven or entry.md5 is None or entry.md5 != _read_md5(targets[f"{file.name}.md5"]):
                return _Action.FETCH  # the sidecar is always re-checked
        if not (self.extract and _is_zip(file.name)):
            return _Action.DONE if present else _Action.FETCH
        members_there = entry.unpacked is not None and all(
            (target.parent / m).exists() for m in entry.unpacked
        )
        if members_there and (present or not self.keep_archives):
            return _Action.DONE
        return _Action.UNPACK if present else _Action.FETCH

    def _check_before_downloading(self, files: list[OutputFile]) -> None:
        from airflow_provider_tis.hooks.tis_errors import TisDownloadLimitError

        for file in files:
            if file.size is None:
                self.log.warning(
                    "The server lists %s with a size this provider does not understand (%r); its size is "
                    "checked against the transfer's Content-Length instead.",
                    file.name,
                    file.size_text,
                )
            if file.count == 0:
                raise TisDownloadLimitError(
                    f"{file.name} has no downloads left on the server (10 per file); nothing was downloaded. "
                    "Ask the server's administrators to reset the counter.",
                    status=400,
                )
            if 0 < file.count <= LOW_DOWNLOADS_LEFT:
                self.log.warning("%s has only %d downloads left on the server.", file.name, file.count)

    def _finish(
        self,
        file: OutputFile,
        action: _Action,
        target: Any,
        expected_md5: str | None,
        *,
        job_id: str,
        manifest: Manifest,
    ) -> list[Any]:
        """Bring one file to what was asked (downloaded, verified, recorded, and unpacked when it is a zip
        and ``extract``); returns the paths of the zip's members."""
        from airflow_provider_tis.core.archive import extract_zip
        from airflow_provider_tis.hooks.tis_errors import TisConfigError, TisTransferError

        if action is _Action.FETCH:
            self._download(file, job_id, target, expected_md5, manifest)
        if not (self.extract and _is_zip(file.name)):
            return []
        entry = manifest.entry(file.name)
        assert entry is not None  # recorded by this download or an earlier one
        if action is _Action.DONE:
            members = list(entry.unpacked or ())
        else:
            if action is _Action.UNPACK:
                self.log.info("%s was downloaded before but not unpacked; unpacking it now.", file.name)
            assert self.password is not None
            members = extract_zip(
                target,
                self.password,
                target.parent,
                config_error=TisConfigError,
                transfer_error=TisTransferError,
            )
            self.log.info("Unpacked %s: %s.", file.name, ", ".join(members))
            manifest.record(replace(entry, unpacked=tuple(members)))  # before the zip may go
        if not self.keep_archives and target.exists():
            target.unlink()
        return [target.parent / m for m in members]

    def _download(
        self, file: OutputFile, job_id: str, target: Any, expected_md5: str | None, manifest: Manifest
    ) -> None:
        from airflow_provider_tis.core.download import fetch
        from airflow_provider_tis.core.manifest import ManifestEntry
        from airflow_provider_tis.hooks.tis_errors import TisTransferError

        sidecar = file.name.endswith(".md5")  # its own MD5 goes in the manifest, to re-check it later
        checksum = "md5" if expected_md5 is not None or sidecar else None
        fetched = fetch(self.hook.download_source(file), target, self.log, checksum=checksum)
        if expected_md5 is not None and fetched.checksum != expected_md5:
            fetched.partial.discard()
            raise TisTransferError(
                f"{file.name}: MD5 of the download is {fetched.checksum}, but {file.name}.md5 says {expected_md5}. "
                "The partial file was deleted; run the task again."
            )
        fetched.partial.commit()
        manifest.record(ManifestEntry(job_id, file.name, fetched.size, fetched.checksum or None))
        self.log.info(
            "Downloaded %s (%d bytes%s).", file.name, fetched.size, ", MD5 verified" if expected_md5 else ""
        )


class _Action(Enum):
    DONE = "done"  # complete at the destination (and unpacked, when asked): nothing to do
    UNPACK = "unpack"  # the zip is there, but was not unpacked: unpack it without downloading
    FETCH = "fetch"


def _patterns(value: str | Sequence[str] | None, name: str) -> list[str] | None:
    """Glob patterns from a parameter: a string (what a template renders) is one pattern, not its letters."""
    if value is None:
        return None
    from airflow_provider_tis.hooks.tis_errors import TisConfigError

    patterns = [value] if isinstance(value, str) else list(value)
    if not all(isinstance(p, str) for p in patterns):
        raise TisConfigError(f"`{name}` must be a glob pattern or a list of them, got {value!r}.")
    if not patterns and name == "include":
        raise TisConfigError(
            "`include` is empty, so nothing is selected. Leave it out (None) to download every file, or "
            "give patterns such as ['chr_*.zip']."
        )
    return patterns


def _targets(files: list[OutputFile], root: Any) -> dict[str, Any]:
    """Where each file goes, refusing unsafe names, two files at one path, and anything in the way."""
    from airflow_provider_tis.core.files import safe_relative_name
    from airflow_provider_tis.hooks.tis_errors import TisConfigError, TisResponseError

    targets: dict[str, Any] = {}
    claimed: dict[str, str] = {}  # relative path of each file and each folder -> the listed name needing it
    for file in files:
        relative = safe_relative_name(file.name, TisResponseError)
        parts = relative.split("/")
        folders = ["/".join(parts[: i + 1]) for i in range(len(parts) - 1)]
        for path in (relative, *folders):
            other = claimed.get(path)
            if other is not None and (
                path == relative or safe_relative_name(other, TisResponseError) == path
            ):
                raise TisResponseError(
                    f"The server lists two output files that would both be written to {path!r} "
                    f"({other!r} and {file.name!r}); nothing was downloaded. Download them into separate "
                    "destinations with include/exclude, or report this to the server's administrators."
                )
            claimed.setdefault(path, file.name)
        targets[file.name] = root / relative
        for path, should_be_folder in [*((root / f, True) for f in folders), (targets[file.name], False)]:
            if path.exists() and path.is_dir() != should_be_folder:
                raise TisConfigError(
                    f"{'A file' if should_be_folder else 'A folder'} is in the way at {path}, where the job's "
                    f"{file.name!r} must go; nothing was downloaded. Move it away, or choose another destination."
                )
    return targets


def _md5_of(path: Any) -> str | None:
    try:
        return hashlib.md5(path.read_bytes()).hexdigest()
    except (FileNotFoundError, OSError):
        return None


def _is_zip(name: str) -> bool:
    return bool(_CHROMOSOME_ZIP.search(name))


def _read_md5(path: Any) -> str:
    try:
        text = path.read_text()
    except (FileNotFoundError, OSError, UnicodeDecodeError):
        return ""
    return text.split()[0].lower() if text.split() else ""
