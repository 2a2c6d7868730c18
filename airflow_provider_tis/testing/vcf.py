"""Old path, kept so existing imports work: the code lives in :mod:`airflow_provider_tis.testing.tis.vcf`."""

from __future__ import annotations

from airflow_provider_tis.testing.tis.vcf import (
    BGZF_MAGIC,
    VcfError,
    VcfSummary,
    inspect_vcf,
    vcf_text,
    write_bgzf,
    write_vcf,
)

__all__ = ["BGZF_MAGIC", "VcfError", "VcfSummary", "inspect_vcf", "vcf_text", "write_bgzf", "write_vcf"]
