"""LoggedLines: each line of a job's log is logged exactly once per task try."""

from __future__ import annotations

from airflow_provider_tis.core.log_lines import LoggedLines
from tests.operators.conftest import StateStore

LOG = ["validating", "imputing", "exporting", "done"]


def test_in_one_process_each_look_gets_only_the_lines_added_since_the_last():
    lines = LoggedLines("k")
    got = [lines.new(LOG[:n], "job-1", {}, same_process=True, ended=False) for n in (1, 1, 3, 4)]
    assert got == [["validating"], [], ["imputing", "exporting"], ["done"]]


def test_rescheduled_pokes_remember_the_count_in_the_task_state_store():
    context = {"task_state_store": StateStore()}
    got = []
    for n in (1, 1, 3, 4):  # a new sensor (a new process) for every poke
        got.append(LoggedLines("k").new(LOG[:n], "job-1", context, same_process=False, ended=n == 4))
    assert got == [["validating"], [], ["imputing", "exporting"], ["done"]]
    assert context["task_state_store"]["k"] == {"job_id": "job-1", "count": 4}


def test_a_count_of_another_job_does_not_apply():
    context = {"task_state_store": StateStore(k={"job_id": "job-0", "count": 3})}
    assert LoggedLines("k").new(LOG[:2], "job-1", context, same_process=False, ended=False) == LOG[:2]


def test_without_a_store_the_lines_are_logged_once_when_the_job_has_ended():
    got = [LoggedLines("k").new(LOG[:n], "job-1", {}, same_process=False, ended=n == 4) for n in (1, 3, 4)]
    assert got == [[], [], LOG]


def test_a_log_that_became_shorter_is_a_new_log():
    lines = LoggedLines("k")
    lines.new(LOG, "job-1", {}, same_process=True, ended=False)
    assert lines.new(LOG[:1], "job-1", {}, same_process=True, ended=False) == LOG[:1]
