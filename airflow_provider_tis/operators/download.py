"""DownloadResultsOperator: fetch a job's output files into a folder or object storage, frugally and verified."""

from __future__ import annotations

import fnmatch
import re
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import TisConfigError, TisDownloadLimitError
from airflow_provider_tis.hooks.models import JobState
from airflow_provider_tis.hooks.outcome import TisJobFailedError, failure_message
from airflow_provider_tis.hooks.tis import TisHook
from airflow_provider_tis.operators.extract import extract_zip
from airflow_provider_tis.operators.lineage import operator_lineage, results_asset
from airflow_provider_tis.operators.transfer import (
    TisTransferError,
    destination_root,
    fetch,
    looks_complete,
    safe_relative_name,
)
from airflow_provider_tis.version_compat import AssetAlias, BaseOperator, mask_secret

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.models import Job, OutputFile
    from airflow_provider_tis.version_compat import Context

LOW_DOWNLOADS_LEFT = 3
_CHROMOSOME_ZIP = re.compile(r"(^|/)chr_[^/]+\.zip$")


class DownloadResultsOperator(BaseOperator):
    """Download the output files of a finished job; return the URIs of the files at the destination.

    Each file normally costs one of its 10 downloads: a broken transfer resumes on the same storage link,
    and files already complete at the destination are skipped, so a retry spends nothing on them. Every
    file is written under a temporary name and renamed once its size (and MD5, when the job has a
    ``.md5`` sidecar) is verified. Local files are readable by their owner only.

    :param job_id: the TIS job id (templated).
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` or
        ``file:///data/tis`` (templated). File ``x`` goes to ``<destination>/x``; names with
        folders (``statistics/summary.txt``) keep them.
    :param include: glob patterns of file names to download (default: all), e.g. ``["chr_*.zip"]``.
        The ``.md5`` sidecar of a selected zip is always downloaded too.
    :param exclude: glob patterns of file names to skip.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param dest_conn_id: connection for the destination storage (or put it in the URL: ``s3://conn@bucket``).
    :param overwrite: download again even if a complete file is at the destination.
    :param max_parallel: files downloaded at the same time.
    :param extract: unpack each ``chr_<N>.zip`` into the destination (needs ``password``).
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
        include: Sequence[str] | None = None,
        exclude: Sequence[str] | None = None,
        tis_conn_id: str = TisHook.default_conn_name,
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
        return TisHook(self.tis_conn_id)

    def execute(self, context: Context) -> list[str]:
        if self.password:
            mask_secret(self.password)
        if self.extract and not self.password:
            raise TisConfigError("extract=True needs the zip password: pass `password`.")
        if self.max_parallel < 1:
            raise TisConfigError(f"max_parallel must be at least 1, got {self.max_parallel}.")
        root = destination_root(self.destination, self.dest_conn_id)
        job = self.hook.get_job(self.job_id)
        files = self._selected_files(job)
        targets = {file.name: root / safe_relative_name(file.name) for file in files}  # all checked first
        todo = [f for f in files if self.overwrite or not self._already_done(f, targets[f.name])]
        for file in files:
            if file not in todo:
                self.log.info(
                    "%s is already complete at the destination; not downloading it again.", file.name
                )
        self._check_before_downloading(todo)
        sidecars = [f for f in todo if f.name.endswith(".md5")]
        for sidecar in sidecars:  # first, so the zips can be checked as they arrive
            self._download(sidecar, targets[sidecar.name], None)
        checksums = {
            f.name.removesuffix(".md5"): _read_md5(targets[f.name]) for f in files if f.name.endswith(".md5")
        }
        checksums = {name: digest for name, digest in checksums.items() if digest}
        unpacked = self._download_all([f for f in todo if f not in sidecars], targets, checksums)
        removed = self.extract and not self.keep_archives
        written = [targets[f.name] for f in files if not (removed and _is_zip(f.name))] + unpacked
        if self.emit_asset and any(isinstance(o, AssetAlias) for o in self.outlets):
            context["outlet_events"][AssetAlias(name=self.asset_alias)].add(results_asset(self.destination))
        self._lineage = (written, job.id)
        return [str(path) for path in written]

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """OpenLineage: the files written at the destination are the outputs; the TIS job id is an
        external query run facet."""
        written, job_id = self._lineage
        return operator_lineage(outputs=written, job_id=job_id, server=self.hook.settings.base_url)

    def _selected_files(self, job: Job) -> list[OutputFile]:
        if job.state is JobState.RETIRED:
            raise TisJobFailedError(failure_message(job))
        if job.state.is_active:
            raise TisJobFailedError(
                f"TIS job {job.id} is still {job.state.name}; wait for it with JobStateSensor before downloading."
            )
        chosen = {
            f.name
            for f in job.files
            if (not self.include or any(fnmatch.fnmatchcase(f.name, p) for p in self.include))
            and not any(fnmatch.fnmatchcase(f.name, p) for p in self.exclude or ())
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

    def _already_done(self, file: OutputFile, target: Any) -> bool:
        return looks_complete(target, file) or (_is_zip(file.name) and _marker(target).exists())

    def _check_before_downloading(self, files: list[OutputFile]) -> None:
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

    def _download_all(
        self, files: list[OutputFile], targets: dict[str, Any], checksums: dict[str, str]
    ) -> list[Any]:
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="tis-download") as pool:
            futures = [pool.submit(self._download, f, targets[f.name], checksums.get(f.name)) for f in files]
            done, pending = wait(futures, return_when=FIRST_EXCEPTION)
            for future in pending:  # after a failure, start nothing more
                future.cancel()
            for future in done:
                future.result()  # raises the first failure
        return [path for future in futures for path in future.result()]

    def _download(self, file: OutputFile, target: Any, expected_md5: str | None) -> list[Any]:
        fetched = fetch(self.hook, file, target, self.log, md5=expected_md5 is not None)
        if expected_md5 is not None and fetched.md5 != expected_md5:
            fetched.partial.discard()
            raise TisTransferError(
                f"{file.name}: MD5 of the download is {fetched.md5}, but {file.name}.md5 says {expected_md5}. "
                "The partial file was deleted; run the task again."
            )
        fetched.partial.commit()
        self.log.info(
            "Downloaded %s (%d bytes%s).", file.name, fetched.size, ", MD5 verified" if expected_md5 else ""
        )
        if not (self.extract and _is_zip(file.name)):
            return []
        assert self.password is not None
        members = extract_zip(target, self.password, lambda name: target.parent / name)
        self.log.info("Unpacked %s: %s.", file.name, ", ".join(m.name for m in members))
        if not self.keep_archives:
            _marker(target).write_bytes(b"")  # lets a retry know the zip was unpacked, not lost
            target.unlink()
        return members


def _is_zip(name: str) -> bool:
    return bool(_CHROMOSOME_ZIP.search(name))


def _marker(target: Any) -> Any:
    return target.parent / f".{target.name}.unpacked"


def _read_md5(path: Any) -> str:
    try:
        text = path.read_text()
    except (FileNotFoundError, OSError, UnicodeDecodeError):
        return ""
    return text.split()[0].lower() if text.split() else ""
