"""SubmitImputationOperator against the simulator: pre-flight checks, waiting, idempotency, progress."""

from __future__ import annotations

import functools
import gzip
import os
import re
import time
from unittest import mock

import pytest

from airflow_provider_tis.hooks import TisConfigError, TisHook
from airflow_provider_tis.hooks.models import AppInfo
from airflow_provider_tis.operators import SubmitImputationOperator, TisJobLink
from airflow_provider_tis.operators.inputs import default_job_name, task_job_name
from airflow_provider_tis.operators.transfer import ProgressLog
from airflow_provider_tis.testing import write_vcf
from tests.operators.conftest import make_context


def make(files, **kwargs):
    kwargs.setdefault("refpanel", "topmed-r3")
    kwargs.setdefault("population", "all")
    kwargs.setdefault("capacity_poll_interval", 0.05)
    return SubmitImputationOperator(task_id="submit", files=files, **kwargs)


def test_submits_and_returns_the_job_id_and_url(tis_simulator, vcf, logs):
    context = make_context()
    job_id = make(str(vcf), password="Zip-Pass_123").execute(context)
    assert list(tis_simulator.jobs.jobs) == [job_id]
    context["ti"].xcom_push.assert_called_once_with(
        key="job_url", value=f"{tis_simulator.url}/index.html#!jobs/{job_id}"
    )
    record = tis_simulator.requests_to("submit")[0]
    assert record.files == ("chr20.vcf.gz",)
    assert record.fields["refpanel"] == "apps@topmed-r3@1.0.0" and record.fields["r2Filter"] == "0"
    assert record.fields["job-name"] == "dag__run-1__submit"
    assert "aesEncryption" not in record.fields and "meta" not in record.fields
    assert any("Upload: 100%" in line for line in logs())
    assert not any("Zip-Pass_123" in line for line in logs())


def test_checkboxes_are_sent_only_when_on(tis_simulator, vcf):
    make(str(vcf), aes_encryption=True, meta=True).execute(make_context())
    fields = tis_simulator.requests_to("submit")[0].fields
    assert fields["aesEncryption"] == "true" and fields["meta"] == "true"


@pytest.mark.parametrize("refpanel", ["topmed-r3", "apps@topmed-r3", "apps@topmed-r3@1.0.0"])
def test_refpanel_forms_users_write(tis_simulator, vcf, refpanel):
    make(str(vcf), refpanel=refpanel).execute(make_context())
    assert tis_simulator.requests_to("submit")[0].fields["refpanel"] == "apps@topmed-r3@1.0.0"


def test_globs_file_urls_and_lists(tis_simulator, tmp_path):
    for c in ("20", "21", "22"):
        write_vcf(tmp_path / f"chr{c}.vcf.gz", chromosomes=(c,))
    make(f"file://{tmp_path}/chr2[01].vcf.gz").execute(make_context())
    make([str(tmp_path / "chr22.vcf.gz")], job_name="second").execute(make_context())
    assert [r.files for r in tis_simulator.requests_to("submit")] == [
        ("chr20.vcf.gz", "chr21.vcf.gz"),
        ("chr22.vcf.gz",),
    ]


def test_expired_token_fails_before_any_request(tis_simulator, vcf, monkeypatch):
    monkeypatch.setenv(
        "AIRFLOW_CONN_TIS_DEFAULT", tis_simulator.connection_json(tis_simulator.issue_token(lifetime=-5))
    )
    with pytest.raises(TisConfigError, match="expired on"):
        make(str(vcf)).execute(make_context())
    assert tis_simulator.requests == []


def test_only_fields_the_app_declares_are_sent():
    app = AppInfo(
        id="imputationserver2",
        name="x",
        version="1",
        params=("files", "refpanel", "population", "build"),
        options={},
        refpanels={"apps@topmed-r3@1.0.0": ("all",)},
        checkboxes=(),
    )
    fields = make("x.vcf.gz", meta=True)._form_fields(app)
    assert set(fields) == {"refpanel", "population", "build"}


def test_a_failed_earlier_job_is_not_reused(tis_simulator, vcf):
    tis_simulator.config.strand_flips = True
    first = make(str(vcf)).execute(make_context())
    tis_simulator.wait_for_state(first, 5)
    tis_simulator.config.strand_flips = False
    second = make(str(vcf)).execute(make_context(try_number=2))
    assert second != first and len(tis_simulator.jobs.jobs) == 2


def test_an_explicit_job_name_is_not_reused_by_a_later_dag_run(tis_simulator, vcf):
    first = make(str(vcf), job_name="my-study").execute(make_context(run_id="run-1"))
    second = make(str(vcf), job_name="my-study").execute(make_context(run_id="run-2"))
    assert first != second and sorted(tis_simulator.jobs.jobs) == sorted([first, second])
    submits = tis_simulator.requests_to("submit")
    assert [r.files for r in submits] == [("chr20.vcf.gz",), ("chr20.vcf.gz",)]  # each job has its upload
    names = [r.fields["job-name"] for r in submits]
    assert names[0] != names[1] and all(re.fullmatch(r"my-study-[0-9a-f]{10}", n) for n in names)


def test_tries_of_one_run_reuse_the_job_of_an_explicit_job_name(tis_simulator, vcf, logs):
    first = make(str(vcf), job_name="my-study").execute(make_context(run_id="run-1", try_number=1))
    second = make(str(vcf), job_name="my-study").execute(make_context(run_id="run-1", try_number=2))
    assert first == second and list(tis_simulator.jobs.jobs) == [first]
    assert len(tis_simulator.requests_to("submit")) == 1
    assert any("Reusing TIS job" in line for line in logs())


def test_an_explicit_job_name_gets_a_suffix_of_the_task_instance_and_keeps_it_when_shortened():
    name = task_job_name(make_context(run_id="r"), "my study")
    assert re.fullmatch(r"my study-[0-9a-f]{10}", name)
    assert name == task_job_name(make_context(run_id="r", try_number=2), "my study")  # stable across tries
    others = {task_job_name(make_context(**kw), "my study") for kw in ({"run_id": "s"}, {"map_index": 0})}
    assert name not in others and len(others) == 2
    long = task_job_name(make_context(run_id="r"), "x" * 300)
    assert len(long) == 100 and long.endswith(name[-11:])  # the user's part is cut, never the suffix


def test_a_file_that_shrinks_during_the_upload_fails_at_once(tis_simulator, vcf, monkeypatch, recorded_waits):
    size = vcf.stat().st_size
    shrink_after_upload_starts(monkeypatch, vcf)
    # With a one-hour submit timeout, a server waiting for the missing bytes would hold the task for an hour;
    # 5 s is plenty to tell "fails at once" from "waits for the bytes that never come". (The operator imports
    # TisHook when it first uses its hook, so it is patched where it is defined.)
    monkeypatch.setattr(
        "airflow_provider_tis.hooks.tis.TisHook", functools.partial(TisHook, submit_timeout=5)
    )
    started = time.monotonic()
    with pytest.raises(TisConfigError, match="changed during the upload") as raised:
        make(str(vcf)).execute(make_context())
    assert time.monotonic() - started < 4
    assert str(vcf) in str(raised.value)
    assert f"{size} bytes" in str(raised.value) and f"{size // 2} bytes" in str(raised.value)
    assert tis_simulator.jobs.jobs == {}  # no job, and no second upload of the changed file
    assert not [r for r in tis_simulator.requests_to("submit") if r.status]
    assert recorded_waits == []


def shrink_after_upload_starts(monkeypatch, path):
    """Cut ``path`` to half its size once its upload has started (after its size was read)."""
    size = path.stat().st_size
    done = []

    def progress(log, label):
        def report(sent, total):
            if not done:
                done.append(True)
                os.truncate(path, size // 2)

        return report

    monkeypatch.setattr("airflow_provider_tis.core.progress.ProgressLog", progress)  # imported by execute


def test_default_job_name_is_stable_sanitised_and_unique_per_map_index():
    context = make_context(run_id="manual__2025-01-01T00:00:00+00:00", map_index=3)
    assert default_job_name(context) == "dag__manual__2025-01-01T00-00-00-00-00__submit__3"
    assert default_job_name(make_context(run_id="r")) == "dag__r__submit"
    long = default_job_name(make_context(run_id="x" * 300))
    other = default_job_name(make_context(run_id="x" * 299 + "y"))
    assert len(long) == 100 and long != other


def test_upload_progress_is_logged_at_most_every_ten_seconds():
    log = mock.Mock()
    clock = iter([0, 1, 5, 10.5, 12, 30, 31])
    with mock.patch("airflow_provider_tis.core.progress.time.monotonic", lambda: next(clock)):
        progress = ProgressLog(log, "Upload")
        for done in (10, 20, 30, 40, 50, 100):
            progress(done, 100)
    messages = [c.args[0] % c.args[1:] for c in log.info.call_args_list]
    assert len(messages) == 3  # at 10.5 s, at 30 s... and the final 100%
    assert messages[0].startswith("Upload: 30%") and messages[-1].startswith("Upload: 100%")
    assert "MB/s" in messages[0]


def test_extra_link_reads_the_job_url_from_xcom():
    with mock.patch(
        "airflow_provider_tis.operators.submit.XCom.get_value", return_value="https://x/#!jobs/j"
    ) as get:
        assert TisJobLink().get_link(make("x.vcf.gz"), ti_key="key") == "https://x/#!jobs/j"
    get.assert_called_once_with(key="job_url", ti_key="key")
    assert TisJobLink.name == "TIS job"


def test_upload_streams_from_object_storage(tis_simulator, vcf, memory_fs):
    memory_fs.pipe("/bucket/study/chr20.vcf.gz", vcf.read_bytes())
    memory_fs.pipe(
        "/bucket/study/chr21.vcf.gz", write_vcf(vcf.parent / "chr21.vcf.gz", chromosomes=("21",)).read_bytes()
    )
    job_id = make("memory://bucket/study/chr2*.vcf.gz").execute(make_context())
    assert tis_simulator.requests_to("submit")[0].files == ("chr20.vcf.gz", "chr21.vcf.gz")
    uploaded = tis_simulator.jobs.jobs[job_id].input_dir / "chr20.vcf.gz"
    assert uploaded.read_bytes() == vcf.read_bytes()
    assert tis_simulator.wait_for_state(job_id, 4, 5).state == 4  # the server validated what arrived


def test_object_storage_inputs_are_checked_before_upload(tis_simulator, memory_fs):
    memory_fs.pipe("/bucket/plain.vcf.gz", gzip.compress(b"##fileformat=VCFv4.2\n"))
    with pytest.raises(TisConfigError, match="gzip but not BGZF"):
        make("memory://bucket/plain.vcf.gz").execute(make_context())
    with pytest.raises(TisConfigError, match="does not exist"):
        make("memory://bucket/missing.vcf.gz").execute(make_context())
    assert tis_simulator.requests_to("submit") == []
