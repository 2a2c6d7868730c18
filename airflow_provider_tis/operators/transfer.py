"""Moved: the transfer engine is :mod:`airflow_provider_tis.core.download`, paths :mod:`.core.files`."""

from airflow_provider_tis.core.download import fetch
from airflow_provider_tis.core.files import (
    STALE_PART_SECONDS,
    PartialFile,
    destination_root,
    is_local,
    make_private_dirs,
    safe_relative_name,
    write_atomically,
)
from airflow_provider_tis.core.progress import ProgressLog
from airflow_provider_tis.hooks.tis_errors import TisTransferError

__all__ = [
    "STALE_PART_SECONDS",
    "PartialFile",
    "ProgressLog",
    "TisTransferError",
    "destination_root",
    "fetch",
    "is_local",
    "make_private_dirs",
    "safe_relative_name",
    "write_atomically",
]
