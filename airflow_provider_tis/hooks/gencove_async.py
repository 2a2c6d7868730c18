"""The triggers' view of Gencove (:class:`AsyncGencoveClient`), and what the sync hook and it share: the
sample list's filters and its page walk (limit/offset, §3.1).

A wait on many samples of one project reads the project's sample list page by page (200 samples a
request), never one request per sample: :func:`fingerprint_lister` is a
:class:`~airflow_provider_tis.core.coalesce.PollGroup` lister.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.core.answers import parse_json
from airflow_provider_tis.core.http import AsyncHttpClient
from airflow_provider_tis.hooks.gencove_errors import GencoveConfigError, GencoveResponseError, check_uuid
from airflow_provider_tis.hooks.gencove_models import GencoveSample, Page

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping

PAGE_LIMIT = 200  # what the CLI asks (§3.6); the service may cut it, and the walk follows its answer
MAX_PAGES = 10_000  # a service whose "next" never ends stops here
#: The list filters of ``/project-samples/{id}`` (GOAS enums, §3.3), checked before a request.
STATUS_FILTERS = ("all", "completed", "failed", "running", "succeeded")
ARCHIVE_FILTERS = ("all", "archived", "available", "restore_requested")
#: Oldest first: a sample created while the pages are read lands on a later page instead of shifting the
#: ones not read yet by one (newest-first, the default, would skip one sample per new sample).
SAMPLE_ORDER = {"sort_by": "created", "sort_order": "asc"}


def sample_filters(status: str | None, archive_status: str | None, search: str | None) -> dict[str, str]:
    """The query of a sample list, each filter checked against the service's choices (no request sent)."""
    params = dict(SAMPLE_ORDER)
    for name, value, allowed in (
        ("status", status, STATUS_FILTERS),
        ("archive_status", archive_status, ARCHIVE_FILTERS),
    ):
        if value is not None:
            if value not in allowed:
                raise GencoveConfigError(f"{name} must be one of {', '.join(allowed)}; got {value!r}.")
            params[name] = value
    if search:
        params["search"] = search
    return params


def next_offset(page: Page, offset: int) -> int | None:
    """Where the next page starts, or None after the last. The walk counts offsets itself rather than
    following ``next``: that link is absolute, and the API key must go to the configured host only."""
    if page.next is None or not page.results:
        return None
    return offset + len(page.results)


def too_many_pages(what: str) -> GencoveResponseError:
    return GencoveResponseError(f"Gencove listed {what} over more than {MAX_PAGES} pages; stopped there.")


class AsyncGencoveClient(AsyncHttpClient):
    """The triggers' view of the API: ``async with await hook.async_client() as client:``."""

    async def _json(self, method: str, path: str, action: str, **kwargs: Any) -> Any:
        response = await self.request(method, path, action=action, **kwargs)
        return parse_json(response, action, self.endpoint.secret, self.endpoint.errors)

    async def _pages(self, path: str, params: Mapping[str, Any], what: str) -> list[Any]:
        offset: int | None = 0
        found: list[Any] = []
        for _ in range(MAX_PAGES):
            if offset is None:
                return found
            query = {**params, "limit": PAGE_LIMIT, "offset": offset}
            page = Page.from_json(await self._json("GET", path, f"list {what}", params=query), what)
            found.extend(page.results)
            offset = next_offset(page, offset)
        raise too_many_pages(what)

    async def get_sample(self, sample_id: str) -> GencoveSample:
        """A sample with its files (``GET /samples/{id}``)."""
        sample_id = check_uuid(sample_id, "sample_id")
        return GencoveSample.from_json(
            await self._json("GET", f"/samples/{sample_id}", f"get sample {sample_id}")
        )

    async def cancel_samples(self, project_id: str, sample_ids: Iterable[str]) -> list[str]:
        """Cancel samples still being analysed, at most 20 per call as the sync hook does (§3.3); the ids
        sent. Never retried: a cancel the service received must not be sent again."""
        from airflow_provider_tis.hooks.gencove import CANCEL_MAX  # the hook imports this module

        project_id = check_uuid(project_id, "project_id")
        ids = list(dict.fromkeys(check_uuid(s, "sample_ids") for s in sample_ids))
        for start in range(0, len(ids), CANCEL_MAX):
            batch = ids[start : start + CANCEL_MAX]
            path = f"/project-cancel-samples/{project_id}"
            await self.request(
                "POST", path, action=f"cancel {len(batch)} samples", json={"sample_ids": batch}, retry=False
            )
        return ids

    async def project_samples(
        self,
        project_id: str,
        *,
        status: str | None = None,
        archive_status: str | None = None,
        search: str | None = None,
    ) -> dict[str, GencoveSample]:
        """Every sample of a project by id, read page by page (one request per 200 samples).

        :param project_id: the project (a UUID).
        :param status: only samples of this analysis filter (``all``, ``completed``, ``failed``, ...).
        :param archive_status: only samples of this archive filter (``archived``, ``available``, ...).
        :param search: only samples whose id, client id or metadata contains this text.
        """
        project_id = check_uuid(project_id, "project_id")
        params = sample_filters(status, archive_status, search)
        what = f"the samples of project {project_id}"
        items = await self._pages(f"/project-samples/{project_id}", params, what)
        samples = (GencoveSample.from_json(item) for item in items)
        return {sample.id: sample for sample in samples}

    async def sample_fingerprints(
        self, project_id: str, sample_ids: Iterable[str] | None = None
    ) -> dict[str, tuple[str, str, str]]:
        """Each sample's :attr:`~GencoveSample.fingerprint` (status, archive status, note), from the
        project's sample list (one request per page, whatever the number of samples waited on).

        :param project_id: the project the samples are in.
        :param sample_ids: only these (None: every sample of the project). A sample the list does not
            show is left out, so its waiting trigger reads it alone.
        """
        wanted = None if sample_ids is None else {check_uuid(s, "sample_ids") for s in sample_ids}
        samples = await self.project_samples(project_id)
        return {
            sample_id: sample.fingerprint
            for sample_id, sample in samples.items()
            if wanted is None or sample_id in wanted
        }


@functools.cache
def fingerprint_lister(
    project_id: str,
) -> Callable[[AsyncGencoveClient, list[str]], Awaitable[Mapping[str, Hashable]]]:
    """The :class:`~airflow_provider_tis.core.coalesce.PollGroup` lister of one project, called as
    ``lister(client, ids)``. The same callable for the same project (a poll group is found by its lister),
    so every trigger waiting on samples of that project shares one listing per interval."""
    project_id = check_uuid(project_id, "project_id")

    async def lister(client: AsyncGencoveClient, sample_ids: list[str]) -> Mapping[str, Hashable]:
        return await client.sample_fingerprints(project_id, sample_ids)

    return lister
