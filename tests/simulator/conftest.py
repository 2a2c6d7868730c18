"""Helpers for testing the simulator itself with plain HTTP (requests), not through the hook."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests

from airflow_provider_tis.testing import CgiSimulator, TisSimulator, write_mutations, write_vcf


@pytest.fixture
def cgi():
    """A CGI simulator whose jobs take 0.3 s."""
    with CgiSimulator(run_seconds=0.3) as simulator:
        yield simulator


@pytest.fixture
def mutations(tmp_path: Path) -> Path:
    """A valid CGI mutations file (five hotspots, no sample column)."""
    return write_mutations(tmp_path / "variants.txt")


@pytest.fixture
def sim():
    with TisSimulator(run_seconds=0.3, export_seconds=0.1, cancel_settle_seconds=0.3) as simulator:
        yield simulator


@pytest.fixture
def vcf(tmp_path: Path) -> Path:
    return write_vcf(tmp_path / "chr20.vcf.gz", chromosomes=("20",))


def api(
    sim: TisSimulator, path: str, *, token: str | None = "default", method: str = "GET", **kwargs
) -> requests.Response:
    headers = kwargs.pop("headers", {})
    if token:
        headers["X-Auth-Token"] = sim.token if token == "default" else token
    return requests.request(
        method, f"{sim.url}{path}", headers=headers, timeout=10, allow_redirects=False, **kwargs
    )


def submit(
    sim: TisSimulator,
    paths: list[Path] | tuple[Path, ...] = (),
    *,
    app: str = "imputationserver2",
    token="default",
    **fields,
) -> requests.Response:
    fields.setdefault("refpanel", "apps@topmed-r3@1.0.0")
    fields.setdefault("population", "all")
    parts = [(k, (None, str(v))) for k, v in fields.items() if v is not None]  # always multipart
    parts += [("files", (p.name, p.read_bytes())) for p in paths]
    return api(sim, f"/api/v2/jobs/submit/{app}", token=token, method="POST", files=parts)


def submit_ok(sim: TisSimulator, paths, **fields) -> str:
    response = submit(sim, paths, **fields)
    assert response.status_code == 200, response.text
    return response.json()["id"]


def job(sim: TisSimulator, job_id: str, token="default") -> dict:
    response = api(sim, f"/api/v2/jobs/{job_id}", token=token)
    assert response.status_code == 200, response.text
    return response.json()
