"""How a service's job state becomes what a waiting task does: wait, succeed or fail."""

from __future__ import annotations

from enum import Enum
from typing import Protocol


class Outcome(Enum):
    WAIT = "wait"
    SUCCESS = "success"
    FAILED = "failed"


class JobStatus(Protocol):
    """A service's state enum: it knows whether it is over, and whether it went well."""

    @property
    def is_terminal(self) -> bool: ...

    @property
    def is_success(self) -> bool: ...


def outcome_of(state: JobStatus) -> Outcome:
    """WAIT until the state is terminal; then SUCCESS or FAILED."""
    if not state.is_terminal:
        return Outcome.WAIT
    return Outcome.SUCCESS if state.is_success else Outcome.FAILED
