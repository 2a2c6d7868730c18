"""Transfers of Seven Bridges / BioData Catalyst: a task's outputs down to a folder or object storage, and
files up into a project, both through the provider's transfer engine.

A DAG file that imports this module is parsed every 30 s: the hook, its models and errors and the transfer
engine are imported where a running task needs them, not at the top.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property, partial
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.hooks.defaults import SEVENBRIDGES_CONN_ID
from airflow_provider_tis.version_compat import BaseOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_tis.core.manifest import Manifest
    from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
    from airflow_provider_tis.hooks.sevenbridges_models import SbgTask
    from airflow_provider_tis.version_compat import Context

#: What ``on_conflict`` may be: what an upload does when the folder has a file of that name already.
ON_CONFLICT = ("skip", "rename", "overwrite")
#: How deep a Directory output is walked; a deeper tree (or a folder that contains itself) is refused.
MAX_DEPTH = 64


@dataclass(frozen=True)
class _Planned:
    """One file of a task's outputs: where it goes (relative to the destination) and what it is."""

    relative: str
    file_id: str
    name: str
    size: int | None


class SevenBridgesDownloadOperator(BaseOperator):
    """Download the outputs of a COMPLETED Seven Bridges task; return the URIs of the files written.

    Files and directories are downloaded, directories with everything under them (nested folders kept):
    file output ``x`` goes to ``<destination>/x``, directory output ``d`` to ``<destination>/d/...``. Every
    file gets a fresh ``download_info`` link; a broken transfer resumes with an HTTP Range request, and a
    link that expired (403) is replaced by a new one without starting over. A file is written under a
    temporary name, renamed once its size matches the platform's, then recorded in the destination's
    manifest (``.tis-manifest/``: task id, name, bytes); a later run of the same task skips the files the
    manifest proves complete. Names from the platform never leave the destination: a name with ``..``
    (or absolute) is refused before anything is downloaded. A task that is not COMPLETED is refused
    before anything is downloaded.

    :param sbg_task_id: the task id (templated), e.g. ``"{{ ti.xcom_pull('run') }}"``.
    :param destination: a local folder or a storage URL such as ``s3://bucket/prefix`` (templated).
    :param outputs: the output ids to download (default: all the task's outputs); an unknown id is an
        error that lists the task's outputs.
    :param max_parallel: files downloaded at the same time.
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    :param dest_conn_id: connection for the destination storage (or put it in the URL).
    :param overwrite: download again even what the manifest proves complete.
    """

    template_fields: Sequence[str] = ("sbg_task_id", "destination", "outputs", "dest_conn_id")
    ui_color = "#d5f5e3"

    def __init__(
        self,
        *,
        sbg_task_id: str,
        destination: str,
        outputs: Sequence[str] | None = None,
        max_parallel: int = 4,
        sevenbridges_conn_id: str = SEVENBRIDGES_CONN_ID,
        dest_conn_id: str | None = None,
        overwrite: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.sbg_task_id = sbg_task_id
        self.destination = destination
        self.outputs = outputs
        self.max_parallel = max_parallel
        self.sevenbridges_conn_id = sevenbridges_conn_id
        self.dest_conn_id = dest_conn_id
        self.overwrite = overwrite

    @cached_property
    def hook(self) -> SevenBridgesHook:
        from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

        return SevenBridgesHook(self.sevenbridges_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.download import run_parallel
        from airflow_provider_tis.core.files import destination_root, write_atomically
        from airflow_provider_tis.core.manifest import Manifest
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

        if not isinstance(self.max_parallel, int) or self.max_parallel < 1:
            raise SbgConfigError(f"max_parallel must be at least 1, got {self.max_parallel!r}.")
        wanted = _output_ids(self.outputs)
        root = destination_root(self.destination, self.dest_conn_id, SbgConfigError)
        task = self._completed_task()
        planned = self._planned(task, wanted)
        targets = _targets(planned, root)  # every name checked before anything is downloaded
        manifest = Manifest(root, write_atomically)
        todo = []
        for item in planned:
            if self._complete_already(item, task.id, targets[item.relative], manifest):
                self.log.info("%s of task %s is already at the destination; skipped.", item.relative, task.id)
            else:
                todo.append(item)
        self.log.info(
            "Downloading %d of the %d output files of task %s (%d already there).",
            len(todo),
            len(planned),
            task.id,
            len(planned) - len(todo),
        )
        jobs = [partial(self._download, item, task.id, targets[item.relative], manifest) for item in todo]
        run_parallel(jobs, self.max_parallel, "sbg-download")
        return [str(targets[item.relative]) for item in planned]

    def _completed_task(self) -> SbgTask:
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError, SbgTaskFailedError
        from airflow_provider_tis.hooks.sevenbridges_models import SevenBridgesTaskStatus

        task = self.hook.get_task(self.sbg_task_id)
        if task.status is SevenBridgesTaskStatus.COMPLETED:
            return task
        if task.status.is_terminal:
            message = task.execution_status.message
            raise SbgTaskFailedError(
                f"Seven Bridges task {task.id} ended {task.status.value}"
                + (f" ({message})" if message else "")
                + "; it has no outputs to download. Nothing was downloaded."
            )
        raise SbgConfigError(
            f"Seven Bridges task {task.id} is {task.status.value}, not COMPLETED; nothing was downloaded. "
            "Wait for it with SevenBridgesTaskSensor before downloading its outputs."
        )

    def _planned(self, task: SbgTask, wanted: list[str] | None) -> list[_Planned]:
        """Every file of the chosen outputs, directories walked (each folder listed across all pages)."""
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

        found = task.output_files()
        if wanted is not None:
            known = sorted({o.key for o in found} | set(task.outputs))
            unknown = [key for key in wanted if key not in known]
            if unknown:
                raise SbgConfigError(
                    f"Task {task.id} has no output {', '.join(map(repr, unknown))}; its outputs are "
                    f"{', '.join(known) or 'none'}. Nothing was downloaded."
                )
            found = [o for o in found if o.key in wanted]
        planned: list[_Planned] = []
        for output in found:
            if output.kind == "Directory":
                name = output.name or self.hook.get_file(output.id).name
                planned.extend(self._walk(output.id, [name], 0))
            else:
                name, size = output.name, output.size
                if not name or size is None:
                    file = self.hook.get_file(output.id)
                    name, size = name or file.name, file.size if size is None else size
                planned.append(_Planned(_joined([name]), output.id, name, size))
        if not planned:
            raise SbgConfigError(
                f"Task {task.id} has no output files"
                + (f" among outputs {', '.join(wanted)}." if wanted is not None else ".")
            )
        return planned

    def _walk(self, folder_id: str, names: list[str], depth: int) -> list[_Planned]:
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgResponseError

        if depth > MAX_DEPTH:
            raise SbgResponseError(
                f"Output folder {'/'.join(names)} is nested more than {MAX_DEPTH} levels deep; nothing was "
                "downloaded."
            )
        planned: list[_Planned] = []
        for child in self.hook.list_files(parent=folder_id):
            if child.is_folder:
                planned.extend(self._walk(child.id, [*names, child.name], depth + 1))
            else:
                planned.append(_Planned(_joined([*names, child.name]), child.id, child.name, child.size))
        return planned

    def _complete_already(self, item: _Planned, task_id: str, target: Any, manifest: Manifest) -> bool:
        """Only the manifest proves a file complete: an entry of this task and file, the bytes there of
        the recorded size (and of the platform's size, where it lists one)."""
        from airflow_provider_tis.core.files import size_of

        if self.overwrite:
            return False
        entry = manifest.entry(item.relative)
        if entry is None or entry.job_id != task_id:
            return False
        return size_of(target) == entry.size and item.size in (None, entry.size)

    def _download(self, item: _Planned, task_id: str, target: Any, manifest: Manifest) -> None:
        from airflow_provider_tis.core.download import fetch
        from airflow_provider_tis.core.manifest import ManifestEntry
        from airflow_provider_tis.hooks.sevenbridges_models import SbgFile

        file = SbgFile(id=item.file_id, name=item.relative, size=item.size)
        fetched = fetch(self.hook.download_source(file), target, self.log)
        fetched.partial.commit()
        manifest.record(ManifestEntry(task_id, item.relative, fetched.size))
        self.log.info("Downloaded %s (%d bytes).", item.relative, fetched.size)


def _output_ids(outputs: Sequence[str] | str | None) -> list[str] | None:
    from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

    if outputs is None:
        return None
    ids = [outputs] if isinstance(outputs, str) else list(outputs)
    if not ids or not all(isinstance(key, str) and key for key in ids):
        raise SbgConfigError(
            f"`outputs` must be a list of the task's output ids (e.g. ['merged']), got {outputs!r}. Leave it "
            "out to download every output."
        )
    return ids


def _joined(names: list[str]) -> str:
    """The relative path of names from the platform; each one a single name, never ``..`` or absolute."""
    from airflow_provider_tis.core.files import safe_relative_name
    from airflow_provider_tis.hooks.sevenbridges_errors import SbgResponseError

    for name in names:
        safe_relative_name(name, SbgResponseError)  # a lone name: no "..", "/x", NUL, backslash
        if "/" in name:
            safe_relative_name("/" + name, SbgResponseError)  # a name is one segment: "/" is refused
    return safe_relative_name("/".join(names), SbgResponseError)


def _targets(planned: list[_Planned], root: Any) -> dict[str, Any]:
    """Where each file goes; two files at one path, or a file where a folder must be, are refused."""
    from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError, SbgResponseError

    targets: dict[str, Any] = {}
    folders = {
        "/".join(p.relative.split("/")[:i]) for p in planned for i in range(1, p.relative.count("/") + 1)
    }
    for item in planned:
        if item.relative in targets or item.relative in folders:
            raise SbgResponseError(
                f"Two outputs of the task would both be written to {item.relative!r}; nothing was downloaded. "
                "Download them into separate destinations with `outputs`."
            )
        target = root / item.relative
        if target.exists() and target.is_dir():
            raise SbgConfigError(
                f"A folder is in the way at {target}, where the output file {item.relative!r} must go; "
                "nothing was downloaded. Move it away, or choose another destination."
            )
        targets[item.relative] = target
    return targets


class SevenBridgesUploadOperator(BaseOperator):
    """Upload files into a Seven Bridges project (or a folder of it); return their file ids (XCom).

    Each file is sent with the multipart API in parts, a bounded number in memory at once, whatever its
    size; local files and any ObjectStoragePath (``s3://``, ``gs://`` ...) are read as streams. When the
    folder has a file of the same name already, ``on_conflict`` decides:

    - ``"skip"`` (default): a file of the same name **and size** is taken as uploaded already, and its id
      returned, without sending anything; a file of that name but another size is an error (nothing of
      that file is sent), so that a changed input is never silently replaced nor silently kept.
    - ``"rename"``: the file is uploaded under the next free name the way the platform names copies
      (``_1_<name>``, ``_2_<name>`` ...); each run uploads a new copy.
    - ``"overwrite"``: the platform's file is replaced (the new file has a new id).

    Every file is resolved (and every glob matched) before the first request.

    :param files: a local path, a glob, a storage URL (``s3://conn@bucket/key``, globs allowed) or a
        list of those (templated).
    :param project: ``owner/project`` (templated); default: the connection's extra ``project``.
    :param folder: a folder of the project's root, by name, or any folder by id (templated); default: the
        project's root. It must exist.
    :param on_conflict: ``"skip"``, ``"rename"`` or ``"overwrite"`` (see above).
    :param sevenbridges_conn_id: Airflow connection id of type ``sevenbridges``.
    """

    template_fields: Sequence[str] = ("files", "project", "folder")
    ui_color = "#d6eaf8"

    def __init__(
        self,
        *,
        files: str | Sequence[str],
        project: str | None = None,
        folder: str | None = None,
        on_conflict: str = "skip",
        sevenbridges_conn_id: str = SEVENBRIDGES_CONN_ID,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.files = files
        self.project = project
        self.folder = folder
        self.on_conflict = on_conflict
        self.sevenbridges_conn_id = sevenbridges_conn_id

    @cached_property
    def hook(self) -> SevenBridgesHook:
        from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

        return SevenBridgesHook(self.sevenbridges_conn_id)

    def execute(self, context: Context) -> list[str]:
        from airflow_provider_tis.core.inputs import resolve_files
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

        if self.on_conflict not in ON_CONFLICT:
            raise SbgConfigError(
                f"on_conflict must be one of {', '.join(ON_CONFLICT)}, got {self.on_conflict!r}."
            )
        sources = resolve_files(self.files, SbgConfigError)  # globs matched before any request
        names = [source.name for source in sources]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise SbgConfigError(
                f"`files` names several files called {', '.join(twice)}; a folder holds one file of a name. "
                "Upload them into different folders."
            )
        sizes = [_size(source) for source in sources]
        project = self.hook._project(self.project)
        parent = self._folder_id(project)
        ids = [
            self._upload(source, size, project, parent) for source, size in zip(sources, sizes, strict=True)
        ]
        return ids

    def _folder_id(self, project: str) -> str | None:
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError, SbgNotFoundError

        folder = (self.folder or "").strip()
        if not folder:
            return None
        found = self.hook.find_file(folder, project) if "/" not in folder else None
        if found is None:
            try:
                found = self.hook.get_file(folder)
            except (SbgNotFoundError, SbgConfigError):
                found = None
        if found is None or not found.is_folder:
            raise SbgConfigError(
                f"Project {project} has no folder {folder!r} (by name in its root, or by id); nothing was "
                "uploaded. Create the folder on the platform, or leave `folder` out to upload to the root."
            )
        return found.id

    def _upload(self, source: Any, size: int, project: str, parent: str | None) -> str:
        from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

        name = source.name
        existing = self.hook.find_file(name, project, parent=parent)
        overwrite = False
        if existing is not None:
            if self.on_conflict == "skip":
                if not existing.is_folder and existing.size == size:
                    self.log.info(
                        "%s (%d bytes) is already in the folder as file %s; not uploading it again.",
                        name,
                        size,
                        existing.id,
                    )
                    return existing.id
                what = "a folder" if existing.is_folder else f"a file of {existing.size} bytes"
                raise SbgConfigError(
                    f"The folder already has {what} called {name} ({existing.id}), and {source} has {size} "
                    "bytes; it was not uploaded. Use on_conflict='overwrite' to replace it, or 'rename' to "
                    "keep both."
                )
            if self.on_conflict == "rename" or existing.is_folder:
                name = self._free_name(name, project, parent)
            else:
                overwrite = True
        uploaded = self.hook.upload_file(
            source, name=name, project=project, parent=parent, overwrite=overwrite
        )
        self.log.info(
            "Uploaded %s as %s (file %s, %d bytes%s).",
            source,
            name,
            uploaded.id,
            size,
            ", replacing the file there" if overwrite else "",
        )
        return uploaded.id

    def _free_name(self, name: str, project: str, parent: str | None) -> str:
        taken: set[str] = {f.name for f in self.hook.list_files(project, parent=parent, fields="id,name")}
        n = 1
        while f"_{n}_{name}" in taken:
            n += 1
        return f"_{n}_{name}"


def _size(source: Any) -> int:
    from airflow_provider_tis.hooks.sevenbridges_errors import SbgConfigError

    try:
        stat = source.stat()
    except (FileNotFoundError, OSError) as exc:
        raise SbgConfigError(
            f"Cannot upload {source}: it cannot be read ({exc}). Check that the path exists on this "
            "worker and is readable (a relative path is relative to the worker's working folder; give an "
            "absolute path or a storage URL). Nothing was uploaded."
        ) from None
    size = stat["size"] if isinstance(stat, dict) else getattr(stat, "st_size", None)
    if not isinstance(size, int):
        raise SbgConfigError(f"Cannot upload {source}: its size is unknown. Nothing was uploaded.")
    if hasattr(source, "is_dir") and source.is_dir():
        raise SbgConfigError(
            f"Cannot upload {source}: it is a folder; give its files (a glob). Nothing was uploaded."
        )
    return size
