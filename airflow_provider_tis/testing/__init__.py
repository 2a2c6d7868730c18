"""A faithful local TOPMed Imputation Server for tests, demos and users' own DAG tests.

It depends on the standard library (plus ``cryptography``, which Airflow installs, for AES zips).
"""

from __future__ import annotations

from airflow_provider_tis.testing.faults import RequestRecord
from airflow_provider_tis.testing.jobs import SimConfig
from airflow_provider_tis.testing.profiles import MICHIGAN, TIS, Profile
from airflow_provider_tis.testing.simulator import TisSimulator
from airflow_provider_tis.testing.vcf import write_vcf

__all__ = ["MICHIGAN", "TIS", "Profile", "RequestRecord", "SimConfig", "TisSimulator", "write_vcf"]
