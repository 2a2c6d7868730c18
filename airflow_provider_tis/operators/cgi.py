"""Operators of the Cancer Genome Interpreter: submit inputs, download (and unpack) results, delete jobs.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the transfer
engine are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

import zipfile
from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import CGI_CONN_ID
from airflow_provider_tis.version_compat import BaseOperator, BaseOperatorLink, XCom

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.core.manifest import Manifest
    from airflow_provider_tis.hooks.cgi import CgiHook
    from airflow_provider_tis.version_compat import Context


class CgiJobLink(BaseOperatorLink):
    """The "CGI job" button: the job's page on the server."""

    name = "CGI job"

    def get_link(self, operator: Any, *, ti_key: Any) -> str:
        return XCom.get_value(key="job_url", ti_key=ti_key) or ""


class CgiSubmitOperator(BaseOperator):
    """Submit mutations, copy number alterations and/or translocations to CGI; return the job id (XCom).

    Everything that can be checked is checked before the upload. A retried task reuses the job of an
    earlier try, found by its title among the account's jobs, instead of submitting a second one (CGI has
    no idempotency key: an answer lost on the way back would otherwise cost a second job of the quota).

    :param cancer_type: a CGI cancer type acronym, e.g. ``CANCER`` (any) or ``LUAD`` (templated).
    :param mutations: a mutations file (TSV or VCF): a local path, ``file://`` or storage URL (templated).
    :param cnas: a copy number alterations file (templated).
    :param translocations: a translocations file (templated).
    :param reference: the genome build of the inputs, ``hg19`` or ``hg38``.
    :param title: the job's title; the server shows it followed by ``-`` and 10 hex digits of the dag,
        run, task and map index, so only retries of this task instance reuse its job. Default:
        ``<dag>__<run>__<task>[__<map index>]``.
    :param cgi_conn_id: Airflow connection id of type ``cgi``.
    """

    template_fields: Sequence[str] = (
        "cancer_type",
        "mutations",
        "cnas",
        "translocations",
        "reference",
        "title",
    )
    operator_extra_links = (CgiJobLink(),)
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        cancer_type: str,
        mutations: str | None = None,
        cnas: str | None = None,
        translocations: str | None = None,
        reference: str = "hg19",
        title: str | None = None,
        cgi_conn_id: str = CGI_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cancer_type = cancer_type
        self.mutations = mutations
        self.cnas = cnas
        self.translocations = translocations
        self.reference = reference
        self.title = title
        self.cgi_conn_id = cgi_conn_id

    @cached_property
    def hook(self) -> CgiHook:
        from airflow_provider_tis.hooks.cgi import CgiHook

        return CgiHook(self.cgi_conn_id)

    def execute(self, context: Context) -> str:
        from airflow_provider_tis.core.inputs import task_job_name
        from airflow_provider_tis.core.progress import ProgressLog

        inputs = self._checked_inputs()
        title = task_job_name(context, (self.title or "").strip() or None)
        job_id = self._earlier_job(title)
        if job_id is None:
            job_id = self.hook.submit_job(
                inputs,
                cancer_type=self.cancer_type.strip(),
                title=title,
                reference=self.reference,
                progress=ProgressLog(self.log, "Upload"),
            )
            self.log.info("Submitted CGI job %s (%s).", job_id, title)
        context["ti"].xcom_push(key="job_url", value=self.hook.job_url(job_id))
        return job_id

    def _checked_inputs(self) -> dict[str, Any]:
        from airflow_provider_tis.core.inputs import resolve_files
        from airflow_provider_tis.hooks.cgi import INPUT_KINDS, REFERENCES
        from airflow_provider_tis.hooks.cgi_models import CgiConfigError

        if not isinstance(self.cancer_type, str) or not self.cancer_type.strip():
            raise CgiConfigError(
                "cancer_type is empty: give a CGI cancer type acronym, e.g. 'CANCER' (any) or 'LUAD'."
            )
        if self.reference not in REFERENCES:
            raise CgiConfigError(
                f"reference={self.reference!r} is not valid; use one of {', '.join(REFERENCES)}."
            )
        given = {kind: getattr(self, kind) for kind in INPUT_KINDS if getattr(self, kind)}
        if not given:
            raise CgiConfigError("No input given: pass at least one of mutations, cnas or translocations.")
        inputs = {}
        for kind, value in given.items():
            paths = resolve_files(str(value), CgiConfigError)
            if len(paths) != 1:
                raise CgiConfigError(f"{kind}={value!r} names {len(paths)} files; give exactly one file.")
            inputs[kind] = _checked_file(kind, paths[0])
        return inputs

    def _earlier_job(self, title: str) -> str | None:
        """The id of a job an earlier try of this task instance submitted (not one that failed)."""
        from airflow_provider_tis.hooks.cgi_models import CgiNotFoundError, CgiStatus

        for job_id in self.hook.list_jobs():
            try:
                job = self.hook.get_job(job_id)
            except CgiNotFoundError:  # deleted since the list (another task's download, say)
                continue
            if job.title == title and job.status is not CgiStatus.ERROR:
                self.log.info(
                    "Reusing CGI job %s (%s, %s) submitted by an earlier try.",
                    job_id,
                    title,
                    job.status.value,
                )
                return job_id
        return None


def _checked_file(kind: str, path: Any) -> Any:
    from airflow_provider_tis.hooks.cgi_models import CgiConfigError

    try:
        if path.is_dir():
            raise CgiConfigError(f"{kind} input {path} is a directory; give the file itself.")
        size = path.stat().st_size
        with path.open("rb") as handle:  # readable now, not only listed
            handle.read(1)
    except FileNotFoundError:
        raise CgiConfigError(f"{kind} input {path} does not exist on this worker; check the path.") from None
    except OSError as exc:
        raise CgiConfigError(
            f"{kind} input {path} cannot be read ({exc.strerror}); check its permissions."
        ) from None
    if size == 0:
        raise CgiConfigError(f"{kind} input {path} is empty; CGI would fail the job. Write the file again.")
    return path


class CgiDownloadResultsOperator(BaseOperator):
    """Download a finished job's results zip (``cgi_<job id>.zip``) into a folder or object storage.

    The zip is written under a temporary name, checked to be a complete zip, renamed and recorded in the
    destination's manifest (``.tis-manifest/``), so a retry does not download it again. With
    ``delete_job`` the job is deleted from the account afterwards (accounts have a job quota), never
    before the results are safely written.

    :param job_id: the CGI job id (templated).
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` (templated).
    :param extract: also unpack the zip's members into the destination (names checked to stay inside).
    :param delete_job: delete the job once its results are written.
    :param overwrite: download again even if the manifest proves the zip complete.
    :param dest_conn_id: connection for the destination storage (or put it in the URL).
    :param cgi_conn_id: Airflow connection id of type ``cgi``.
    """

    template_fields: Sequence[str] = ("job_id", "destination", "dest_conn_id")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        job_id: str,
        destination: str,
        extract: bool = False,
        delete_job: bool = True,
        overwrite: bool = False,
        dest_conn_id: str | None = None,
        cgi_conn_id: str = CGI_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.destination = destination
        self.extract = extract
        self.delete_job = delete_job
        self.overwrite = overwrite
        self.dest_conn_id = dest_conn_id
        self.cgi_conn_id = cgi_conn_id

    @cached_property
    def hook(self) -> CgiHook:
        from airflow_provider_tis.hooks.cgi import CgiHook

        return CgiHook(self.cgi_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.archive import extract_zip
        from airflow_provider_tis.core.files import destination_root, size_of, write_atomically
        from airflow_provider_tis.core.manifest import Manifest, ManifestEntry
        from airflow_provider_tis.hooks.cgi_models import (
            CgiConfigError,
            CgiNotFoundError,
            CgiTransferError,
            check_job_id,
        )

        job_id = check_job_id(self.job_id)
        root = destination_root(self.destination, self.dest_conn_id, CgiConfigError)
        manifest = Manifest(root, write_atomically)
        name = f"cgi_{job_id}.zip"
        target = root / name
        if target.exists() and target.is_dir():
            raise CgiConfigError(
                f"A folder is in the way at {target}; move it away, or choose another destination."
            )
        entry = manifest.entry(name)
        done = (
            not self.overwrite
            and entry is not None
            and entry.job_id == job_id
            and size_of(target) == entry.size
        )
        if done:
            self.log.info("%s of this job is already at the destination; not downloading it again.", name)
        else:
            self._download(job_id, target, manifest, name)
            entry = manifest.entry(name)
        written = [target]
        if self.extract:
            assert entry is not None
            members = list(entry.unpacked or ())
            if entry.unpacked is None or not all((root / m).exists() for m in members):
                members = extract_zip(
                    target, None, root, config_error=CgiConfigError, transfer_error=CgiTransferError
                )
                manifest.record(ManifestEntry(job_id, name, entry.size, entry.md5, tuple(members)))
                self.log.info("Unpacked %s: %s.", name, ", ".join(members))
            written += [root / m for m in members]
        if self.delete_job:
            try:
                self.hook.delete_job(job_id)
            except CgiNotFoundError:  # an earlier try deleted it after writing these very results
                self.log.info("CGI job %s was deleted already; its results are at %s.", job_id, target)
            else:
                self.log.info("Deleted CGI job %s from the account; its results are at %s.", job_id, target)
        return [str(path) for path in written]

    def _download(self, job_id: str, target: Any, manifest: Manifest, name: str) -> None:
        from airflow_provider_tis.core.download import fetch
        from airflow_provider_tis.core.manifest import ManifestEntry
        from airflow_provider_tis.hooks.cgi_models import CgiJobFailedError, CgiStatus, CgiTransferError

        job = self.hook.get_job(job_id)
        if job.status is not CgiStatus.DONE:
            raise CgiJobFailedError(
                f"CGI job {job_id} is {job.status.value}: only a Done job has results. Wait for it with "
                "CgiJobSensor before downloading."
            )
        fetched = fetch(self.hook.download_source(job_id), target, self.log, checksum="md5")
        fetched.partial.handle.close()  # complete on any storage before it is read back
        try:
            with fetched.partial.path.open("rb") as handle, zipfile.ZipFile(handle) as archive:
                broken = archive.testzip()
        except (zipfile.BadZipFile, OSError) as exc:
            fetched.partial.discard()
            raise CgiTransferError(
                f"The results of CGI job {job_id} are not a complete zip ({exc}); nothing was kept. Run the "
                "task again; if it fails the same way, download them from the CGI website."
            ) from None
        if broken is not None:
            fetched.partial.discard()
            raise CgiTransferError(
                f"The results of CGI job {job_id} are damaged ({broken}); nothing was kept."
            )
        fetched.partial.commit()
        manifest.record(ManifestEntry(job_id, name, fetched.size, fetched.checksum))
        self.log.info("Downloaded %s (%d bytes).", name, fetched.size)


class CgiDeleteJobOperator(BaseOperator):
    """Delete a CGI job and its results from the account (a job that is already gone is fine).

    :param job_id: the CGI job id (templated).
    :param cgi_conn_id: Airflow connection id of type ``cgi``.
    """

    template_fields: Sequence[str] = ("job_id",)

    def __init__(self, *, job_id: str, cgi_conn_id: str = CGI_CONN_ID, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.job_id = job_id
        self.cgi_conn_id = cgi_conn_id

    @cached_property
    def hook(self) -> CgiHook:
        from airflow_provider_tis.hooks.cgi import CgiHook

        return CgiHook(self.cgi_conn_id)

    def execute(self, context: Context) -> None:
        from airflow_provider_tis.hooks.cgi_models import CgiNotFoundError

        try:
            self.hook.delete_job(self.job_id)
        except CgiNotFoundError:
            self.log.info("CGI job %s does not exist (any more); nothing to delete.", self.job_id)
            return
        self.log.info("Deleted CGI job %s.", self.job_id)
