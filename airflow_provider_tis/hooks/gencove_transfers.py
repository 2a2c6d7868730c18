"""Moving data in and out of Gencove: FASTQ imports and their assignment to a project, and downloads of
a sample's files through pre-signed links that expire (shared/gencove-api.md §3.3, §3.4). Mixed into
:class:`~airflow_provider_tis.hooks.gencove.GencoveHook`; kept apart so that each module stays readable."""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.download import LinkErrors, LinkSource, fetch
from airflow_provider_tis.core.errors import redact_url
from airflow_provider_tis.hooks.gencove_errors import (
    SERVICE,
    GencoveApiError,
    GencoveArchivedError,
    GencoveConfigError,
    GencoveConnectionError,
    GencoveLinkExpiredError,
    GencoveResponseError,
    GencoveTransferError,
    check_uuid,
    unexpected_answer,
)

if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Mapping, Sequence

    from airflow_provider_tis.core.http import HttpClient
    from airflow_provider_tis.hooks.gencove_models import GencoveSample, GencoveSampleFile

LINK_ERRORS = LinkErrors(
    SERVICE, GencoveApiError, GencoveLinkExpiredError, GencoveConnectionError, GencoveTransferError
)


class GencoveFileSource(LinkSource):
    """A sample file as :func:`~airflow_provider_tis.core.download.fetch` downloads it; also carries the
    file's record (its ``checksum_sha256`` is verified after the download)."""

    def __init__(self, hook: GencoveTransfers, sample_id: str, file: GencoveSampleFile) -> None:
        super().__init__(file.file_name, file.size, self._fresh_link, hook.http, LINK_ERRORS)
        self.hook, self.sample_id, self.file = hook, sample_id, file

    def _fresh_link(self) -> str:
        """Each open re-reads ``/samples/{id}``: a link that expired (403) is replaced by a new one (§3.4)."""
        sample = self.hook.get_sample(self.sample_id)
        _check_downloadable(sample)
        found = next((f for f in sample.files if f.id == self.file.id), None)
        if found is None or found.download_url is None:
            raise GencoveResponseError(
                f"Sample {self.sample_id} no longer lists a download link for file {self.file.id} "
                f"({self.name}); check the sample on Gencove."
            )
        self.hook.log.debug("%s: fresh download link %s", self.name, redact_url(found.download_url))
        return found.download_url


def _check_downloadable(sample: GencoveSample) -> None:
    if not sample.is_downloadable:
        raise GencoveArchivedError(
            f"The files of sample {sample.id} ({sample.client_id}) are {sample.archive_status}: Gencove "
            "serves files only when they are 'available' or 'restored'. Restore them first "
            f"(GencoveHook.restore_samples(<project>, ['{sample.id}']), then wait for 'restored')."
        )


class GencoveTransfers:
    """Imports, assignments and downloads; needs the hook's ``http``, ``log``, ``_json``, ``_paged`` and
    ``get_sample``."""

    if TYPE_CHECKING:
        http: HttpClient
        log: Any

        def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any: ...

        def _paged(self, path: str, params: Mapping[str, Any], what: str) -> Iterator[Any]: ...

        def get_sample(self, sample_id: str) -> GencoveSample: ...

    def sample_sheet(self, search: str | None = None, status: str = "unassigned") -> list[dict[str, Any]]:
        """Rows ``{client_id, fastq: {r1: {upload, ...}, r2: ...}}`` of the uploads that succeeded.

        :param search: only uploads under this ``gncv://`` path prefix.
        :param status: ``all``, ``assigned`` or ``unassigned``.
        """
        params = {"status": status, **({"search": search} if search else {})}
        rows = list(self._paged("/sample-sheet/", params, "the sample sheet"))
        if not all(isinstance(r, dict) and isinstance(r.get("fastq"), dict) for r in rows):
            raise unexpected_answer("the sample sheet", rows)
        return rows

    def import_from_urls(
        self,
        project_id: str,
        samples: Mapping[str, Sequence[str]],
        *,
        folder: str | None = None,
        metadata: Any = None,
        timeout: float = 3600.0,
        poll_interval: float = 10.0,
    ) -> dict[str, str]:
        """Import FASTQs from URLs, wait until Gencove has them, and assign them to a project, which starts
        the analysis. Each upload is sent once (a retry could import twice); client id -> new sample id.

        :param project_id: the project the samples are created in.
        :param samples: client id -> its R1 URL, or (R1, R2) URLs. Gencove fetches the URLs itself.
        :param folder: the ``gncv://`` folder the uploads are named under (default: a new one per call), as
            the CLI names them: ``gncv://<folder>/<client id>_R1.fastq.gz``.
        :param metadata: JSON metadata given to the new samples.
        :param timeout: seconds to wait for Gencove to fetch every URL.
        :param poll_interval: seconds between reads of the sample sheet while it fetches.
        """
        project_id = check_uuid(project_id, "project_id")
        if not samples or any(not 1 <= len(urls) <= 2 or isinstance(urls, str) for urls in samples.values()):
            raise GencoveConfigError("samples must map each client id to a list of one or two FASTQ URLs.")
        if any(not c or "/" in c or c != c.strip() for c in samples):
            raise GencoveConfigError(f"Client ids must be non-empty names without '/': {list(samples)!r}.")
        folder = folder or f"airflow-{time.strftime('%Y%m%d%H%M%S')}-{secrets.token_hex(3)}"
        prefix = f"gncv://{folder.strip('/')}/"
        uploads: dict[str, str] = {}  # upload id -> client id
        for client_id, urls in samples.items():
            for read, url in enumerate(urls, 1):
                uploads[self.import_url(f"{prefix}{client_id}_R{read}.fastq.gz", url)] = client_id
        rows = self.wait_for_uploads(prefix, uploads, timeout, poll_interval)
        return self.assign_samples(project_id, rows, metadata=metadata)

    def import_url(self, destination_path: str, source_url: str) -> str:
        """Ask Gencove to fetch one FASTQ from a URL (``POST /uploads-url/``), sent once; the upload's id.

        :param destination_path: the upload's ``gncv://`` path, e.g. ``gncv://batch1/S1_R1.fastq.gz``.
        :param source_url: an http(s) URL Gencove can fetch (shown in messages without its query string).
        """
        if not destination_path.startswith("gncv://"):
            raise GencoveConfigError(f"destination_path must start with gncv://, got {destination_path!r}.")
        body = {"destination_path": destination_path, "source_url": source_url}
        action = f"import {destination_path} from {redact_url(source_url)}"
        answer = self._json("POST", "/uploads-url/", action, json=body, retry=False)
        if not isinstance(answer, dict) or not isinstance(answer.get("id"), str):
            raise unexpected_answer(f"the import of {destination_path}", answer)
        return str(answer["id"])

    def wait_for_uploads(
        self, prefix: str, uploads: Mapping[str, str], timeout: float, poll_interval: float
    ) -> list[dict[str, Any]]:
        """The sample sheet rows of ``uploads`` once every one of them is there (it lists succeeded ones).

        :param prefix: the ``gncv://`` folder the uploads are under.
        :param uploads: upload id -> client id (named when an upload does not arrive in time).
        :param timeout: seconds to wait at most.
        :param poll_interval: seconds between reads of the sample sheet.
        """
        deadline = time.monotonic() + timeout
        while True:
            rows = self.sample_sheet(search=prefix)
            mine = [r for r in rows if any(f.get("upload") in uploads for f in r["fastq"].values())]
            seen = {f.get("upload") for r in mine for f in r["fastq"].values()}
            if seen >= set(uploads):
                return mine
            if time.monotonic() > deadline:
                missing = sorted({uploads[u] for u in uploads if u not in seen})
                raise GencoveApiError(
                    f"Gencove did not finish importing the FASTQs of {', '.join(missing)} within {timeout:g} s "
                    f"(uploads under {prefix}). Check the URLs can be fetched from the internet.",
                    status=408,
                )
            time.sleep(poll_interval)

    def assign_samples(
        self, project_id: str, rows: Sequence[Mapping[str, Any]], *, metadata: Any = None
    ) -> dict[str, str]:
        """Assign sample sheet rows to a project (``POST /project-samples/{id}``): the samples are created
        and their analysis starts. Sent once. Client id -> sample id.

        :param project_id: the project.
        :param rows: rows of :meth:`sample_sheet` (``{client_id, fastq: {r1: {upload}, r2: {upload}}}``).
        :param metadata: JSON metadata given to the new samples.
        """
        project_id = check_uuid(project_id, "project_id")
        uploads = [
            {
                "client_id": r["client_id"],
                "fastq": {k: {"upload": v["upload"]} for k, v in r["fastq"].items()},
            }
            for r in rows
        ]
        body: dict[str, Any] = {
            "uploads": uploads,
            **({"metadata": metadata} if metadata is not None else {}),
        }
        answer = self._json(
            "POST", f"/project-samples/{project_id}", f"assign {len(uploads)} samples", json=body, retry=False
        )
        answered = answer.get("uploads") if isinstance(answer, dict) else None
        if not isinstance(answered, list) or not all(
            isinstance(a, dict) and isinstance(a.get("sample"), str) for a in answered
        ):
            raise unexpected_answer("the assignment of samples", answer)
        return {str(a.get("client_id")): check_uuid(a["sample"], "sample") for a in answered}

    def s3_uri_import(
        self, project_id: str, s3_uri: str, *, metadata: Any = None, input_format: str | None = None
    ) -> dict[str, Any]:
        """Ask Gencove to import FASTQs from an S3 URI into a project (``POST /s3-uri-import/``); its answer.

        :param project_id: the project the samples are created in.
        :param s3_uri: ``s3://bucket/prefix/`` (readable by Gencove's role on your side).
        :param metadata: JSON metadata given to the new samples.
        :param input_format: Gencove's ``input_format`` (default: its autodetection).
        """
        body: dict[str, Any] = {"project_id": check_uuid(project_id, "project_id"), "s3_uri": s3_uri}
        if not s3_uri.startswith("s3://"):
            raise GencoveConfigError(f"s3_uri must start with s3://, got {s3_uri!r}.")
        body.update(
            {k: v for k, v in {"metadata": metadata, "input_format": input_format}.items() if v is not None}
        )
        return dict(self._json("POST", "/s3-uri-import/", f"import {s3_uri}", json=body, retry=False))

    def upload_credentials(self) -> dict[str, Any]:
        """Temporary AWS credentials for putting FASTQs into Gencove's bucket (a secret: never log them)."""
        return dict(self._json("POST", "/upload-credentials/", "get upload credentials", retry=False))

    def upload_post_data(self, destination_path: str) -> dict[str, Any]:
        """Where to put one FASTQ with those credentials (``POST /uploads-post-data/``): ``{id, s3: {bucket,
        object_name}, ...}``.

        :param destination_path: the upload's ``gncv://`` path, e.g. ``gncv://batch1/S1_R1.fastq.gz``.
        """
        if not destination_path.startswith("gncv://"):
            raise GencoveConfigError(f"destination_path must start with gncv://, got {destination_path!r}.")
        body = {"destination_path": destination_path}
        # retried like a read: the same path gives back the same upload (the CLI relies on it, §3.3)
        return dict(self._json("POST", "/uploads-post-data/", f"register {destination_path}", json=body))

    # -- downloads ------------------------------------------------------------------------------

    def download_sources(
        self, sample: str | GencoveSample, file_types: Iterable[str] | None = None
    ) -> list[GencoveFileSource]:
        """A sample's files (of ``file_types``, default all) as the transfer engine downloads them. An
        archived sample is refused with how to restore it.

        :param sample: a sample id, or a sample read with :meth:`get_sample` (with its files).
        :param file_types: e.g. ``["impute-vcf", "impute-tbi"]``; each must be there.
        """
        if isinstance(sample, str) or not sample.files:
            sample = self.get_sample(sample if isinstance(sample, str) else sample.id)
        _check_downloadable(sample)
        files = list(sample.files)
        if file_types is not None:
            wanted = list(dict.fromkeys(file_types))
            missing = [t for t in wanted if t not in {f.file_type for f in files}]
            if missing:
                have = ", ".join(sorted({f.file_type for f in files})) or "none"
                raise GencoveConfigError(
                    f"Sample {sample.id} ({sample.last_status.status}) has no file of type "
                    f"{', '.join(missing)}; it has: {have}. A sample that failed keeps only its inputs: leave it "
                    "out (GencoveSampleSensor(allow_failed=True) returns only the samples that succeeded), or "
                    "ask only for file types it has. Nothing was downloaded."
                )
            files = [f for f in files if f.file_type in wanted]
        return [GencoveFileSource(self, sample.id, f) for f in files]

    def download_file(self, source: GencoveFileSource, target: Any) -> int:
        """Download one file to ``target`` (a local path or an ObjectStoragePath): a broken transfer resumes
        with Range, an expired link is replaced from ``/samples/{id}``, then the size and SHA-256 are
        verified before the file takes its name. Its size in bytes; nothing is left on failure."""
        import os

        from airflow_provider_tis.version_compat import ObjectStoragePath

        if not hasattr(target, "protocol"):
            target = ObjectStoragePath("file://" + os.path.abspath(os.path.expanduser(str(target))))
        expected = source.file.checksum_sha256
        fetched = fetch(source, target, self.log, checksum="sha256" if expected else None)
        if expected and fetched.checksum != expected:
            fetched.partial.discard()
            raise GencoveTransferError(
                f"{source.name}: its SHA-256 is not the one Gencove lists; the file is corrupt, "
                "nothing was kept. Run the task again."
            )
        fetched.partial.commit()
        return fetched.size
