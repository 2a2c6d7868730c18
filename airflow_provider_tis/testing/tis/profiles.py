"""What the simulated server offers: the TOPMed (TIS) and Michigan (MIS) profiles."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Profile:
    """A server flavour.

    :param panels: reference panel key (``apps@<id>@<version>``) -> (label, populations).
    :param maintenance_key: TIS says ``maintenance``; upstream Cloudgene 3 misspells it ``maintenace``.
    :param typed_server: TIS answers ``/api/v2/server`` with a typed record (``ServerResponse.java``: the
        look of its web page, the email rules, deprecated and experimental apps); upstream sends ad-hoc JSON.
    """

    name: str
    server_name: str
    app_id: str
    app_name: str
    app_version: str
    panels: dict[str, tuple[str, tuple[str, ...]]]
    phasing: tuple[str, ...]
    maintenance_key: str
    typed_server: bool = False

    @property
    def application(self) -> str:
        return f"{self.app_name} {self.app_version}"

    def resolve_panel(self, value: str) -> str | None:
        """Cloudgene strips ``apps@`` and resolves a bare id to the latest version."""
        wanted = value.removeprefix("apps@")
        for key in self.panels:
            bare = key.removeprefix("apps@")
            if wanted in (bare, bare.split("@", 1)[0]):
                return key
        return None

    def app_json(self) -> dict[str, Any]:
        """``GET /api/v2/server/apps/{app}`` as WdlAppResponse renders it."""

        def param(
            pid: str, kind: str, values: list[dict[str, Any]] | None = None, **more: Any
        ) -> dict[str, Any]:
            return {
                "id": pid,
                "description": pid,
                "type": kind,
                "value": more.pop("value", None),
                "visible": True,
                "required": more.pop("required", False),
                "adminOnly": False,
                "values": values or [],
                **more,
            }

        def options(*pairs: tuple[str, str]) -> list[dict[str, Any]]:
            return [{"key": key, "value": label, "enabled": True} for key, label in pairs]

        panels = [(key, label) for key, (label, _) in self.panels.items()]
        populations = [
            {"key": key, "label": label, "values": options(*((p, p.upper()) for p in pops))}
            for key, (label, pops) in self.panels.items()
        ]
        return {
            "id": self.app_id,
            "name": self.app_name,
            "version": self.app_version,
            "description": "Genotype imputation (simulated)",
            "author": "airflow-provider-tis simulator",
            "submitButton": "Start Imputation",
            "s3Workspace": True,
            "params": [
                param("files", "local_folder", required=True),
                param("refpanel", "app_list", options(*panels), required=True, category="RefPanel"),
                param("population", "binded_list", populations, bind="refpanel", required=True),
                param(
                    "build", "list", options(("hg19", "GRCh37/hg19"), ("hg38", "GRCh38/hg38")), value="hg19"
                ),
                param(
                    "r2Filter",
                    "list",
                    options(*((v, v) for v in ("0", "0.001", "0.1", "0.2", "0.3"))),
                    value="0",
                ),
                param("phasing", "list", options(*((p, p) for p in self.phasing)), value="eagle"),
                param(
                    "mode",
                    "list",
                    options(("qc_only", "Quality Control Only"), ("imputation", "Imputation")),
                    value="imputation",
                ),
                param("aesEncryption", "checkbox", options(("true", "yes"), ("false", "no")), value="false"),
                param("meta", "checkbox", options(("true", "yes"), ("false", "no")), value="false"),
                param("password", "text"),
                param("check1", "terms_checkbox"),
                param("check2", "terms_checkbox"),
            ],
        }


TIS = Profile(
    name="tis",
    server_name="TOPMed Imputation Server",
    app_id="imputationserver2",
    app_name="Genotype Imputation",
    app_version="2.0.13-statgen.1",
    panels={"apps@topmed-r3@1.0.0": ("TOPMed r3", ("all", "off"))},
    phasing=("eagle", "no_phasing"),
    maintenance_key="maintenance",
    typed_server=True,
)

MICHIGAN = Profile(
    name="michigan",
    server_name="Michigan Imputation Server 2",
    app_id="imputationserver2",
    app_name="Genotype Imputation",
    app_version="2.0.12",
    panels={
        "apps@hapmap-2@2.0.0": ("HapMap 2", ("eur", "afr", "asn", "mixed")),
        "apps@1000g-phase-3-v5@2.0.0": ("1000G Phase 3 v5", ("afr", "amr", "eas", "sas", "eur", "mixed")),
        "apps@1000g-phase-1@2.0.0": ("1000G Phase 1 v3", ("afr", "amr", "asn", "eur", "mixed")),
        "apps@hrc-r1.1@2.0.0": ("HRC r1.1 2016", ("eur", "mixed")),
        "apps@cappa@2.0.0": ("CAAPA", ("AA", "mixed")),
        "apps@genome-asia-panel@2.0.0": ("GenomeAsia Pilot", ("asn", "mixed")),
    },
    phasing=("eagle", "beagle", "no_phasing"),
    maintenance_key="maintenace",
)

PROFILES = {profile.name: profile for profile in (TIS, MICHIGAN)}
