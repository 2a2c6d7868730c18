"""Write README's parameter reference from the docstrings, so each parameter is documented once.

python scripts/reference.py          # rewrite the part of README.md between the reference markers
python scripts/reference.py --check  # exit 1 if README.md is out of date (a test runs this)
"""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

from airflow_provider_tis.hooks import CgiHook, TisHook
from airflow_provider_tis.operators import (
    CancelJobOperator,
    CgiDeleteJobOperator,
    CgiDownloadResultsOperator,
    CgiSubmitOperator,
    DownloadResultsOperator,
    SubmitImputationOperator,
)
from airflow_provider_tis.sensors import CgiJobSensor, JobStateSensor
from airflow_provider_tis.triggers import CgiJobTrigger, JobStateTrigger

README = Path(__file__).resolve().parent.parent / "README.md"
START, END = "<!-- reference:start -->", "<!-- reference:end -->"
CLASSES = (
    SubmitImputationOperator,
    JobStateSensor,
    JobStateTrigger,
    DownloadResultsOperator,
    CancelJobOperator,
    TisHook,
    CgiSubmitOperator,
    CgiJobSensor,
    CgiJobTrigger,
    CgiDownloadResultsOperator,
    CgiDeleteJobOperator,
    CgiHook,
)
_PARAM = re.compile(r"^:param (\w+):\s*(.*)$")


def params_of(cls: type) -> dict[str, str]:
    """``:param name: text`` entries of a class docstring, continuation lines joined."""
    found: dict[str, str] = {}
    name = None
    for line in inspect.cleandoc(cls.__doc__ or "").splitlines():
        match = _PARAM.match(line.strip())
        if match:
            name = match.group(1)
            found[name] = match.group(2)
        elif name and line.startswith(" ") and line.strip():
            found[name] += " " + line.strip()
        else:
            name = None
    return found


def summary_of(cls: type) -> str:
    return _markdown(" ".join(inspect.cleandoc(cls.__doc__ or "").split("\n\n")[0].split()))


def _markdown(text: str) -> str:
    """reStructuredText inline markup as Markdown: ``x`` and :class:`x` become `x`."""
    return re.sub(r":\w+:`([^`]+)`", r"`\1`", text.replace("``", "`"))


def table(cls: type) -> str:
    signature = inspect.signature(cls.__init__)
    templated = set(getattr(cls, "template_fields", ()))
    documented = params_of(cls)
    rows = []
    for name, parameter in signature.parameters.items():
        if name in ("self", "kwargs", "args"):
            continue
        if name not in documented:
            raise SystemExit(f"{cls.__name__}: parameter {name!r} has no :param: in the docstring")
        default = "required" if parameter.default is inspect.Parameter.empty else f"`{parameter.default!r}`"
        mark = " (templated)" if name in templated else ""
        text = _markdown(documented[name]).replace(" (templated)", "").replace("|", "\\|")
        rows.append(f"| `{name}`{mark} | {default} | {text} |")
    return "\n".join(["| Parameter | Default | Meaning |", "| --- | --- | --- |", *rows])


def render() -> str:
    parts = [START, ""]
    for cls in CLASSES:
        parts += [
            f"### `{cls.__name__}` (`{cls.__module__.rsplit('.', 1)[0]}`)",
            "",
            summary_of(cls),
            "",
            table(cls),
            "",
        ]
    parts.append(END)
    return "\n".join(parts)


def main() -> int:
    text = README.read_text()
    before, rest = text.split(START, 1)
    after = rest.split(END, 1)[1]
    updated = before + render() + after
    if "--check" in sys.argv:
        if updated != text:
            print("README.md's reference is out of date: run `python scripts/reference.py`.")
            return 1
        return 0
    README.write_text(updated)
    return 0


if __name__ == "__main__":
    sys.exit(main())
