"""Transfers of Gencove: FASTQs into a project as new samples (analysis starts), and a sample's files down to
a folder or object storage, both without repeating work on a retry.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors, boto3 and the
transfer engine are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import GENCOVE_CONN_ID
from airflow_provider_tis.version_compat import BaseOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.core.manifest import Manifest
    from airflow_provider_tis.hooks.gencove import GencoveHook
    from airflow_provider_tis.hooks.gencove_transfers import GencoveFileSource
    from airflow_provider_tis.operators.gencove_sources import FastqSource
    from airflow_provider_tis.version_compat import Context


class GencoveImportSamplesOperator(BaseOperator):
    """Import FASTQs into a Gencove project as new samples (their analysis starts); return the new sample
    ids (XCom), and push XCom ``samples`` = {client id: sample id}.

    Each source is an http(s) URL (Gencove fetches it; logged without its query string), a storage path
    (``s3://...`` or an ObjectStoragePath, presigned with its filesystem's ``sign()``, then fetched), or a
    local file (put into Gencove's S3 with the temporary credentials of ``/upload-credentials/``; needs
    ``pip install 'airflow-provider-tis[gencove-s3]'``). Everything is checked before the first request.

    A retry never does the work twice: the uploads go to a ``gncv://`` folder of this task instance (the
    same on every try). A client whose uploads there are assigned already keeps its sample; uploads that
    arrived but were not assigned are assigned; only what is missing is imported.

    :param project_id: the project the samples are created in (a UUID; templated).
    :param samples: client id -> one FASTQ source or [R1, R2] (templated; JSON text accepted).
    :param s3_uri: instead of ``samples``: ``s3://bucket/prefix/`` for Gencove to import (its role must
        read it). Gencove names no samples in its answer: they are found by a mark this operator puts in
        their metadata (``airflow_import``), so ``metadata`` must be a dict or None.
    :param metadata: JSON metadata given to the new samples (templated).
    :param gencove_conn_id: Airflow connection of type ``gencove``; its extra ``s3_endpoint_url`` points
        local-file uploads at an S3-compatible store (tests only; default AWS).
    :param import_timeout: seconds to wait for Gencove to receive every FASTQ (or an S3 import's samples).
    :param poll_interval: seconds between reads of the sample sheet while waiting.
    """

    template_fields: Sequence[str] = ("project_id", "samples", "s3_uri", "metadata")
    ui_color = "#fdebd0"

    def __init__(
        self,
        *,
        project_id: str,
        samples: dict[str, Any] | str | None = None,
        s3_uri: str | None = None,
        metadata: Any = None,
        gencove_conn_id: str = GENCOVE_CONN_ID,
        import_timeout: float = 3600.0,
        poll_interval: float = 10.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.project_id = project_id
        self.samples = samples
        self.s3_uri = s3_uri
        self.metadata = metadata
        self.gencove_conn_id = gencove_conn_id
        self.import_timeout = import_timeout
        self.poll_interval = poll_interval

    @cached_property
    def hook(self) -> GencoveHook:
        from airflow_provider_tis.hooks.gencove import GencoveHook

        return GencoveHook(self.gencove_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.s3_upload import require_boto3
        from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError, check_uuid
        from airflow_provider_tis.operators.gencove_sources import import_folder, parse_json, plan_samples

        project_id = check_uuid(self.project_id, "project_id")
        samples = None if self.samples in (None, "", {}) else self.samples
        if (samples is None) == (not self.s3_uri):
            raise GencoveConfigError("Give exactly one of `samples` and `s3_uri`. Nothing was sent.")
        metadata = parse_json(self.metadata, "metadata")
        folder = import_folder(context)
        if self.s3_uri:
            from airflow_provider_tis.operators.gencove_s3_import import import_s3_uri

            # the "/" ends the mark: one task's mark is never a part of a mapped sibling's (``..._0``)
            found = import_s3_uri(self, project_id, str(self.s3_uri).strip(), metadata, folder + "/")
        else:
            planned = plan_samples(samples)
            if any(s.kind == "local" for sources in planned.values() for s in sources):
                require_boto3(GencoveConfigError)
            found = self._import(project_id, planned, metadata, f"gncv://{folder}/")
        context["ti"].xcom_push(key="samples", value=found)
        return list(found.values())

    def _import(
        self, project_id: str, planned: dict[str, list[FastqSource]], metadata: Any, prefix: str
    ) -> dict[str, str]:
        from airflow_provider_tis.hooks.gencove_errors import GencoveApiError

        found: dict[str, str] = {}
        for client_id in self._rows(prefix, "assigned"):  # an earlier try assigned these
            if client_id in planned:
                found[client_id] = self._existing_sample(project_id, client_id, prefix)
        ready = self._rows(prefix, "unassigned")  # an earlier try's uploads that arrived
        new_uploads: dict[str, str] = {}
        credentials = None
        for client_id, sources in planned.items():
            if client_id in found:
                continue
            have = ready.get(client_id, {})
            for read, source in enumerate(sources, 1):
                if f"r{read}" in have:
                    self.log.info("R%d of %s arrived in an earlier try; not imported again.", read, client_id)
                    continue
                destination = f"{prefix}{client_id}_R{read}.fastq.gz"
                if source.kind == "local":
                    credentials = credentials or self._credentials()
                    upload_id = self._upload_local(source, destination, credentials)
                else:
                    upload_id = self.hook.import_url(destination, str(source.url))
                    self.log.info("Gencove imports R%d of %s from %s.", read, client_id, source.shown)
                new_uploads[upload_id] = client_id
        if new_uploads:
            self.hook.wait_for_uploads(prefix, new_uploads, self.import_timeout, self.poll_interval)
        pending = [c for c in planned if c not in found]
        if pending:
            ready = self._rows(prefix, "unassigned")
            rows = []
            for client_id in pending:
                reads = [f"r{n}" for n in range(1, len(planned[client_id]) + 1)]
                have = ready.get(client_id, {})
                if not all(r in have for r in reads):
                    raise GencoveApiError(
                        f"The FASTQs of {client_id} are not in Gencove's sample sheet under {prefix} after "
                        "their import; run the task again.",
                        status=409,
                    )
                rows.append({"client_id": client_id, "fastq": {r: have[r] for r in reads}})
            assigned = self.hook.assign_samples(project_id, rows, metadata=metadata)
            self.log.info("Assigned %d samples to project %s: analysis started.", len(assigned), project_id)
            found.update(assigned)
        return {c: found[c] for c in planned}

    def _rows(self, prefix: str, status: str) -> dict[str, dict[str, Any]]:
        """Client id -> read -> upload of the sample sheet under this task's folder (and only there: a
        ``search`` may match more than a prefix)."""
        rows: dict[str, dict[str, Any]] = {}
        for row in self.hook.sample_sheet(search=prefix, status=status):
            reads = {
                read: upload
                for read, upload in row["fastq"].items()
                if isinstance(upload, dict) and str(upload.get("destination_path", "")).startswith(prefix)
            }
            if reads:
                rows.setdefault(str(row.get("client_id")), {}).update(reads)
        return rows

    def _existing_sample(self, project_id: str, client_id: str, prefix: str) -> str:
        """The sample an earlier try created from this folder's uploads. [I] Gencove's lists do not say
        which upload made a sample: the newest sample of the project with this client id is taken (the
        sheet proves this task assigned one; an older one of that name is another run's)."""
        from airflow_provider_tis.hooks.gencove_errors import GencoveApiError

        same = [
            s
            for s in self.hook.list_project_samples(project_id, search=client_id)
            if s.client_id == client_id
        ]
        if not same:
            raise GencoveApiError(
                f"The FASTQs of {client_id} under {prefix} were assigned by an earlier try, but project "
                f"{project_id} has no sample {client_id}: were they assigned to another project? Check on "
                "Gencove; nothing was imported again.",
                status=409,
            )
        self.log.info("%s is sample %s already (assigned by an earlier try).", client_id, same[-1].id)
        return same[-1].id

    def _credentials(self) -> Any:
        from airflow_provider_tis.core.s3_upload import TemporaryCredentials
        from airflow_provider_tis.hooks.gencove_errors import GencoveResponseError

        return TemporaryCredentials.from_json(self.hook.upload_credentials(), GencoveResponseError)

    def _upload_local(self, source: FastqSource, destination: str, credentials: Any) -> str:
        from airflow_provider_tis.core.s3_upload import upload_file
        from airflow_provider_tis.hooks.gencove_errors import (
            GencoveApiError,
            GencoveConfigError,
            GencoveConnectionError,
            unexpected_answer,
        )

        answer = self.hook.upload_post_data(destination)
        s3 = answer.get("s3")
        if not (
            isinstance(answer.get("id"), str)
            and isinstance(s3, dict)
            and isinstance(s3.get("bucket"), str)
            and isinstance(s3.get("object_name"), str)
        ):
            raise unexpected_answer(f"where to upload {destination}", answer)
        extra = self.hook.get_connection(self.gencove_conn_id).extra_dejson
        sent = upload_file(
            str(source.path),
            s3["bucket"],
            s3["object_name"],
            credentials,
            endpoint_url=extra.get("s3_endpoint_url") or None,
            config_error=GencoveConfigError,
            network_error=GencoveConnectionError,
            api_error=GencoveApiError,
        )
        self.log.info("Uploaded %s as %s (%d bytes).", source.shown, destination, sent)
        return str(answer["id"])


class GencoveDownloadOperator(BaseOperator):
    """Download samples' files to ``<destination>/<client id>/<file>``; return the URIs written.

    Every sample is read, and checked, before the first byte: an archived sample is refused with how to
    restore it, a sample without one of ``file_types`` (one that failed keeps only its inputs) is refused
    naming its status, and a client id that is not a safe folder name is refused. Each file is written under
    a temporary name, resumed with Range after a broken transfer, given a fresh link when its link expired
    (403), and takes its name only once its size and SHA-256 match Gencove's; it is then recorded in the
    destination's manifest (``.tis-manifest/``), so a retry skips the files it proves complete.

    :param sample_ids: sample ids, {client id: sample id} (the import's XCom ``samples``), or JSON text of
        either (templated). With a list, each sample's folder is its client id on Gencove.
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` (templated).
    :param file_types: e.g. ``["impute-vcf", "impute-tbi"]`` (default: every file of the sample).
    :param max_parallel: files downloaded at the same time.
    :param overwrite: download again even what the manifest proves complete.
    :param gencove_conn_id: Airflow connection of type ``gencove``.
    :param dest_conn_id: connection for the destination storage (or put it in the URL).
    """

    template_fields: Sequence[str] = ("sample_ids", "destination", "file_types", "dest_conn_id")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        sample_ids: Sequence[str] | dict[str, str] | str,
        destination: str,
        file_types: Sequence[str] | None = None,
        max_parallel: int = 4,
        overwrite: bool = False,
        gencove_conn_id: str = GENCOVE_CONN_ID,
        dest_conn_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sample_ids = sample_ids
        self.destination = destination
        self.file_types = file_types
        self.max_parallel = max_parallel
        self.overwrite = overwrite
        self.gencove_conn_id = gencove_conn_id
        self.dest_conn_id = dest_conn_id

    @cached_property
    def hook(self) -> GencoveHook:
        from airflow_provider_tis.hooks.gencove import GencoveHook

        return GencoveHook(self.gencove_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.download import run_parallel
        from airflow_provider_tis.core.files import destination_root, write_atomically
        from airflow_provider_tis.core.manifest import Manifest
        from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError
        from airflow_provider_tis.operators.gencove_sources import parse_json, parse_sample_ids

        if not isinstance(self.max_parallel, int) or self.max_parallel < 1:
            raise GencoveConfigError(f"max_parallel must be at least 1, got {self.max_parallel!r}.")
        file_types = parse_json(self.file_types, "file_types")
        if isinstance(file_types, str):
            file_types = [file_types]
        if file_types is not None and not (file_types and all(isinstance(t, str) and t for t in file_types)):
            raise GencoveConfigError(f"file_types must be a list of file types, got {self.file_types!r}.")
        pairs = parse_sample_ids(self.sample_ids)
        root = destination_root(self.destination, self.dest_conn_id, GencoveConfigError)
        planned = self._plan(pairs, file_types)  # every sample checked before anything is downloaded
        manifest = Manifest(root, write_atomically)
        todo = [
            (rel, src) for rel, src in planned if not self._complete_already(rel, src, root / rel, manifest)
        ]
        self.log.info(
            "Downloading %d of the %d files of %d samples (%d already there).",
            len(todo),
            len(planned),
            len(pairs),
            len(planned) - len(todo),
        )
        jobs = [partial(self._download, rel, src, root / rel, manifest) for rel, src in todo]
        run_parallel(jobs, self.max_parallel, "gencove-download")
        return [str(root / rel) for rel, _ in planned]

    def _plan(
        self, pairs: list[tuple[str | None, str]], file_types: list[str] | None
    ) -> list[tuple[str, GencoveFileSource]]:
        """(relative path, source) of every file; archived samples, missing types, unsafe names and two
        files at one path are refused here, before any download."""
        from airflow_provider_tis.core.files import safe_relative_name
        from airflow_provider_tis.hooks.gencove_errors import (
            GencoveArchivedError,
            GencoveConfigError,
            GencoveResponseError,
        )
        from airflow_provider_tis.operators.gencove_sources import safe_folder

        samples = [(client_id, self.hook.get_sample(sample_id)) for client_id, sample_id in pairs]
        archived = [s for _, s in samples if not s.is_downloadable]
        if archived:
            listed = ", ".join(f"{s.id} ({s.client_id}: {s.archive_status})" for s in archived)
            raise GencoveArchivedError(
                f"The files of {listed} are archived or still being restored; nothing was downloaded. Restore "
                "them first: GencoveRestoreSamplesOperator, or GencoveSampleSensor(restore=True), then "
                "download once they are 'restored'."
            )
        planned: list[tuple[str, GencoveFileSource]] = []
        folders: dict[str, str] = {}
        for client_id, sample in samples:
            folder = safe_folder(client_id if client_id is not None else sample.client_id, sample.id)
            if folders.setdefault(folder, sample.id) != sample.id:
                raise GencoveConfigError(
                    f"Samples {folders[folder]} and {sample.id} both have client id {folder!r}, so both would "
                    "be written to one folder; nothing was downloaded. Give `sample_ids` as {folder name: "
                    "sample id}."
                )
            for source in self.hook.download_sources(sample, file_types):
                name = safe_relative_name(source.name, GencoveResponseError)
                if "/" in name:
                    safe_relative_name("/" + name, GencoveResponseError)  # one name: "/" is refused
                planned.append((f"{folder}/{name}", source))
        paths = [rel for rel, _ in planned]
        twice = sorted({p for p in paths if paths.count(p) > 1})
        if twice:
            raise GencoveResponseError(
                f"Several files would be written to {', '.join(twice)}; nothing was downloaded. Choose "
                "fewer `file_types`."
            )
        return planned

    def _complete_already(
        self, relative: str, source: GencoveFileSource, target: Any, manifest: Manifest
    ) -> bool:
        """Only the manifest proves a file complete: an entry of this sample and name, the bytes there of
        the recorded size, which is Gencove's size for the file (when it lists one)."""
        from airflow_provider_tis.core.files import size_of

        if self.overwrite:
            return False
        entry = manifest.entry(relative)
        if entry is None or entry.job_id != source.sample_id:
            return False
        complete = size_of(target) == entry.size and source.file.size in (None, entry.size)
        if complete:
            self.log.info("%s is already at the destination; skipped.", relative)
        return complete

    def _download(self, relative: str, source: GencoveFileSource, target: Any, manifest: Manifest) -> None:
        from airflow_provider_tis.core.manifest import ManifestEntry

        size = self.hook.download_file(source, target)  # size and SHA-256 checked, or nothing is kept
        manifest.record(ManifestEntry(source.sample_id, relative, size))
        self.log.info("Downloaded %s (%d bytes, SHA-256 verified).", relative, size)
