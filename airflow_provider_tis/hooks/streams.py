"""Moved to :mod:`airflow_provider_tis.core.upload` and :mod:`airflow_provider_tis.core.download`."""

from airflow_provider_tis.core.download import Download as TisDownload
from airflow_provider_tis.core.upload import MultipartBody, SizedReader, UploadSource

__all__ = ["MultipartBody", "SizedReader", "TisDownload", "UploadSource"]
