"""DownloadResultsOperator: fetch a job's output files into a folder or object storage, exactly once each."""

from __future__ import annotations

import fnmatch
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.errors import TisDownloadLimitError
from airflow_provider_tis.hooks.models import JobState
from airflow_provider_tis.hooks.outcome import TisJobFailedError, failure_message
from airflow_provider_tis.hooks.tis import TisHook
from airflow_provider_tis.operators.transfer import (
    TisTransferError,
    destination_root,
    looks_complete,
    safe_relative_name,
    write_atomically,
)
from airflow_provider_tis.version_compat import BaseOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.hooks.models import Job, OutputFile
    from airflow_provider_tis.version_compat import Context


class DownloadResultsOperator(BaseOperator):
    """Download the output files of a finished job; return the URIs of the files at the destination.

    Files already complete at the destination are skipped, so a retry spends no downloads on them
    (each file can be downloaded only 10 times). Each file is written under a temporary name and
    renamed when complete and verified.

    :param job_id: the TIS job id (templated).
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` or
        ``file:///data/tis`` (templated). File ``x`` goes to ``<destination>/x``; names with
        folders (``statistics/summary.txt``) keep them.
    :param include: glob patterns of file names to download (default: all), e.g. ``["chr_*.zip"]``.
    :param exclude: glob patterns of file names to skip.
    :param tis_conn_id: Airflow connection id of type ``tis``.
    :param dest_conn_id: connection for the destination storage (or put it in the URL: ``s3://conn@bucket``).
    :param overwrite: download again even if a complete file is at the destination.
    """

    template_fields: Sequence[str] = ("job_id", "destination", "include", "exclude", "dest_conn_id")
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

    @cached_property
    def hook(self) -> TisHook:
        return TisHook(self.tis_conn_id)

    def execute(self, context: Context) -> list[str]:
        root = destination_root(self.destination, self.dest_conn_id)
        job = self.hook.get_job(self.job_id)
        files = self._selected_files(job)
        targets = [
            (file, root / safe_relative_name(file.name)) for file in files
        ]  # all checked before any hit
        written: list[str] = []
        for file, target in targets:
            if not self.overwrite and looks_complete(target, file):
                self.log.info(
                    "%s is already complete at the destination; not downloading it again.", file.name
                )
            else:
                self._download(file, target)
            written.append(str(target))
        return written

    def _selected_files(self, job: Job) -> list[OutputFile]:
        if job.state is JobState.RETIRED:
            raise TisJobFailedError(failure_message(job))
        if job.state.is_active:
            raise TisJobFailedError(
                f"TIS job {job.id} is still {job.state.name}; wait for it with JobStateSensor before downloading."
            )
        files = [
            f
            for f in job.files
            if (not self.include or any(fnmatch.fnmatchcase(f.name, p) for p in self.include))
            and not any(fnmatch.fnmatchcase(f.name, p) for p in self.exclude or ())
        ]
        if not files:
            raise TisJobFailedError(
                f"TIS job {job.id} ({job.state.name}) has no output files"
                + (" matching include/exclude." if job.files else ".")
            )
        return files

    def _download(self, file: OutputFile, target: Any) -> None:
        if file.count == 0:
            raise TisDownloadLimitError(
                f"{file.name} has no downloads left on the server (10 per file); ask the server's "
                "administrators to reset the counter.",
                status=400,
            )
        with self.hook.open_download(file) as download:
            size = write_atomically(download, target)
        if file.size is not None and size < file.size:
            target.unlink()
            raise TisTransferError(
                f"{file.name}: received {size} bytes but the server lists it as {file.size_text}."
            )
        self.log.info(
            "Downloaded %s (%d bytes, %d downloads left).", file.name, size, max(file.count - 1, -1)
        )
