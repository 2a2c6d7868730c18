"""GencoveSimulator: a local Gencove API v2 on 127.0.0.1, for tests and demos."""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
from dataclasses import replace
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote

from airflow_provider_tis.testing.core.faults import Faults
from airflow_provider_tis.testing.core.simulator import SimulatorBase
from airflow_provider_tis.testing.core.store import ConcurrencyGauge
from airflow_provider_tis.testing.gencove.config import GencoveConfig
from airflow_provider_tis.testing.gencove.files import DELIVERABLES, INPUT_TYPES, fastq_bytes
from airflow_provider_tis.testing.gencove.keys import KeyRing, utc_day
from airflow_provider_tis.testing.gencove.records import SampleFile, iso, new_id
from airflow_provider_tis.testing.gencove.samples import SampleTable
from airflow_provider_tis.testing.gencove.server import ROUTES, make_servers

if TYPE_CHECKING:
    from pathlib import Path

    from airflow_provider_tis.testing.gencove.records import Sample

#: The bucket the store serves sample files from [I].
BUCKET = "gencove-sim-deliverables"
DEFAULT_CAPABILITY = ("Human low-pass imputation (simulated) v1", "human_lowpass_v1")


class GencoveSimulator(SimulatorBase):
    """A faithful local Gencove API v2 (see ``shared/gencove-api.md`` §3), as a real HTTP server.

    The API is at ``{url}/api/v2``; every call needs ``Authorization: Api-Key <key>``. Sample files
    download from a second server (an S3-like store) through pre-signed, expiring links. One project,
    :attr:`project_id`, exists from the start. Use it as a context manager::

        with GencoveSimulator(stage_seconds=0.1) as sim:
            os.environ["AIRFLOW_CONN_GENCOVE_DEFAULT"] = sim.connection_json()
            ...

    :param config: timings and limits (:class:`~.config.GencoveConfig`); keyword arguments override
        single fields of it (``stage_seconds``, ``link_ttl``, ``archive_after``, ``page_size``, ...).
    :param port: API port (0 picks a free one).
    :param store_port: file store port (0 picks a free one).
    :param api_key: the account's API key (default: a new random one).
    :param email: the account's email (``GET /user/``).
    :param workdir: where uploads and sample files go (a temporary folder, removed on stop, by default).
    """

    def __init__(
        self,
        *,
        config: GencoveConfig | None = None,
        port: int = 0,
        store_port: int = 0,
        api_key: str | None = None,
        email: str = "alice@example.org",
        workdir: str | Path | None = None,
        **config_fields: Any,
    ) -> None:
        super().__init__(workdir, "gencove-sim-")
        self.config = replace(config or GencoveConfig(), **config_fields)
        self.faults = Faults(ROUTES)
        self.secret = secrets.token_bytes(32)
        self.store_gauge = ConcurrencyGauge()
        self.jobs = SampleTable(self.config, self.workdir)
        self.created = self.now()
        self.account: dict[str, Any] = {
            "id": new_id(),
            "email": email,
            "name": "Alice Example",
            "uploads_enabled": True,
            "explorer_enabled": False,
            "is_support": False,
        }
        self.keys = KeyRing()
        self.api_key = self.keys.create(self.now(), name="default", key=api_key).key
        #: What clients asked to import (URL, S3 URI, upload credentials), newest last.
        self.imports: list[dict[str, Any]] = []
        #: Client ids an S3 URI import finds, by URI (see :meth:`add_s3_objects`).
        self.s3_objects: dict[str, list[str]] = {}
        self._maintenance: tuple[str, float] | None = None
        self.capability_id = self.jobs.add_capability(*DEFAULT_CAPABILITY, (*INPUT_TYPES, *DELIVERABLES)).id
        self.project_id = self.add_project("Simulated project", description="The default project")
        self._ports = (port, store_port)
        self.url = self.store_url = ""

    # -- running ------------------------------------------------------------------------------

    def start(self) -> GencoveSimulator:
        """Start serving; :attr:`url` is then ``http://127.0.0.1:<port>`` (the API is under ``/api/v2``)."""
        api, store = make_servers(self, *self._ports)
        self.url = f"http://127.0.0.1:{api.server_address[1]}"
        self.store_url = f"http://127.0.0.1:{store.server_address[1]}"
        self.serve(api, store)
        return self

    @property
    def api_url(self) -> str:
        """The API root, ``{url}/api/v2``."""
        return f"{self.url}/api/v2"

    def connection_json(self, api_key: str | None = None, **extra: Any) -> str:
        """A ready ``AIRFLOW_CONN_<ID>`` value: conn_type ``gencove``, host = :attr:`url` (the root; the
        API is at ``/api/v2`` under it), password = the API key, extra = ``extra``."""
        connection: dict[str, Any] = {
            "conn_type": "gencove",
            "host": self.url,
            "password": api_key or self.api_key,
        }
        if extra:
            connection["extra"] = extra
        return json.dumps(connection)

    # -- API keys -----------------------------------------------------------------------------

    def add_api_key(
        self, *, name: str = "test", expiry_date: date | None = None, ip_range: list[str] | None = None
    ) -> str:
        """Another key of the account.

        :param expiry_date: the last UTC day it works (None: never expires).
        :param ip_range: CIDR networks it may be used from (None: any; 127.0.0.1 is the client here).
        """
        return self.keys.create(self.now(), name=name, expiry_date=expiry_date, ip_range=ip_range).key

    def expire_key(self, key: str | None = None) -> None:
        """Make a key (default :attr:`api_key`) expired: its last day becomes yesterday (401)."""
        self.keys.keys[key or self.api_key].expiry_date = utc_day(self.now()) - timedelta(days=1)

    def restrict_key(self, ip_range: list[str] | None, key: str | None = None) -> None:
        """Set a key's IP allow-list (e.g. ``["10.0.0.0/8"]``: 127.0.0.1 then gets 403; None: any)."""
        self.keys.keys[key or self.api_key].ip_range = ip_range

    def revoke_key(self, key: str | None = None) -> None:
        """Revoke a key for good (401)."""
        self.keys.keys[key or self.api_key].revoked = True

    # -- the world ----------------------------------------------------------------------------

    def add_project(self, name: str, *, description: str = "", capability_id: str | None = None) -> str:
        """A new project (with the default pipeline capabilities unless named); its id."""
        capability = self.jobs.capabilities[capability_id or self.capability_id]
        return self.jobs.add_project(name, capability, description).id

    def add_sample(
        self,
        client_id: str,
        *,
        project_id: str | None = None,
        finished: bool = True,
        outcome: str | None = None,
        metadata: Any = None,
    ) -> str:
        """Put a sample straight into a project (no upload); its id.

        :param finished: assigned long enough ago to have ended (else it starts now).
        :param outcome: ``succeeded``, ``failed`` or ``failed qc`` (default: from the client id patterns).
        """
        folder = self.workdir / "seeded"
        folder.mkdir(parents=True, exist_ok=True)
        inputs = {}
        for read in ("r1", "r2"):
            path = folder / f"{new_id()}.fastq.gz"
            path.write_bytes(fastq_bytes(client_id, read))
            inputs[f"fastq-{read}"] = path
        start = self.now() - 4 * self.config.stage_seconds - 1 if finished else None
        project = self.jobs.projects[project_id or self.project_id]
        return self.jobs.create_sample(
            project, client_id, inputs, start=start, metadata=metadata, outcome=outcome
        ).id

    def sample(self, sample_id: str) -> Sample:
        """A sample as the clock has it now (KeyError if there is none)."""
        return self.job(sample_id)

    def samples(self, project_id: str | None = None) -> list[Sample]:
        """The samples of a project (default: :attr:`project_id`)."""
        return self.jobs.in_project(project_id or self.project_id)

    def wait_for_status(self, sample_id: str, *statuses: str, timeout: float = 30) -> Sample:
        """Wait until a sample's analysis status is one of ``statuses`` (default: any end status)."""
        wanted = statuses or ("succeeded", "failed", "failed qc", self.config.cancel_status)
        return self.wait_for(sample_id, "status", tuple(wanted), timeout)

    def archive(self, sample_id: str) -> None:
        """Archive a finished sample's files now: the API then shows no ``download_url`` and the store
        refuses its links."""
        self.jobs.archive(sample_id)

    def add_s3_objects(self, s3_uri: str, client_ids: list[str]) -> None:
        """Make ``POST /s3-uri-import/`` of ``s3_uri`` find R1/R2 FASTQs of these client ids."""
        self.s3_objects[s3_uri] = list(client_ids)

    def complete_upload(self, upload_id: str, data: bytes | None = None) -> None:
        """Finish an upload a client put into S3 itself (``uploads-post-data``), with ``data`` as its bytes."""
        self.jobs.uploads.complete(upload_id, data)

    # -- maintenance --------------------------------------------------------------------------

    def start_maintenance(self, seconds: float = 600, message: str = "Gencove is under maintenance.") -> None:
        """Answer every API call 503 with a maintenance body until the clock passes the ETA (§3.5)."""
        self._maintenance = (message, self.now() + seconds)

    def end_maintenance(self) -> None:
        self._maintenance = None

    def maintenance_body(self) -> dict[str, Any] | None:
        """The 503 body while in maintenance, else None."""
        if self._maintenance is None or self.now() >= self._maintenance[1]:
            return None
        message, eta = self._maintenance
        return {"maintenance": True, "maintenance_message": message, "maintenance_eta": iso(eta)}

    # -- the file store -----------------------------------------------------------------------

    def presign(self, sample_file: SampleFile) -> str:
        """A fresh pre-signed link to a sample file, valid for ``link_ttl`` seconds (§3.4)."""
        path = f"/{BUCKET}/{quote(sample_file.s3_path)}"
        expires = f"{self.now() + self.config.link_ttl:.3f}"
        signature = hmac.new(self.secret, f"{path}|{expires}".encode(), hashlib.sha256).hexdigest()
        disposition = quote(f"attachment; filename={sample_file.filename}", safe="")
        return (
            f"{self.store_url}{path}?response-content-disposition={disposition}"
            f"&X-Amz-Expires-At={expires}&X-Amz-Signature={signature}"
        )

    def _object(self, path: str) -> tuple[Sample, SampleFile] | None:
        prefix = f"/{BUCKET}/"
        with self.jobs.lock:
            for sample in self.jobs.jobs.values():
                for sample_file in sample.files:
                    if prefix + sample_file.s3_path == path:
                        return sample, sample_file
        return None

    def stored_file(self, path: str) -> SampleFile | None:
        """The file at a store path (for the store)."""
        found = self._object(path)
        return found[1] if found else None

    def archived_object(self, path: str) -> bool:
        """Whether the store path is a file of a sample whose files are archived (or still being
        restored): only ``available`` and ``restored`` samples can be downloaded (§3.3)."""
        with self.jobs.lock:
            self.jobs.advance()
            found = self._object(unquote(path))
            return found is not None and not found[0].downloadable

    def file(self, file_id: str) -> SampleFile | None:
        """A sample file by id."""
        with self.jobs.lock:
            return next((f for s in self.jobs.jobs.values() for f in s.files if f.id == file_id), None)
