"""Faithful local simulators of the genomics services this provider talks to, for tests, demos and
users' own DAG tests: the TOPMed/Michigan Imputation Server (:class:`TisSimulator`) and the Cancer
Genome Interpreter (:class:`CgiSimulator`); and :class:`AirflowDeployment`, a real throwaway Airflow to
run DAGs on next to them.

They depend on the standard library (plus ``cryptography``, which Airflow installs, for AES zips), and
are written from the services' documented behaviour, never from this provider's clients.
"""

from __future__ import annotations

from airflow_provider_tis.testing.cgi import (
    CgiConfig,
    CgiSimulator,
    write_cnas,
    write_mutations,
    write_translocations,
)
from airflow_provider_tis.testing.core.deployment import AirflowDeployment
from airflow_provider_tis.testing.core.faults import RequestRecord
from airflow_provider_tis.testing.tis.jobs import SimConfig
from airflow_provider_tis.testing.tis.profiles import MICHIGAN, TIS, Profile
from airflow_provider_tis.testing.tis.simulator import TisSimulator
from airflow_provider_tis.testing.tis.vcf import write_vcf

__all__ = [
    "MICHIGAN",
    "TIS",
    "AirflowDeployment",
    "CgiConfig",
    "CgiSimulator",
    "Profile",
    "RequestRecord",
    "SimConfig",
    "TisSimulator",
    "write_cnas",
    "write_mutations",
    "write_translocations",
    "write_vcf",
]
