"""Helpers for testing the CGI simulator with plain HTTP (requests), as a client of the real service would."""

from __future__ import annotations

import io
import zipfile
from typing import TYPE_CHECKING

import requests

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing import CgiSimulator


def auth(sim: CgiSimulator, token: str | None = None, email: str | None = None) -> dict[str, str]:
    return {"Authorization": f"{email or sim.email} {token or sim.token}"}


def call(
    sim: CgiSimulator, method: str, path: str = "", *, headers: dict | None = None, **kwargs
) -> requests.Response:
    """``method`` on ``/api/v1{path}`` with the account's credentials unless ``headers`` are given."""
    return requests.request(
        method,
        f"{sim.api_url}{path}",
        headers=auth(sim) if headers is None else headers,
        timeout=10,
        **kwargs,
    )


def submit(
    sim: CgiSimulator,
    files: dict[str, Path] | None = None,
    *,
    headers: dict | None = None,
    **fields: str | None,
) -> requests.Response:
    """POST a job: ``files`` by part name; ``cancer_type`` CANCER and ``reference`` hg19 unless given
    (pass None to leave a field out)."""
    form = {"cancer_type": "CANCER", "reference": "hg19", **fields}
    data = {k: v for k, v in form.items() if v is not None}
    parts = {name: (path.name, path.read_bytes()) for name, path in (files or {}).items()}
    if not parts:  # still multipart/form-data, like a browser form with no file chosen
        parts = {"title_part": (None, "x")}
    return call(sim, "POST", headers=headers, data=data, files=parts)


def submit_ok(sim: CgiSimulator, files: dict[str, Path], **fields: str | None) -> str:
    response = submit(sim, files, **fields)
    assert response.status_code == 200, response.text
    job_id = response.json()
    assert isinstance(job_id, str)
    return job_id


def status(sim: CgiSimulator, job_id: str) -> dict:
    response = call(sim, "GET", f"/{job_id}")
    assert response.status_code == 200, response.text
    return response.json()


def logs(sim: CgiSimulator, job_id: str) -> dict:
    response = call(sim, "GET", f"/{job_id}", params={"action": "logs"})
    assert response.status_code == 200, response.text
    return response.json()


def download(sim: CgiSimulator, job_id: str, **kwargs) -> requests.Response:
    return call(sim, "GET", f"/{job_id}", params={"action": "download"}, **kwargs)


def members(body: bytes) -> dict[str, str]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name).decode() for name in archive.namelist()}
