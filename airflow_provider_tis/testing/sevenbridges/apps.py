"""Apps with declared (CWL-like) inputs and outputs, and the validation of a task's inputs against them.

The platform reports bad inputs as a task's ``errors`` list, not as an HTTP error (§1.2); what each
entry looks like was never seen [I]: the platform's error body, ``code`` 7012 for missing inputs and the
general 90000 / 5002 for a wrong type or an unknown file, ``more_info`` naming the input. Inputs the
app does not declare are dropped [I], and a task's files must be in its own project [I].
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.sevenbridges.errors import SbgApiError, error_item
from airflow_provider_tis.testing.sevenbridges.files import FOLDER

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow_provider_tis.testing.sevenbridges.files import FileStore

#: Input types an app may declare.
INPUT_TYPES = ("File", "File[]", "Directory", "string", "int")
#: Output kinds (what the simulated tool writes): a JSON summary of the inputs, the input files' bytes
#: one after the other, a folder with a nested folder, or one copy per input file.
OUTPUT_KINDS = ("report", "concat", "directory", "per_file")


@dataclass(frozen=True)
class AppInput:
    """A declared input.

    :param id: the input's id (the key in a task's ``inputs``).
    :param type: one of :data:`INPUT_TYPES`.
    :param required: a task without it gets an error (unless it has a ``default``).
    :param default: used when the task leaves it out.
    """

    id: str
    type: str
    required: bool = True
    default: Any = None

    def cwl(self) -> dict[str, Any]:
        """The input as the app's ``raw`` CWL shows it (``File?`` marks an optional one)."""
        body: dict[str, Any] = {"id": self.id, "type": self.type if self.required else f"{self.type}?"}
        if self.default is not None:
            body["default"] = self.default
        return body


@dataclass(frozen=True)
class AppOutput:
    """A declared output.

    :param id: the key in a task's ``outputs``.
    :param kind: what is written (:data:`OUTPUT_KINDS`); ``directory`` is a ``Directory`` output and
        ``per_file`` a ``File[]`` one, the others a single ``File``.
    """

    id: str
    kind: str = "report"

    @property
    def type(self) -> str:
        return {"directory": "Directory", "per_file": "File[]"}.get(self.kind, "File")


@dataclass
class App:
    """An app (tool or workflow) in a project; a task runs its ``steps`` one after another.

    :param fail_step: index of the step at which every task fails (None: it never fails on its own).
    :param fails_when: a check of the task's inputs at run time; a message fails the task at
        ``fail_step`` (or its last step) with that message.
    """

    project: str
    name: str
    inputs: tuple[AppInput, ...]
    outputs: tuple[AppOutput, ...]
    steps: tuple[str, ...] = ("run",)
    revision: int = 0
    fail_step: int | None = None
    fail_message: str = "Job failed with exit code 1."
    fails_when: Callable[[dict[str, Any]], str | None] | None = field(default=None, repr=False)

    @property
    def id(self) -> str:
        return f"{self.project}/{self.name}"

    def failure(self, inputs: dict[str, Any]) -> tuple[int, str] | None:
        """(step index, message) if a task with these inputs fails, else None."""
        if self.fails_when is not None:
            message = self.fails_when(inputs)
            if message is None:
                return None
        elif self.fail_step is None:
            return None
        else:
            message = self.fail_message
        step = self.fail_step if self.fail_step is not None else len(self.steps) - 1
        return min(step, len(self.steps) - 1), message

    def resource(self, base: str, *, compact: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "href": f"{base}/apps/{self.id}/{self.revision}",
            "id": f"{self.id}/{self.revision}",
            "project": self.project,
            "name": self.name,
            "revision": self.revision,
        }
        if not compact:
            body["raw"] = {
                "cwlVersion": "v1.0",
                "class": "Workflow" if len(self.steps) > 1 else "CommandLineTool",
                "id": f"{self.id}/{self.revision}",
                "label": self.name,
                "inputs": [i.cwl() for i in self.inputs],
                "outputs": [{"id": o.id, "type": o.type} for o in self.outputs],
                "sbg:id": f"{self.id}/{self.revision}",
                "sbg:project": self.project,
                "sbg:revision": self.revision,
                "steps": [{"id": s} for s in self.steps] if len(self.steps) > 1 else [],
            }
        return body


def demo_app(project: str) -> App:
    """The default app: two files and an int in; a report, the merged inputs and a folder (with a nested
    folder) out. It fails at its second step when ``threads`` is over 64 ("the instance has 64 CPUs")."""
    return App(
        project,
        "demo-workflow",
        inputs=(
            AppInput("reads", "File"),
            AppInput("reference", "File"),
            AppInput("threads", "int", required=False, default=2),
            AppInput("sample", "string", required=False, default="sample"),
            AppInput("extra_files", "File[]", required=False),
        ),
        outputs=(AppOutput("report", "report"), AppOutput("merged", "concat"), AppOutput("qc", "directory")),
        steps=("prepare", "align", "package"),
        fail_step=1,
        fails_when=lambda inputs: (
            f"Job 'align' failed: asked for {inputs.get('threads')} threads, the instance has 64 CPUs."
            if isinstance(inputs.get("threads"), int) and inputs["threads"] > 64
            else None
        ),
    )


def failing_app(project: str) -> App:
    """An app whose every task FAILS at its second step (for tests of failure handling)."""
    return App(
        project,
        "failing-tool",
        inputs=(AppInput("reads", "File"),),
        outputs=(AppOutput("report", "report"),),
        steps=("validate", "crash"),
        fail_step=1,
        fail_message="Job 'crash' failed: Process exited with code 137 (out of memory).",
    )


def _check_file(
    key: str, value: Any, files: FileStore, project: str, kind: str
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(normalized value, None) or (None, error) for one ``{"class": "File", "path": id}``."""
    wanted = "Directory" if kind == "Directory" else "File"
    if not isinstance(value, dict) or not isinstance(value.get("path"), str):
        return None, error_item(400, 90000, f"Input '{key}' must be {{'class': '{wanted}', 'path': <id>}}.")
    sim_file = files.files.get(value["path"])
    if sim_file is None or sim_file.hidden:
        return None, error_item(404, 5002, f"Input '{key}': file {value['path']} does not exist.")
    if sim_file.project != project:  # [I] a task's files must be in its project (users copy them in)
        return None, error_item(400, 90000, f"Input '{key}': {sim_file.name} is not in project {project}.")
    if (sim_file.type == FOLDER) != (wanted == "Directory"):
        return None, error_item(400, 90000, f"Input '{key}' must be a {wanted}, {sim_file.name} is not.")
    return {"class": wanted, "path": sim_file.id, "name": sim_file.name}, None


def check_inputs(
    app: App, inputs: Any, files: FileStore, project: str, batch_input: str | None = None
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """A task's inputs normalized (files get their ``name``, defaults are filled in), and its errors.

    :param inputs: the ``inputs`` of the request (a dict, else 400).
    :param batch_input: the input a batch task batches on: a list of files even where the app takes one.
    :raises SbgApiError: ``inputs`` is not an object.
    """
    if inputs is None:
        inputs = {}
    if not isinstance(inputs, dict):
        raise SbgApiError(400, 90000, more_info="'inputs' must be an object.")
    normalized: dict[str, Any] = {}
    errors: list[dict[str, Any]] = []
    missing: list[str] = []
    for declared in app.inputs:
        value = inputs.get(declared.id)
        if value is None or value == []:
            if declared.default is not None:
                normalized[declared.id] = declared.default
            elif declared.required:
                missing.append(declared.id)
            continue
        kind = "File[]" if declared.id == batch_input and declared.type == "File" else declared.type
        if kind in ("File", "Directory"):
            value, error = _check_file(declared.id, value, files, project, declared.type)
        elif kind == "File[]":
            if not isinstance(value, list):
                value, error = None, error_item(400, 90000, f"Input '{declared.id}' must be a list of files.")
            else:
                checked = [_check_file(declared.id, v, files, project, "File") for v in value]
                error = next((e for _, e in checked if e is not None), None)
                value = [v for v, _ in checked]
        elif kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
            error = None if ok else error_item(400, 90000, f"Input '{declared.id}' must be an int.")
        else:
            ok = isinstance(value, str)
            error = None if ok else error_item(400, 90000, f"Input '{declared.id}' must be a string.")
        if error is not None:
            errors.append(error)
        normalized[declared.id] = value if error is None else inputs.get(declared.id)
    if missing:
        errors.insert(0, error_item(400, 7012, f"Required inputs are not set: {', '.join(missing)}."))
    return normalized, errors
