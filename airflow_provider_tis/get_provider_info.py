"""Provider metadata read by Airflow's ProvidersManager through the ``apache_airflow_provider`` entry point.

Kept free of imports (but the version string): Airflow >= 3.2 builds the connection form from this dict without importing the hook,
and the hook's legacy form methods (Airflow < 3.2) are derived from the same dict.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_tis import __version__

CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "verify": {
        "label": "Verify TLS",
        "description": "true (default), false, or the path of a CA bundle file.",
        "schema": {"type": ["string", "null"], "default": "true"},
    },
    "timeout": {
        "label": "Timeout (s)",
        "description": "Read timeout of API calls in seconds (default 60).",
        "schema": {"type": ["number", "null"], "minimum": 1},
    },
    "app": {
        "label": "App id",
        "description": "Imputation app to submit to (default imputationserver2).",
        "schema": {"type": ["string", "null"], "default": "imputationserver2"},
    },
    "max_active_jobs": {
        "label": "Max active jobs",
        "description": "The server's limit of your queued plus running jobs (TIS: 3).",
        "schema": {"type": ["integer", "null"], "minimum": 1, "default": 3},
    },
}

UI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"host": "Server URL", "password": "API token"},
    "placeholders": {
        "host": "https://imputation.biodatacatalyst.nhlbi.nih.gov",
        "password": "token from Profile > API Access on the server",
    },
}


CGI_CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "verify": CONNECTION_FIELDS["verify"],
    "timeout": CONNECTION_FIELDS["timeout"],
}

CGI_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "port"],
    "relabeling": {"host": "Server URL", "login": "Account email", "password": "API token"},
    "placeholders": {
        "host": "https://www.cancergenomeinterpreter.org",
        "login": "the email of your CGI account",
        "password": "token from your CGI account page",
    },
}

SEVENBRIDGES_CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "project": {
        "label": "Default project",
        "description": "The project tasks and files use when none is given: owner/project, as in its URL.",
        "schema": {"type": ["string", "null"], "pattern": r"^[^/\s]+/[^/\s]+$"},
    },
    "verify": CONNECTION_FIELDS["verify"],
    "timeout": CONNECTION_FIELDS["timeout"],
}

SEVENBRIDGES_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"host": "API base URL", "password": "Auth token"},
    "placeholders": {
        "host": "https://api.sb.biodatacatalyst.nhlbi.nih.gov/v2",
        "password": "token from Developer > Auth token on the platform",
        "project": "owner/project",
    },
}

GENCOVE_CONNECTION_FIELDS: dict[str, dict[str, Any]] = {
    "verify": CONNECTION_FIELDS["verify"],
    "timeout": CONNECTION_FIELDS["timeout"],
}

GENCOVE_FIELD_BEHAVIOUR: dict[str, Any] = {
    "hidden-fields": ["schema", "login", "port"],
    "relabeling": {"host": "API host", "password": "API key"},
    "placeholders": {
        "host": "https://api.gencove.com (EU: https://api.eu1.gencove.com)",
        "password": "key from Account > API keys on web.gencove.com",
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-tis",
        "versions": [__version__],
        "name": "TOPMed Imputation Server",
        "description": "Run genotype imputation on the TOPMed and Michigan Imputation Servers "
        "(Cloudgene 3 API), and tumour interpretation on the Cancer Genome Interpreter, from Airflow.",
        "connection-types": [
            {
                "connection-type": "tis",
                "hook-class-name": "airflow_provider_tis.hooks.tis.TisHook",
                "hook-name": "TOPMed / Michigan Imputation Server",
                "ui-field-behaviour": UI_FIELD_BEHAVIOUR,
                "conn-fields": CONNECTION_FIELDS,
            },
            {
                "connection-type": "cgi",
                "hook-class-name": "airflow_provider_tis.hooks.cgi.CgiHook",
                "hook-name": "Cancer Genome Interpreter",
                "ui-field-behaviour": CGI_FIELD_BEHAVIOUR,
                "conn-fields": CGI_CONNECTION_FIELDS,
            },
            {
                "connection-type": "sevenbridges",
                "hook-class-name": "airflow_provider_tis.hooks.sevenbridges.SevenBridgesHook",
                "hook-name": "Seven Bridges / BioData Catalyst",
                "ui-field-behaviour": SEVENBRIDGES_FIELD_BEHAVIOUR,
                "conn-fields": SEVENBRIDGES_CONNECTION_FIELDS,
            },
            {
                "connection-type": "gencove",
                "hook-class-name": "airflow_provider_tis.hooks.gencove.GencoveHook",
                "hook-name": "Gencove",
                "ui-field-behaviour": GENCOVE_FIELD_BEHAVIOUR,
                "conn-fields": GENCOVE_CONNECTION_FIELDS,
            },
        ],
        "extra-links": [
            "airflow_provider_tis.operators.submit.TisJobLink",
            "airflow_provider_tis.operators.cgi.CgiJobLink",
            "airflow_provider_tis.operators.sevenbridges.SevenBridgesTaskLink",
        ],
    }
