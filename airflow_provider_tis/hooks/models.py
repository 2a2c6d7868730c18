"""Typed views of the server's JSON: job states, jobs, output files, apps, server and token info.

Parsing is tolerant (extra fields are ignored, missing ones get defaults) except where a wrong guess
would mislead the user: an unknown job state, and a time or size no computer can hold (out of range, NaN,
hundreds of digits), raise :class:`TisResponseError`, never a bare ValueError or OverflowError.
"""

from __future__ import annotations

import math
import re
import reprlib
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import IntEnum
from fractions import Fraction
from typing import Any

from airflow_provider_tis.hooks.tis_errors import TisResponseError, unexpected_answer
from airflow_provider_tis.version_compat import mask_secret


class JobState(IntEnum):
    """Cloudgene 3 job states (``AbstractJob.STATE_*``)."""

    DEAD = -1
    WAITING = 1
    RUNNING = 2
    EXPORTING = 3
    SUCCESS = 4
    FAILED = 5
    CANCELED = 6
    RETIRED = 7
    SUCCESS_NOTIFIED = 8
    FAIL_NOTIFIED = 9
    DELETED = 10

    @property
    def is_active(self) -> bool:
        """In the server's queue; counts against the per-user job limit."""
        return self in (JobState.WAITING, JobState.RUNNING, JobState.EXPORTING)

    @property
    def is_terminal(self) -> bool:
        """The job will not change state by itself any more (DEAD needs a restart)."""
        return not self.is_active

    @property
    def is_success(self) -> bool:
        return self in (JobState.SUCCESS, JobState.SUCCESS_NOTIFIED)


class MessageType(IntEnum):
    """Type of a step log message (``jobs/Message.java``)."""

    OK = 0
    ERROR = 1
    WARNING = 2
    RUNNING = 3


_PASSWORD_IN_MESSAGE = re.compile(r"password(?: is)?\s*[:=]\s*(\S+)", re.IGNORECASE)
_SIZE_UNITS = {"bytes": 0, "byte": 0, "b": 0, "kb": 1, "mb": 2, "gb": 3, "tb": 4, "pb": 5, "eb": 6}
_SIZE_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]+)\s*$")


def parse_size(text: object) -> int | None:
    """Approximate bytes of a size like ``"314 MB"`` (Commons-IO ``byteCountToDisplaySize``, 1024-based).

    The server truncates (1.9 GB is shown as "1 GB"), so this is a lower bound: the true size is below it
    plus :func:`size_unit`. Unknown forms give None.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text if text >= 0 else None
    if not isinstance(text, str):
        return None
    match = _SIZE_RE.match(text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        return None
    try:
        return int(float(match.group(1)) * 1024 ** _SIZE_UNITS[match.group(2).lower()])
    except OverflowError:  # hundreds of digits: float() is inf
        raise TisResponseError(
            f"The server sent a file size out of range ({reprlib.repr(text)}). Report this to its "
            "administrators."
        ) from None


def size_unit(text: str) -> int:
    """Bytes in the unit of a size string (``"314 MB"`` -> 1 MiB); 1 when unknown."""
    match = _SIZE_RE.match(text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        return 1
    return 1024 ** _SIZE_UNITS[match.group(2).lower()]


def size_bounds(text: str) -> tuple[int, int] | None:
    """The bytes a listed size can stand for, as ``[low, high)``; None when the form is unknown.

    A whole number was truncated (Commons-IO: "1 GB" is 1 GiB up to 2 GiB less a byte). A decimal, which
    other servers may send, may have been rounded either way, so it spans one step of its last digit each
    side. Exact arithmetic: a 400-digit size is a (useless) bound, not an overflow.
    """
    match = _SIZE_RE.match(text)
    if not match or match.group(2).lower() not in _SIZE_UNITS:
        return None
    unit = 1024 ** _SIZE_UNITS[match.group(2).lower()]
    number = Fraction(match.group(1))
    if "." not in match.group(1):
        return int(number) * unit, (int(number) + 1) * unit
    step = Fraction(1, 10 ** len(match.group(1).split(".")[1]))
    return max(0, math.floor((number - step) * unit)), math.ceil((number + step) * unit) + 1


def parse_time(value: object) -> datetime | None:
    """A Cloudgene time in epoch milliseconds; 0 (not started) and -1 (not set) become None."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value / 1000, tz=timezone.utc)
    except (OverflowError, OSError, ValueError):  # beyond year 9999, too large for a float, or NaN
        raise TisResponseError(
            f"The server sent a time out of range ({reprlib.repr(value)} ms since 1970). Report this to "
            "its administrators."
        ) from None


def _str(value: object, default: str = "") -> str:
    return value if isinstance(value, str) else default


def _int(value: object, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _list(value: object) -> list[Any]:
    return value if isinstance(value, list) else []


@dataclass(frozen=True)
class LogMessage:
    type: MessageType
    message: str
    time: datetime | None


@dataclass(frozen=True)
class Step:
    name: str
    messages: tuple[LogMessage, ...]


@dataclass(frozen=True)
class OutputFile:
    """One downloadable output file.

    :param name: name as listed by the server; may contain ``/`` (``statistics/x.txt``). Untrusted.
    :param hash: download hash for ``/share/results/{hash}/{name}``.
    :param size: approximate size in bytes parsed from ``size_text``, or None.
    :param count: downloads left (10 at first; -1 means unlimited).
    """

    name: str
    hash: str
    size_text: str
    size: int | None
    count: int
    output: str


@dataclass(frozen=True)
class Job:
    """A job as returned by ``GET /api/v2/jobs/{id}`` (JobInfo)."""

    id: str
    name: str
    state: JobState
    application: str = ""
    application_id: str = ""
    username: str | None = None
    submitted_on: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    deleted_on: datetime | None = None
    position_in_queue: int = -1
    steps: tuple[Step, ...] = ()
    files: tuple[OutputFile, ...] = ()

    @classmethod
    def from_json(cls, data: object) -> Job:
        if not isinstance(data, dict) or not isinstance(data.get("id"), str) or not data["id"]:
            raise unexpected_answer("a job without an id", data)
        job_id = data["id"]
        state_value = data.get("state")
        try:
            state = JobState(_int(state_value, 0))  # 0 is no state: reported below
        except ValueError:
            raise TisResponseError(
                f"The server reported state {reprlib.repr(state_value)} for job {job_id}, which this version of "
                "airflow-provider-tis does not know. Upgrade airflow-provider-tis."
            ) from None
        return cls(
            id=job_id,
            name=_str(data.get("name"), job_id),
            state=state,
            application=_str(data.get("application")),
            application_id=_str(data.get("applicationId")),
            username=data.get("username") if isinstance(data.get("username"), str) else None,
            submitted_on=parse_time(data.get("submittedOn")),
            start_time=parse_time(data.get("startTime")),
            end_time=parse_time(data.get("endTime")),
            deleted_on=parse_time(data.get("deletedOn")),
            position_in_queue=_int(data.get("positionInQueue"), -1),
            steps=tuple(_parse_step(s) for s in _list(data.get("steps")) if isinstance(s, dict)),
            files=tuple(_parse_files(_list(data.get("outputParams")))),
        )

    @property
    def fingerprint(self) -> tuple[str, int, int]:
        """What a poll would notice: state, queue position, how many step messages (coalesced polls read it
        from the job list; the list carries the steps of queued and running jobs, not of finished ones,
        which differ in state anyway)."""
        return self.state.name, self.position_in_queue, sum(len(step.messages) for step in self.steps)

    def error_messages(self) -> list[str]:
        """Texts of all ERROR messages of all steps, in order: why a job failed."""
        return [m.message for s in self.steps for m in s.messages if m.type == MessageType.ERROR]


def _parse_step(data: dict[str, Any]) -> Step:
    messages = []
    for item in _list(data.get("logMessages")):
        if not isinstance(item, dict):
            continue
        try:
            kind = MessageType(_int(item.get("type"), -1))
        except ValueError:
            kind = MessageType.OK
        text = _str(item.get("message"))
        for secret in _PASSWORD_IN_MESSAGE.findall(text):
            mask_secret(secret)  # a server that mails no password shows it in a step message
        # and out of the text too: Airflow's masker does not reach every copy of a log (the triggerer's
        # log files, the executor's copy of a task's output were seen with the password in clear)
        text = _PASSWORD_IN_MESSAGE.sub(lambda found: found.group(0).replace(found.group(1), "***"), text)
        messages.append(LogMessage(kind, text, parse_time(item.get("time"))))
    return Step(name=_str(data.get("name")), messages=tuple(messages))


def _parse_files(outputs: list[Any]) -> list[OutputFile]:
    files = []
    for output in outputs:
        if not isinstance(output, dict) or output.get("download") is False:
            continue
        for item in _list(output.get("files")):
            if not isinstance(item, dict) or not _str(item.get("hash")):
                continue
            size_text = _str(item.get("size"))
            files.append(
                OutputFile(
                    name=_str(item.get("name")),
                    hash=item["hash"],
                    size_text=size_text,
                    size=parse_size(size_text),
                    count=_int(item.get("count"), -1),
                    output=_str(output.get("name")),
                )
            )
    return files


@dataclass(frozen=True)
class AppInfo:
    """An app's declared inputs (``GET /api/v2/server/apps/{app}``).

    :param options: allowed values of each ``list`` parameter (e.g. ``build``, ``phasing``).
    :param refpanels: reference panel key (``apps@topmed-r3@1.0.0``) -> allowed populations.
    :param checkboxes: ids of checkbox parameters (sent only when on: any value turns them on).
    """

    id: str
    name: str
    version: str
    params: tuple[str, ...]
    options: dict[str, tuple[str, ...]]
    refpanels: dict[str, tuple[str, ...]]
    checkboxes: tuple[str, ...]

    @classmethod
    def from_json(cls, data: object) -> AppInfo:
        if not isinstance(data, dict) or not isinstance(data.get("params"), list):
            raise unexpected_answer("an app description without params", data)
        params, options, checkboxes = [], {}, []
        refpanels: dict[str, tuple[str, ...]] = {}
        for param in data["params"]:
            if not isinstance(param, dict) or not isinstance(param.get("id"), str):
                continue
            params.append(param["id"])
            values = [v for v in _list(param.get("values")) if isinstance(v, dict)]
            kind = param.get("type")
            if kind == "checkbox":
                checkboxes.append(param["id"])
            elif kind == "binded_list":  # populations per refpanel key
                for panel in values:
                    pops = tuple(
                        _str(p.get("key")) for p in _list(panel.get("values")) if isinstance(p, dict)
                    )
                    refpanels[_str(panel.get("key"))] = pops
            elif values:
                options[param["id"]] = tuple(_str(v.get("key")) for v in values)
        for key in options.get("refpanel", ()):
            refpanels.setdefault(key, ())
        return cls(
            id=_str(data.get("id")),
            name=_str(data.get("name")),
            version=_str(data.get("version")),
            params=tuple(params),
            options=options,
            refpanels=refpanels,
            checkboxes=tuple(checkboxes),
        )

    def find_refpanel(self, value: str) -> str | None:
        """The panel key matching ``topmed-r3``, ``apps@topmed-r3`` or ``apps@topmed-r3@1.0.0``."""
        wanted = value.removeprefix("apps@")
        for key in self.refpanels:
            bare = key.removeprefix("apps@")
            if wanted in (bare, bare.split("@", 1)[0]):
                return key
        return None


@dataclass(frozen=True)
class ServerInfo:
    """``GET /api/v2/server``: name, the token's user, maintenance flag and installed apps."""

    name: str
    username: str | None
    maintenance: bool
    maintenance_message: str
    apps: tuple[str, ...]

    @classmethod
    def from_json(cls, data: object) -> ServerInfo:
        if not isinstance(data, dict):
            raise unexpected_answer("an unexpected server description", data)
        user: dict[str, Any] = data["user"] if isinstance(data.get("user"), dict) else {}
        # TIS spells it "maintenance"; upstream Cloudgene 3 has the typo "maintenace".
        maintenance = data.get("maintenance", data.get("maintenace", False))
        message = data.get("maintenanceMessage", data.get("maintenaceMessage"))
        return cls(
            name=_str(data.get("name")),
            username=_str(user.get("username")) or _str(user.get("name")) or None,
            maintenance=maintenance is True or str(maintenance).lower() == "true",
            maintenance_message=_str(message),
            apps=tuple(_str(a.get("id")) for a in _list(data.get("apps")) if isinstance(a, dict)),
        )


@dataclass(frozen=True)
class TokenInfo:
    """``POST /api/v2/tokens/verify``."""

    valid: bool
    message: str
    username: str | None
    expire: datetime | None

    @classmethod
    def from_json(cls, data: object) -> TokenInfo:
        if not isinstance(data, dict):
            raise unexpected_answer("an unexpected token answer", data)
        expire = None
        if isinstance(data.get("expire"), str):
            try:
                expire = datetime.fromisoformat(data["expire"].replace("Z", "+00:00"))
            except ValueError:
                expire = None
        return cls(
            valid=data.get("valid") is True,
            message=_str(data.get("message")),
            username=_str(data.get("username")) or None,
            expire=expire,
        )
