"""What a finished task leaves in its project: real output files (and folders) and its jobs' log files.

Outputs go to the project's root folder, named ``<sample>.<output id>...`` where ``sample`` is the task's
``sample`` string input if it has one; a taken name becomes ``_1_<name>`` [I]. A task's ``outputs``
then hold ``{"class": "File", "path": <file id>, "name": ..., "size": ...}`` or
``{"class": "Directory", "path": <folder id>, "name": ...}`` [I: the shape SBPY's ``map_input_output``
reads, §1.5 "File or Directory objects"].
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.files import FileStore, SbgFile, iso

if TYPE_CHECKING:
    from airflow_provider_tis.testing.sevenbridges.apps import AppOutput
    from airflow_provider_tis.testing.sevenbridges.tasks import Task


def _input_files(task: Task, files: FileStore) -> list[SbgFile]:
    """The task's input files in the app's input order (list inputs flattened)."""
    found: list[SbgFile] = []
    for declared in task.app.inputs:
        value = task.inputs.get(declared.id)
        for item in value if isinstance(value, list) else [value]:
            if isinstance(item, dict) and item.get("path") in files.files:
                sim_file = files.files[item["path"]]
                if sim_file.path is not None:
                    found.append(sim_file)
    return found


def _describe(sim_file: SbgFile) -> dict[str, Any]:
    assert sim_file.path is not None
    digest = hashlib.sha256(sim_file.path.read_bytes()).hexdigest()
    return {"name": sim_file.name, "size": sim_file.size, "sha256": digest}


def _summary(task: Task, files: FileStore) -> bytes:
    values: dict[str, Any] = {}
    for key, value in task.inputs.items():
        if isinstance(value, dict) and value.get("path") in files.files:
            values[key] = _describe(files.files[value["path"]])
        elif isinstance(value, list):
            values[key] = [_describe(files.files[v["path"]]) for v in value if isinstance(v, dict)]
        else:
            values[key] = value
    return json.dumps({"task": task.id, "app": task.app.id, "inputs": values}, indent=2).encode()


def _file_value(sim_file: SbgFile) -> dict[str, Any]:
    return {"class": "File", "path": sim_file.id, "name": sim_file.name, "size": sim_file.size}


def _write_one(task: Task, output: AppOutput, files: FileStore, prefix: str) -> Any:
    root = files.projects[task.project].root_folder
    if output.kind == "report":
        name = files.free_name(root, f"{prefix}.{output.id}.json")
        return _file_value(
            files.add_file(task.project, None, name, content=_summary(task, files), origin_task=task.id)
        )
    if output.kind == "concat":
        with tempfile.NamedTemporaryFile(dir=files.folder, delete=False) as handle:
            for sim_file in _input_files(task, files):
                assert sim_file.path is not None
                handle.write(sim_file.path.read_bytes())
        name = files.free_name(root, f"{prefix}.{output.id}.bin")
        return _file_value(
            files.add_file(task.project, None, name, source=Path(handle.name), origin_task=task.id)
        )
    if output.kind == "per_file":
        copies = []
        for sim_file in _input_files(task, files):
            assert sim_file.path is not None
            name = files.free_name(root, f"{sim_file.name}.{output.id}")
            content = sim_file.path.read_bytes()
            copies.append(
                _file_value(files.add_file(task.project, None, name, content=content, origin_task=task.id))
            )
        return copies
    # a folder with a summary and a nested folder: what a client's directory-aware download must walk
    folder = files.add_folder(task.project, None, files.free_name(root, f"{prefix}_{output.id}"))
    files.add_file(
        task.project, folder.id, "summary.json", content=_summary(task, files), origin_task=task.id
    )
    nested = files.add_folder(task.project, folder.id, "details")
    rows = ["name\tsize\tsha256"] + [
        "{name}\t{size}\t{sha256}".format(**_describe(f)) for f in _input_files(task, files)
    ]
    files.add_file(
        task.project, nested.id, "inputs.tsv", content="\n".join(rows).encode() + b"\n", origin_task=task.id
    )
    return {"class": "Directory", "path": folder.id, "name": folder.name}


def write_outputs(task: Task, files: FileStore) -> dict[str, Any]:
    """Write the outputs of a COMPLETED task into its project; its ``outputs`` value."""
    sample = task.inputs.get("sample")
    prefix = sample if isinstance(sample, str) and sample else "out"
    return {output.id: _write_one(task, output, files, prefix) for output in task.app.outputs}


def write_logs(task: Task, files: FileStore, jobs: list[dict[str, Any]]) -> dict[str, str]:
    """Write one hidden log file per job of a finished task; job name -> file id."""
    ids: dict[str, str] = {}
    for job in jobs:
        lines = [
            f"{iso(job['start'])} [{job['name']}] started on instance i-0sim{task.id[:8]}",
            *job["lines"],
            f"{iso(job['end'])} [{job['name']}] {job['status']}",
        ]
        log = files.add_file(
            task.project,
            None,
            f"{job['name']}.err.log",
            content="\n".join(lines).encode() + b"\n",
            hidden=True,
            origin_task=task.id,
        )
        ids[job["name"]] = log.id
    return ids
