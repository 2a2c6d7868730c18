"""The ``tis`` connection: host forms, extras, token checks, and provider registration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
import requests_mock

from airflow_provider_tis.hooks import TisConfigError, TisHook
from airflow_provider_tis.hooks.connection import DEFAULT_HOST, normalize_base_url
from tests.conftest import make_token


@pytest.mark.parametrize(
    ("host", "schema", "port", "expected"),
    [
        ("", None, None, DEFAULT_HOST),
        (None, None, None, DEFAULT_HOST),
        ("https://tis.example.org", None, None, "https://tis.example.org"),
        ("https://tis.example.org/", None, None, "https://tis.example.org"),
        ("https://tis.example.org/api/v2", None, None, "https://tis.example.org"),
        ("https://tis.example.org/api/v2/", None, None, "https://tis.example.org"),
        ("  https://tis.example.org/prefix/api/v2// ", None, None, "https://tis.example.org/prefix"),
        ("tis.example.org", None, None, "https://tis.example.org"),
        ("127.0.0.1", "http", 8765, "http://127.0.0.1:8765"),
        ("http://127.0.0.1:9000", None, 8765, "http://127.0.0.1:9000"),
        # a default port stored only so that Airflow 3.3.2's Test button works (apache/airflow#73298)
        ("https://tis.example.org", None, 443, "https://tis.example.org"),
        ("https://tis.example.org", None, 8443, "https://tis.example.org:8443"),
    ],
)
def test_host_forms_users_paste(host, schema, port, expected):
    assert normalize_base_url(host, schema=schema, port=port) == expected


@pytest.mark.parametrize(
    "host", ["ftp://tis.example.org", "https://", "mailto:x@y", "https://user:pw@tis.example.org"]
)
def test_host_that_is_not_a_server_url_is_refused(host):
    with pytest.raises(TisConfigError, match=r"not a server URL|must not contain"):
        normalize_base_url(host)


def test_missing_token_names_the_connection_and_the_field(set_connection):
    set_connection("tis_lab", host="https://tis.example.org")
    with pytest.raises(TisConfigError) as err:
        TisHook("tis_lab").settings  # noqa: B018
    assert "'tis_lab'" in str(err.value)
    assert "password field" in str(err.value)


def test_expired_token_fails_before_any_request(set_connection):
    set_connection(host="https://tis.example.org", password=make_token(days=-2))
    with requests_mock.Mocker() as mock, pytest.raises(TisConfigError, match="expired on 20"):
        TisHook().get_server()
    assert mock.call_count == 0


def test_malformed_token_is_refused_locally(set_connection):
    set_connection(host="https://tis.example.org", password="not-a-jwt")
    with requests_mock.Mocker() as mock, pytest.raises(TisConfigError, match="not a TIS API token"):
        TisHook().get_server()
    assert mock.call_count == 0


def test_token_expiring_within_a_week_warns(set_connection, logs):
    set_connection("tis_soon", host="https://tis.example.org", password=make_token(days=3))
    TisHook("tis_soon").settings  # noqa: B018
    assert any("expires on" in line and "in 2 days" in line for line in logs())


def test_extras_are_read_and_defaulted(set_connection):
    set_connection(
        host="https://tis.example.org",
        password=make_token(),
        extra={
            "verify": "/etc/ca.pem",
            "timeout": "15",
            "app": "imputationserver2-hla",
            "max_active_jobs": 5,
        },
    )
    settings = TisHook().settings
    assert (settings.verify, settings.timeout, settings.app, settings.max_active_jobs) == (
        "/etc/ca.pem",
        15.0,
        "imputationserver2-hla",
        5,
    )
    set_connection(host="https://tis.example.org", password=make_token())
    settings = TisHook().settings
    assert (settings.verify, settings.timeout, settings.app, settings.max_active_jobs) == (
        True,
        60.0,
        "imputationserver2",
        3,
    )


def test_number_fields_left_empty_in_the_connection_form_take_their_defaults(set_connection):
    # what Airflow 3.3's form stores when the user leaves the optional number fields empty
    form = {"verify": "true", "timeout": None, "app": "imputationserver2", "max_active_jobs": ""}
    set_connection(host="https://tis.example.org", password=make_token(), extra=form)
    settings = TisHook().settings
    assert (settings.verify, settings.timeout, settings.max_active_jobs) == (True, 60.0, 3)


@pytest.mark.parametrize(
    ("value", "expected"), [(False, False), ("false", False), ("true", True), (True, True)]
)
def test_verify_extra_as_bool_or_string(set_connection, value, expected):
    set_connection(host="https://tis.example.org", password=make_token(), extra={"verify": value})
    assert TisHook().settings.verify is expected


@pytest.mark.parametrize("extra", [{"timeout": "soon"}, {"timeout": 0}, {"max_active_jobs": -1}])
def test_bad_numeric_extras_are_refused(set_connection, extra):
    set_connection(host="https://tis.example.org", password=make_token(), extra=extra)
    with pytest.raises(TisConfigError, match="must be"):
        TisHook().settings  # noqa: B018


def test_uri_form_of_the_connection(monkeypatch):
    token = make_token()
    monkeypatch.setenv("AIRFLOW_CONN_TIS_URI", f"tis://:{token}@127.0.0.1:8765/http?timeout=5&app=x")
    settings = TisHook("tis_uri").settings
    assert settings.base_url == "http://127.0.0.1:8765"
    assert settings.token == token
    assert (settings.timeout, settings.app) == (5.0, "x")


def test_warnings_for_insecure_settings_are_logged_once(set_connection, logs):
    set_connection(
        "tis_insecure", host="http://tis.example.org", password=make_token(), extra={"verify": False}
    )
    TisHook("tis_insecure").settings  # noqa: B018
    TisHook("tis_insecure").settings  # noqa: B018
    messages = logs()
    assert sum("TLS verification is off" in m for m in messages) == 1
    assert sum("plain http to a remote host" in m for m in messages) == 1


def test_local_http_does_not_warn(set_connection, logs):
    set_connection("tis_local", host="http://127.0.0.1:8765", password=make_token())
    TisHook("tis_local").settings  # noqa: B018
    assert not [line for line in logs() if "http" in line.lower() or "warning" in line.lower()]


def test_settings_repr_hides_the_token(set_connection):
    token = make_token()
    set_connection(host="https://tis.example.org", password=token)
    assert token not in repr(TisHook().settings)


def test_provider_and_connection_type_registered_in_a_fresh_process():
    script = textwrap.dedent(
        """
        import json
        from airflow.providers_manager import ProvidersManager
        pm = ProvidersManager()
        info = pm.providers["airflow-provider-tis"]
        hook = pm.hooks["tis"]
        print(json.dumps({
            "version": info.version,
            "hook": hook.hook_class_name if hook else None,
            "behaviour": pm.field_behaviours.get("tis"),
            "widgets": sorted(k for k in pm.connection_form_widgets if "__tis__" in k),
        }))
        """
    )
    env = {**os.environ, "AIRFLOW__CORE__UNIT_TEST_MODE": "False"}
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, env=env)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["hook"] == "airflow_provider_tis.hooks.tis.TisHook"
    assert result["behaviour"]["relabeling"]["password"] == "API token"
    assert "schema" in result["behaviour"]["hidden_fields"]
    assert result["widgets"] == sorted(
        f"extra__tis__{n}" for n in ("app", "max_active_jobs", "timeout", "verify")
    )

    listed = subprocess.run(
        [sys.executable, "-m", "airflow", "providers", "list", "-o", "json"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert listed.returncode == 0, listed.stderr[-2000:]
    assert any(p["package_name"] == "airflow-provider-tis" for p in json.loads(listed.stdout))


def test_legacy_form_behaviour_matches_the_provider_info():
    behaviour = TisHook.get_ui_field_behaviour()
    assert behaviour["hidden_fields"] == ["schema", "login", "port"]
    assert behaviour["relabeling"] == {"host": "Server URL", "password": "API token"}
    assert set(behaviour["placeholders"]) == {
        "host",
        "password",
        "verify",
        "timeout",
        "app",
        "max_active_jobs",
    }
