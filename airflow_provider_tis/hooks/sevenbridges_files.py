"""The files API of the Seven Bridges hook: list, find and read files, download them (a new presigned link
per transfer, resumed and renewed by the transfer engine) and upload them with the multipart API.

:class:`~airflow_provider_tis.hooks.sevenbridges.SevenBridgesHook` has these calls; use it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from airflow_provider_tis.core.download import LinkErrors, LinkSource, fetch
from airflow_provider_tis.core.errors import ProviderError
from airflow_provider_tis.core.upload import PartLink, SizedReader, put_part, send_in_parts
from airflow_provider_tis.hooks.sevenbridges_base import SevenBridgesBaseHook
from airflow_provider_tis.hooks.sevenbridges_errors import (
    SERVICE,
    SbgApiError,
    SbgConfigError,
    SbgConnectionError,
    SbgLinkExpiredError,
    SbgTransferError,
    SbgUploadError,
    check_id,
    unexpected_answer,
)
from airflow_provider_tis.hooks.sevenbridges_models import SbgFile

if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from airflow_provider_tis.core.upload import UploadSource

DEFAULT_PART_SIZE = 32 << 20  # SBPY's recommended part size
DEFAULT_PARALLEL = 4
DEFAULT_UPLOAD_MEMORY = 256 << 20
LINK_ERRORS = LinkErrors(SERVICE, SbgApiError, SbgLinkExpiredError, SbgConnectionError, SbgTransferError)


class SevenBridgesFiles(SevenBridgesBaseHook):
    """The files calls of :class:`~airflow_provider_tis.hooks.sevenbridges.SevenBridgesHook`."""

    def list_files(
        self,
        project: str | None = None,
        *,
        parent: str | None = None,
        names: Iterable[str] = (),
        fields: str = "_all",
    ) -> list[SbgFile]:
        """Every file and folder of a project's root (or of folder ``parent``), across all pages.

        :param names: only files of these names (the platform's ``name`` filter).
        :param fields: the fields to read (``fields=``), ``id`` and ``name`` at least; ``_all`` by default.
        """
        params = {**self._where(project, parent), "fields": fields, "name": list(names)}
        return [SbgFile.from_json(item) for item in self._paged("/files", params, "files")]

    def _where(self, project: str | None, parent: str | None) -> dict[str, str]:
        """A folder (``parent``) or else a project's root, as the files and upload calls name them."""
        if parent is not None:
            return {"parent": check_id(parent, "folder")}
        return {"project": self._project(project)}

    def find_file(
        self, name: str, project: str | None = None, *, parent: str | None = None
    ) -> SbgFile | None:
        """The file or folder called ``name`` in a project's root (or folder ``parent``), or None."""
        found = [f for f in self.list_files(project, parent=parent, names=[name]) if f.name == name]
        return found[0] if found else None

    def get_file(self, file_id: str) -> SbgFile:
        file_id = check_id(file_id, "file")
        return SbgFile.from_json(self._json("GET", f"/files/{file_id}", f"get file {file_id}"))

    # -- downloads ------------------------------------------------------------------------------

    def download_info(self, file_id: str) -> str:
        """A presigned link to the file's bytes (a secret while it lasts: never log it)."""
        file_id = check_id(file_id, "file")
        data = self._json("GET", f"/files/{file_id}/download_info", f"get a download link of file {file_id}")
        url = data.get("url") if isinstance(data, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise unexpected_answer(f"the download link of file {file_id}", data)
        return url

    def download_source(self, file: str | SbgFile) -> LinkSource:
        """A file as the transfer engine (:func:`~airflow_provider_tis.core.download.fetch`) downloads it:
        each open asks a new link, a broken transfer resumes on its link, an expired one is replaced."""
        file = file if isinstance(file, SbgFile) else self.get_file(file)
        if file.is_folder:
            raise SbgConfigError(
                f"{file.name} ({file.id}) is a folder; download the files it lists one by one."
            )
        return LinkSource(file.name, file.size, lambda: self.download_info(file.id), self.http, LINK_ERRORS)

    def download_file(self, file: str | SbgFile, target: Any) -> int:
        """Download a file to ``target`` (a local path or an ObjectStoragePath), resuming broken transfers
        and asking a new link when one expires; its size in bytes. Nothing is left on failure."""
        import os

        from airflow_provider_tis.version_compat import ObjectStoragePath

        if not hasattr(target, "protocol"):
            target = ObjectStoragePath("file://" + os.path.abspath(os.path.expanduser(str(target))))
        fetched = fetch(self.download_source(file), target, self.log)
        fetched.partial.commit()
        return fetched.size

    # -- uploads --------------------------------------------------------------------------------

    def upload_file(
        self,
        source: str | Path | UploadSource,
        *,
        name: str | None = None,
        project: str | None = None,
        parent: str | None = None,
        overwrite: bool = False,
        part_size: int = DEFAULT_PART_SIZE,
        parallel: int = DEFAULT_PARALLEL,
        max_memory: int = DEFAULT_UPLOAD_MEMORY,
        progress: Callable[[int, int], None] | None = None,
    ) -> SbgFile:
        """Upload a file with the multipart API: init, a presigned URL per part, the parts sent in parallel,
        each reported, then complete; on any failure the upload is aborted. The new file.

        :param name: the file's name on the platform (default: the source's).
        :param parent: a folder id, instead of a project's root.
        :param part_size: bytes per part (the platform may raise it; its answer wins).
        :param parallel: parts in flight at once, at most ``max_memory // part_size`` (and at least 1).
        :param max_memory: the memory the parts in flight may take.
        :param progress: called with (bytes sent, total bytes) after each part.
        """
        source = Path(source) if isinstance(source, str) else source
        name = name or source.name
        if not name or "/" in name or min(part_size, parallel, max_memory) < 1:
            raise SbgConfigError(f"Cannot upload {source}: give a file name without '/' and positive sizes.")
        size = int(source.stat().st_size)
        init = self._json(
            "POST",
            "/upload/multipart",
            f"start the upload of {name}",
            params={"overwrite": "true"} if overwrite else None,
            json={**self._where(project, parent), "name": name, "size": size, "part_size": part_size},
        )
        init = init if isinstance(init, dict) else {"answer": init}
        upload_id, granted = init.get("upload_id"), init.get("part_size")
        if not isinstance(upload_id, str) or not isinstance(granted, int) or granted < 1:
            raise unexpected_answer(f"the start of the upload of {name}", init)
        part_size = granted  # the platform may raise it (a part too small, or over 10,000 parts)
        in_flight = max(1, min(parallel, max_memory // part_size))
        try:
            with source.open("rb") as handle:
                reader = SizedReader(handle, size, str(source), SbgConfigError)
                send_in_parts(
                    reader,
                    part_size,
                    lambda n, data: self._send_part(upload_id, n, data, name),
                    parallel=in_flight,
                    progress=progress,
                )
            done = self._json(
                "POST",
                f"/upload/multipart/{quote(upload_id)}/complete",
                f"complete the upload of {name}",
                retry=False,
            )
        except BaseException as exc:
            self._abort_upload(upload_id, name)
            if isinstance(exc, SbgUploadError):
                raise SbgUploadError(f"{exc} The upload was aborted; run the task again.") from None
            raise
        return SbgFile.from_json(done)

    def _part_link(self, upload_id: str, number: int, name: str) -> PartLink:
        action = f"get the upload link of part {number} of {name}"
        info = self._json("GET", f"/upload/multipart/{quote(upload_id)}/part/{number}", action)
        info = info if isinstance(info, dict) else {"answer": info}
        url, method, headers = info.get("url"), info.get("method") or "PUT", info.get("headers") or {}
        if not isinstance(url, str) or method not in ("PUT", "POST") or not isinstance(headers, dict):
            raise unexpected_answer(f"the upload link of part {number} of {name}", info)
        return PartLink(url, method, {str(k): str(v) for k, v in headers.items()})

    def _send_part(self, upload_id: str, number: int, data: bytes, name: str) -> None:
        """PUT one part to its presigned link (no token; see :func:`put_part`), then report its ETag."""
        etag = put_part(
            self.http.session,
            data,
            lambda: self._part_link(upload_id, number, name),
            policy=self.retry_policy,
            timeout=(self.connect_timeout, self.submit_timeout),
            verify=self.endpoint.verify,
            error=SbgUploadError,
            what=f"part {number} of {name}",
        )
        report = {"part_number": number, "response": {"headers": {"ETag": etag}}}
        path = f"/upload/multipart/{quote(upload_id)}/part"
        self.http.request("POST", path, action=f"report part {number} of {name}", json=report)

    def _abort_upload(self, upload_id: str, name: str) -> None:
        try:
            self.http.request(
                "DELETE", f"/upload/multipart/{quote(upload_id)}", action=f"abort the upload of {name}"
            )
        except ProviderError as exc:
            self.log.warning("Could not abort the upload of %s (%s); the platform drops it later.", name, exc)
