"""What a route of the simulated API gets (:class:`Call`) and gives back (:class:`Answer`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing.gencove.errors import invalid, not_found

if TYPE_CHECKING:
    from airflow_provider_tis.testing.gencove.records import Project, Sample
    from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator


@dataclass
class Answer:
    """A route's answer: JSON ``body`` (or ``text`` with ``content_type``) with ``status``."""

    body: Any = None
    status: int = 200
    text: str | None = None
    content_type: str = "application/json"


@dataclass
class Call:
    """One authenticated request to a route.

    :param sim: the simulator.
    :param id: the UUID in the path, if the route has one.
    :param query: query parameters (the last value of each).
    :param url: the request's absolute URL (``next`` links are built from it).
    :param body: the parsed JSON (or form) body of a POST, else None.
    :param extra: fields for the request log entry (``job_state``, ``fields``).
    """

    sim: GencoveSimulator
    id: str
    query: dict[str, str]
    url: str
    body: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def project(self, project_id: str | None = None) -> Project:
        """The project named by the path (or ``project_id``); 404 if there is none."""
        project = self.sim.jobs.projects.get(project_id or self.id)
        if project is None:
            raise not_found()
        return project

    def sample(self) -> Sample:
        """The sample named by the path, as the clock has it now; 404 if there is none."""
        with self.sim.jobs.lock:
            self.sim.jobs.advance()
            sample = self.sim.jobs.jobs.get(self.id)
            if sample is None:
                raise not_found()
            self.extra["job_state"] = sample.status
            return sample

    def field(self, name: str, *, required: bool = True, default: Any = None) -> Any:
        """A field of the JSON body; DRF's 400 when a required one is missing or null."""
        body = self.body if isinstance(self.body, dict) else {}
        if name not in body:
            if required:
                raise invalid(name, "This field is required.")
            return default
        if body[name] is None and required:
            raise invalid(name, "This field may not be null.")
        return body[name]

    def text_field(self, name: str) -> str:
        value = self.field(name)
        if not isinstance(value, str):
            raise invalid(name, "Not a valid string.")
        if not value.strip():
            raise invalid(name, "This field may not be blank.")
        return value

    def id_list(self, name: str, *, max_items: int | None = None, allow_empty: bool = True) -> list[str]:
        """A list of ids in the body, with DRF's ``ListField`` messages."""
        value = self.field(name)
        if not isinstance(value, list):
            raise invalid(name, f'Expected a list of items but got type "{type(value).__name__}".')
        if not value and not allow_empty:
            raise invalid(name, "This list may not be empty.")
        if max_items is not None and len(value) > max_items:
            raise invalid(name, f"Ensure this field has no more than {max_items} elements.")
        return [str(item) for item in value]
