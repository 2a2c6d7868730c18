"""Every import whose path depends on the Airflow version lives here, and only here.

Airflow 3 moved the authoring API to ``airflow.sdk``; 2.10 and 2.11 keep the old paths.
The rest of the provider imports these names from this module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow import __version__ as _airflow_version
from packaging.version import Version

_AIRFLOW_VERSION = Version(Version(_airflow_version).base_version)
AIRFLOW_V_3_0_PLUS = _AIRFLOW_VERSION >= Version("3.0.0")
AIRFLOW_V_3_1_PLUS = _AIRFLOW_VERSION >= Version("3.1.0")

if AIRFLOW_V_3_0_PLUS:
    from airflow.sdk import (
        Asset,
        AssetAlias,
        BaseOperator,
        BaseOperatorLink,
        BaseSensorOperator,
        ObjectStoragePath,
        PokeReturnValue,
    )
    from airflow.sdk.execution_time.xcom import XCom
else:  # Airflow 2.10 / 2.11
    from airflow.datasets import Dataset as Asset  # type: ignore[no-redef]
    from airflow.datasets import DatasetAlias as AssetAlias  # type: ignore[no-redef]
    from airflow.io.path import ObjectStoragePath  # type: ignore[no-redef]
    from airflow.models.baseoperator import BaseOperator  # type: ignore[no-redef]
    from airflow.models.baseoperatorlink import BaseOperatorLink  # type: ignore[no-redef]
    from airflow.models.xcom import XCom  # type: ignore[no-redef]
    from airflow.sensors.base import BaseSensorOperator, PokeReturnValue  # type: ignore[no-redef]

if AIRFLOW_V_3_1_PLUS:
    from airflow.sdk import BaseHook
else:
    from airflow.hooks.base import BaseHook  # type: ignore[no-redef,attr-defined]

try:  # Airflow >= 3.2
    from airflow.sdk.exceptions import (
        AirflowException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        TaskDeferred,
    )
except ImportError:
    from airflow.exceptions import (  # type: ignore[no-redef,attr-defined]
        AirflowException,
        AirflowRescheduleException,
        AirflowSensorTimeout,
        TaskDeferred,
    )

try:  # Airflow >= 3.2
    from airflow.sdk.configuration import conf
except ImportError:
    from airflow.configuration import conf  # type: ignore[no-redef]

from airflow.triggers.base import BaseTrigger, TriggerEvent  # the same path on 2.x and 3.x

if TYPE_CHECKING:
    if AIRFLOW_V_3_0_PLUS:
        from airflow.sdk import Context
    else:
        from airflow.utils.context import Context  # type: ignore[no-redef]

try:  # Airflow >= 3.1
    from airflow.sdk.log import mask_secret
except ImportError:
    try:  # Airflow 3.0
        from airflow.sdk.execution_time.secrets_masker import mask_secret  # type: ignore[no-redef]
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import mask_secret  # type: ignore[no-redef]


async def aget_connection(conn_id: str) -> Any:
    """Read a connection inside an event loop without blocking it (the triggerer's loop)."""
    if hasattr(BaseHook, "aget_connection"):  # Airflow >= 3.1
        return await BaseHook.aget_connection(conn_id)
    import asyncio

    # a thread of the loop's pool: the lookup (environment, secrets backends, database) and what it
    # imports the first time stay off the loop
    return await asyncio.to_thread(BaseHook.get_connection, conn_id)


__all__ = [
    "AIRFLOW_V_3_0_PLUS",
    "AIRFLOW_V_3_1_PLUS",
    "AirflowException",
    "AirflowRescheduleException",
    "BaseHook",
    "aget_connection",
    "mask_secret",
]
