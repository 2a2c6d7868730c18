"""Every import whose path depends on the Airflow version lives here, and only here.

Airflow 3 moved the authoring API to ``airflow.sdk``; 2.10 and 2.11 keep the old paths.
The rest of the provider imports these names from this module.
"""

from __future__ import annotations

from airflow import __version__ as _airflow_version
from packaging.version import Version

_AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3_0_PLUS = _AIRFLOW_VERSION >= Version("3.0.0")
AIRFLOW_V_3_1_PLUS = _AIRFLOW_VERSION >= Version("3.1.0")

if AIRFLOW_V_3_1_PLUS:
    from airflow.sdk import BaseHook
else:
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]

try:  # Airflow >= 3.2
    from airflow.sdk.exceptions import AirflowException
except ImportError:
    from airflow.exceptions import AirflowException  # type: ignore[no-redef,attr-defined]

try:  # Airflow >= 3.1
    from airflow.sdk.log import mask_secret
except ImportError:
    try:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]

__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AirflowException",
    "BaseHook",
    "mask_secret",
]
