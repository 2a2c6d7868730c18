"""Seven Bridges / BioData Catalyst resources as the public API (v2) shows them: users, projects, files,
apps, tasks and their statuses. Parsing fails closed: a resource without the fields this provider relies
on, or a status it does not know, is an error that says so, never a guess."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from airflow_provider_tis.hooks.sevenbridges_errors import (
    ANSWERS,
    SERVICE,
    SbgResponseError,
    SbgTaskValidationError,
    describe_error,
    unexpected_answer,
)


@dataclass(frozen=True)
class SevenBridgesSettings:
    """A validated ``sevenbridges`` connection.

    :param base_url: the API base, ``/v2`` included.
    :param token: the auth token (the password; masked, never in repr).
    :param project: the default project, ``owner/project`` ("" if none).
    :param verify: TLS verification: True, False or a CA bundle path.
    :param timeout: read timeout of API calls, in seconds.
    """

    conn_id: str
    base_url: str
    token: str = field(repr=False)
    project: str = ""
    verify: bool | str = True
    timeout: float = 60.0


class SevenBridgesTaskStatus(str, Enum):
    """A task's ``status``: DRAFT -> (run) -> QUEUED <-> RUNNING -> COMPLETED | FAILED; an abort goes
    through ABORTING to ABORTED (§1.2). CREATING is in the official client's enum, never documented."""

    DRAFT = "DRAFT"
    CREATING = "CREATING"
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    ABORTING = "ABORTING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    ABORTED = "ABORTED"

    @property
    def is_terminal(self) -> bool:
        """COMPLETED, FAILED or ABORTED: the task will not change any more."""
        return self in (
            SevenBridgesTaskStatus.COMPLETED,
            SevenBridgesTaskStatus.FAILED,
            SevenBridgesTaskStatus.ABORTED,
        )

    @property
    def is_success(self) -> bool:
        return self is SevenBridgesTaskStatus.COMPLETED


_object, _text, _number = ANSWERS.object, ANSWERS.text, ANSWERS.integer


@dataclass(frozen=True)
class SbgUser:
    """``GET /user``: the token's user."""

    username: str
    email: str = ""
    first_name: str = ""
    last_name: str = ""

    @classmethod
    def from_json(cls, data: object) -> SbgUser:
        body = _object(data, "the user")
        return cls(
            username=_text(body, "username", "the user", required=True),
            email=_text(body, "email", "the user"),
            first_name=_text(body, "first_name", "the user"),
            last_name=_text(body, "last_name", "the user"),
        )


@dataclass(frozen=True)
class SbgProject:
    """A project; ``id`` is ``owner/project``."""

    id: str
    name: str = ""
    root_folder: str = ""
    description: str = ""

    @classmethod
    def from_json(cls, data: object) -> SbgProject:
        body = _object(data, "a project")
        return cls(
            id=_text(body, "id", "a project", required=True),
            name=_text(body, "name", "a project"),
            root_folder=_text(body, "root_folder", "a project"),
            description=_text(body, "description", "a project"),
        )


@dataclass(frozen=True)
class SbgFile:
    """A file or folder. ``size`` is None for folders (and when ``fields=`` left it out)."""

    id: str
    name: str
    type: str = "file"
    project: str = ""
    parent: str = ""
    size: int | None = None
    metadata: dict[str, Any] = field(default_factory=dict, compare=False)
    tags: tuple[str, ...] = ()
    origin_task: str = ""

    @property
    def is_folder(self) -> bool:
        return self.type == "folder"

    @classmethod
    def from_json(cls, data: object) -> SbgFile:
        what = "a file"
        body = _object(data, what)
        kind = body.get("type", "file")
        if kind not in ("file", "folder"):
            raise SbgResponseError(
                f"{SERVICE} listed {body.get('name')!r} as a {kind!r}, which this version of "
                "airflow-provider-tis does not know (file, folder). Upgrade airflow-provider-tis."
            )
        origin = body.get("origin")
        metadata = body.get("metadata")
        return cls(
            id=_text(body, "id", what, required=True),
            name=_text(body, "name", what, required=True),
            type=kind,
            project=_text(body, "project", what),
            parent=_text(body, "parent", what),
            size=_number(body, "size"),
            metadata=dict(metadata) if isinstance(metadata, dict) else {},
            tags=tuple(str(t) for t in body.get("tags") or () if isinstance(t, str)),
            origin_task=str(origin.get("task") or "") if isinstance(origin, dict) else "",
        )


@dataclass(frozen=True)
class SbgAppInput:
    """An input an app declares (its CWL ``inputs``), e.g. ``File``, ``File[]``, ``int``."""

    id: str
    type: str
    required: bool = True
    default: Any = None

    @classmethod
    def from_cwl(cls, data: object) -> SbgAppInput:
        body = _object(data, "an app's input")
        kind, optional = _cwl_type(body.get("type"))
        ident = _text(body, "id", "an app's input", required=True).lstrip("#")
        default = body.get("default")
        return cls(ident, kind, required=not optional and default is None, default=default)


def _cwl_type(value: Any) -> tuple[str, bool]:
    """(type, optional) of a CWL type: ``File?``, ``["null", "File"]``, ``{"type": "array", ...}``."""
    if isinstance(value, str):
        return (value[:-1], True) if value.endswith("?") else (value, False)
    if isinstance(value, list):
        optional = "null" in value
        rest = [v for v in value if v != "null"]
        kind, inner_optional = _cwl_type(rest[0]) if len(rest) == 1 else ("|".join(map(str, rest)), False)
        return kind, optional or inner_optional
    if isinstance(value, dict):
        if value.get("type") == "array":
            return f"{_cwl_type(value.get('items'))[0]}[]", False
        return str(value.get("type") or "unknown"), False
    return "unknown", False


@dataclass(frozen=True)
class SbgApp:
    """An app revision; ``id`` is ``owner/project/app/revision`` (or without the revision)."""

    id: str
    name: str = ""
    project: str = ""
    revision: int | None = None
    inputs: tuple[SbgAppInput, ...] = ()
    outputs: tuple[str, ...] = ()

    @property
    def required_inputs(self) -> tuple[str, ...]:
        return tuple(i.id for i in self.inputs if i.required)

    @classmethod
    def from_json(cls, data: object) -> SbgApp:
        body = _object(data, "an app")
        raw = body.get("raw")
        raw = raw if isinstance(raw, dict) else {}
        inputs, outputs = raw.get("inputs") or [], raw.get("outputs") or []
        if not isinstance(inputs, list) or not isinstance(outputs, list):
            raise unexpected_answer("an app's inputs and outputs", raw)
        return cls(
            id=_text(body, "id", "an app", required=True),
            name=_text(body, "name", "an app"),
            project=_text(body, "project", "an app"),
            revision=_number(body, "revision"),
            inputs=tuple(SbgAppInput.from_cwl(item) for item in inputs),
            outputs=tuple(str(o.get("id", "")).lstrip("#") for o in outputs if isinstance(o, dict)),
        )


@dataclass(frozen=True)
class SbgTaskError:
    """One entry of a task's ``errors`` (why it cannot run): the platform's error body."""

    code: int | None
    message: str
    more_info: str = ""

    def __str__(self) -> str:
        return describe_error({"code": self.code, "message": self.message, "more_info": self.more_info})


@dataclass(frozen=True)
class SbgExecutionStatus:
    """``execution_status``: progress of a task (``steps_completed`` of ``steps_total``) and its message;
    a batch parent also counts its children by status (``queued`` ... ``aborted``) [I: undocumented]."""

    steps_completed: int | None = None
    steps_total: int | None = None
    message: str = ""
    queued: int | None = None
    running: int | None = None
    completed: int | None = None
    failed: int | None = None
    aborted: int | None = None

    @classmethod
    def from_json(cls, data: object) -> SbgExecutionStatus:
        body = data if isinstance(data, dict) else {}
        message = body.get("message")
        counts = {k: _number(body, k) for k in ("queued", "running", "completed", "failed", "aborted")}
        return cls(
            _number(body, "steps_completed"),
            _number(body, "steps_total"),
            message if isinstance(message, str) else "",
            **counts,
        )


@dataclass(frozen=True)
class SbgOutput:
    """One file or folder among a task's ``outputs``."""

    key: str
    kind: str  # "File" or "Directory"
    id: str
    name: str = ""
    size: int | None = None


@dataclass(frozen=True)
class SbgTask:
    """A task. With ``fields=`` only ``id`` and ``status`` are required; the rest keeps its default.

    :param errors: why the platform will not run it (a DRAFT with invalid inputs, §1.2): check after
        creating or running.
    :param batch: a batch task; its work is done by children (``GET /tasks?parent=<id>``), and its own
        status does not say whether some of them failed [I]: look at the children.
    """

    id: str
    status: SevenBridgesTaskStatus
    name: str = ""
    project: str = ""
    app: str = ""
    errors: tuple[SbgTaskError, ...] = ()
    execution_status: SbgExecutionStatus = field(default_factory=SbgExecutionStatus)
    inputs: dict[str, Any] = field(default_factory=dict, compare=False)
    outputs: dict[str, Any] = field(default_factory=dict, compare=False)
    batch: bool = False
    parent: str = ""

    @classmethod
    def from_json(cls, data: object) -> SbgTask:
        body = _object(data, "a task")
        task_id = _text(body, "id", "a task", required=True)
        raw_status = body.get("status")
        try:
            status = SevenBridgesTaskStatus(raw_status)
        except ValueError:
            raise SbgResponseError(
                f"{SERVICE} reported status {raw_status!r} for task {task_id}, which this version of "
                f"airflow-provider-tis does not know ({', '.join(s.value for s in SevenBridgesTaskStatus)}). "
                "Upgrade airflow-provider-tis."
            ) from None
        errors = body.get("errors") or []
        if not isinstance(errors, list):
            raise unexpected_answer(f"the errors of task {task_id}", errors)
        inputs, outputs = body.get("inputs"), body.get("outputs")
        return cls(
            id=task_id,
            status=status,
            name=_text(body, "name", "a task"),
            project=_text(body, "project", "a task"),
            app=_text(body, "app", "a task"),
            errors=tuple(
                SbgTaskError(_number(e, "code"), str(e.get("message") or ""), str(e.get("more_info") or ""))
                if isinstance(e, dict)
                else SbgTaskError(None, str(e))
                for e in errors
            ),
            execution_status=SbgExecutionStatus.from_json(body.get("execution_status")),
            inputs=dict(inputs) if isinstance(inputs, dict) else {},
            outputs=dict(outputs) if isinstance(outputs, dict) else {},
            batch=body.get("batch") is True,
            parent=_text(body, "parent", "a task"),
        )

    def describe_errors(self) -> str:
        return "; ".join(str(e) for e in self.errors)

    def raise_for_errors(self) -> SbgTask:
        """The task, unless it is a DRAFT the platform will not run: then :class:`SbgTaskValidationError`."""
        if self.errors and self.status is SevenBridgesTaskStatus.DRAFT:
            raise SbgTaskValidationError(
                f"{SERVICE} will not run task {self.id} ({self.name}): {self.describe_errors()}. It stays a "
                "DRAFT: fix its inputs (or the app's), then run it again, or delete it.",
                task_id=self.id,
                errors=[
                    {"code": e.code, "message": e.message, "more_info": e.more_info} for e in self.errors
                ],
            )
        return self

    def output_files(self) -> list[SbgOutput]:
        """The files and folders among ``outputs`` (lists flattened), in the order the task lists them."""
        found = []
        for key, value in self.outputs.items():
            for item in value if isinstance(value, list) else [value]:
                if isinstance(item, dict) and item.get("class") in ("File", "Directory"):
                    path = item.get("path")
                    if isinstance(path, str) and path:
                        name = item.get("name")
                        found.append(
                            SbgOutput(
                                key,
                                item["class"],
                                path,
                                name if isinstance(name, str) else "",
                                _number(item, "size"),
                            )
                        )
        return found

    def summary(self) -> dict[str, Any]:
        """JSON-safe summary for XCom."""
        progress = self.execution_status
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status.value,
            "project": self.project,
            "app": self.app,
            "steps_completed": progress.steps_completed,
            "steps_total": progress.steps_total,
            "message": progress.message,
            "errors": [str(e) for e in self.errors],
        }


@dataclass(frozen=True)
class SbgJob:
    """One job (a step's run on an instance) of ``execution_details``.

    :param logs: log name -> the API link of its file (``.../files/<id>/download_info``).
    """

    name: str
    status: str
    start_time: str = ""
    end_time: str = ""
    logs: dict[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class SbgExecutionDetails:
    """``GET /tasks/{id}/execution_details``: the task's status and message, and its jobs (a FAILED one on
    a failed task) with their logs."""

    status: str
    message: str = ""
    jobs: tuple[SbgJob, ...] = ()

    @property
    def failed_jobs(self) -> tuple[SbgJob, ...]:
        return tuple(job for job in self.jobs if job.status == "FAILED")

    @classmethod
    def from_json(cls, data: object) -> SbgExecutionDetails:
        body = _object(data, "the execution details")
        jobs = body.get("jobs") or []
        if not isinstance(jobs, list):
            raise unexpected_answer("the jobs of the execution details", jobs)
        parsed = []
        for job in jobs:
            item = _object(job, "a job of the execution details")
            logs = item.get("logs")
            parsed.append(
                SbgJob(
                    name=_text(item, "name", "a job", required=True),
                    status=_text(item, "status", "a job"),
                    start_time=_text(item, "start_time", "a job"),
                    end_time=_text(item, "end_time", "a job"),
                    logs={str(k): v for k, v in logs.items() if isinstance(v, str)}
                    if isinstance(logs, dict)
                    else {},
                )
            )
        return cls(
            _text(body, "status", "the execution details"),
            _text(body, "message", "the execution details"),
            tuple(parsed),
        )
