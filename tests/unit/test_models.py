"""Job states, size strings and secret masking."""

from __future__ import annotations

from unittest import mock

import pytest

from airflow_provider_tis.hooks import JobState, TisHook
from airflow_provider_tis.hooks.errors import TisResponseError
from airflow_provider_tis.hooks.models import Job, parse_size
from tests.conftest import make_token


def test_all_eleven_states_and_their_meaning():
    assert {s.name: s.value for s in JobState} == {
        "DEAD": -1,
        "WAITING": 1,
        "RUNNING": 2,
        "EXPORTING": 3,
        "SUCCESS": 4,
        "FAILED": 5,
        "CANCELED": 6,
        "RETIRED": 7,
        "SUCCESS_NOTIFIED": 8,
        "FAIL_NOTIFIED": 9,
        "DELETED": 10,
    }
    assert [s.name for s in JobState if not s.is_terminal] == ["WAITING", "RUNNING", "EXPORTING"]
    assert [s.name for s in JobState if s.is_success] == ["SUCCESS", "SUCCESS_NOTIFIED"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("314 MB", 314 * 2**20),
        ("1 GB", 2**30),
        ("54 KB", 54 * 1024),
        ("760 bytes", 760),
        ("1.5 GB", int(1.5 * 2**30)),
        ("2 TB", 2 * 2**40),
        (1234, 1234),
        ("", None),
        ("lots", None),
        ("12 parsecs", None),
        (None, None),
        (-1, None),
    ],
)
def test_size_strings(text, expected):
    assert parse_size(text) == expected


def test_the_hook_registers_the_token_with_the_secret_masker(set_connection):
    """Airflow masks connection passwords when it loads them; the hook registers the token itself too,
    so it stays masked however the connection was obtained."""
    token = make_token()
    set_connection("tis_masked", host="https://tis.example.org", password=token)
    with mock.patch("airflow_provider_tis.hooks.base.mask_secret") as mask:
        TisHook("tis_masked").settings  # noqa: B018
    mask.assert_called_once_with(token)


def test_a_password_in_a_step_message_is_masked_before_anything_logs_it():
    from airflow_provider_tis.hooks import Job

    try:
        from airflow.sdk._shared.secrets_masker import redact
    except ImportError:  # Airflow 2
        from airflow.utils.log.secrets_masker import redact
    message = "Data have been exported successfully. Your password is: Xk4$jD9_Lm2Q"
    job = Job.from_json(
        {
            "id": "job-1",
            "state": 4,
            "steps": [{"name": "Summary", "logMessages": [{"message": message, "type": 0}]}],
        }
    )
    # the password leaves the text (what triggers and sensors log) and is masked wherever else it appears
    assert job.steps[0].messages[0].message == "Data have been exported successfully. Your password is: ***"
    assert "Xk4$jD9_Lm2Q" not in str(redact(f"TIS job job-1, Summary: {message}"))


def test_an_answer_of_the_wrong_shape_shows_its_fields_not_its_values():
    job = {
        "name": "x",
        "steps": [{"name": "Summary", "logMessages": [{"message": "Your password is: S3cret"}]}],
    }
    with pytest.raises(TisResponseError) as raised:
        Job.from_json(job)
    assert "a job without an id" in str(raised.value) and "['name', 'steps']" in str(raised.value)
    assert "S3cret" not in str(raised.value)
