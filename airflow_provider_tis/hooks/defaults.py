"""Defaults that operators show in their signatures, in a module that imports nothing: DAG files import the
operators every 30 s, and the hooks that own these values load HTTP and model code."""

from __future__ import annotations

TIS_CONN_ID = "tis_default"
CGI_CONN_ID = "cgi_default"
SEVENBRIDGES_CONN_ID = "sevenbridges_default"
GENCOVE_CONN_ID = "gencove_default"
#: A cancelled running TIS job shows FAILED briefly before CANCELED: re-read FAILED once after this long.
FAILED_SETTLE_SECONDS = 5.0
