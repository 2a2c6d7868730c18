"""Job lifecycle, queue positions, cancel, restart, retention and pipeline realism."""

from __future__ import annotations

import io
import struct
import time
import zipfile

import pytest
import pyzipper
import requests

from airflow_provider_tis.testing import TisSimulator, write_vcf
from tests.simulator.conftest import api, job, submit_ok


def test_states_progress_and_times_stay_zero_until_set(vcf):
    with TisSimulator(run_seconds=0.6, export_seconds=0.3) as sim:
        job_id = submit_ok(sim, [vcf])
        seen = []
        first = job(sim, job_id)
        assert first["deletedOn"] == -1 and first["endTime"] == 0
        while not seen or seen[-1] not in (4, 5):
            info = job(sim, job_id)
            if not seen or seen[-1] != info["state"]:
                seen.append(info["state"])
                if info["state"] in (1, 2, 3):
                    assert info["endTime"] == 0
            time.sleep(0.02)
        assert seen in ([1, 2, 3, 4], [2, 3, 4])
        final = job(sim, job_id)
        assert (
            final["startTime"] > 0
            and final["endTime"] >= final["startTime"]
            and final["positionInQueue"] == -1
        )


def test_position_in_queue_semantics(vcf):
    with TisSimulator(run_seconds=30, threads=1, max_active_jobs=5) as sim:
        ids = [submit_ok(sim, [vcf]) for _ in range(3)]
        infos = [job(sim, job_id) for job_id in ids]
        assert [(i["state"], i["positionInQueue"]) for i in infos] == [(2, 0), (1, 0), (1, 1)]
        assert infos[1]["startTime"] == 0


def test_cancel_running_job_shows_failed_then_canceled(sim, vcf):
    sim.config.run_seconds = 30
    job_id = submit_ok(sim, [vcf])
    sim.wait_for_state(job_id, 2)
    canceled = api(sim, f"/api/v2/jobs/{job_id}/cancel")
    assert canceled.status_code == 200 and canceled.json()["state"] == 5
    assert job(sim, job_id)["state"] == 5
    info = sim.wait_for_state(job_id, 6, timeout=5)
    assert info.state == 6
    final = job(sim, job_id)
    assert final["steps"][-1]["logMessages"][0]["message"] == "Pipeline execution canceled."
    assert any(f["name"] == "qc_report.txt" for f in final["outputParams"][0]["files"])  # partial export


def test_cancel_waiting_job_is_immediate_and_finished_job_is_a_no_op(vcf):
    with TisSimulator(run_seconds=30, threads=1, max_active_jobs=5) as sim:
        running = submit_ok(sim, [vcf])
        waiting = submit_ok(sim, [vcf])
        assert api(sim, f"/api/v2/jobs/{waiting}/cancel").json()["state"] == 6
        assert job(sim, waiting)["outputParams"] == []
    with TisSimulator(run_seconds=0.05, export_seconds=0.01) as sim:
        done = submit_ok(sim, [vcf])
        sim.wait_for_state(done, 4)
        response = api(sim, f"/api/v2/jobs/{done}/cancel")
        assert response.status_code == 200 and response.json()["state"] == 4
    assert running


def test_server_restart_makes_active_jobs_dead_and_only_dead_jobs_restart(sim, vcf):
    sim.config.run_seconds = 30
    job_id = submit_ok(sim, [vcf])
    refused = api(sim, f"/api/v2/jobs/{job_id}/restart")
    assert refused.status_code == 400 and refused.json()["message"] == f"Job {job_id} is not pending."
    sim.restart()
    assert job(sim, job_id)["state"] == -1
    sim.config.run_seconds = 0.1
    restarted = api(sim, f"/api/v2/jobs/{job_id}/restart").json()
    assert restarted["success"] is True
    assert sim.wait_for_state(job_id, 4).state == 4


def test_retention_notifies_then_retires(vcf):
    day = 86400
    with TisSimulator(
        run_seconds=0.05, export_seconds=0.01, notification_after=5 * day, retire_after=7 * day
    ) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 4)
        files = job(sim, job_id)["outputParams"][0]["files"]
        sim.shift_clock(5 * day + 1)
        notified = job(sim, job_id)
        assert notified["state"] == 8
        assert notified["deletedOn"] - notified["endTime"] == pytest.approx(7 * day * 1000, abs=5000)
        sim.shift_clock(2 * day)
        retired = job(sim, job_id)
        assert retired["state"] == 7 and retired["outputParams"][0]["files"]  # still listed
        download = requests.get(f"{sim.url}/share/results/{files[0]['hash']}/{files[0]['name']}", timeout=5)
        assert download.status_code == 404 and b"NoSuchKey" in download.content
        assert [r.status_code for r in download.history] == [301]


def test_failed_jobs_are_notified_with_state_9(vcf):
    with TisSimulator(run_seconds=0.05, export_seconds=0.01, notification_after=10, strand_flips=True) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 5)
        sim.shift_clock(11)
        assert job(sim, job_id)["state"] == 9


def test_a_job_nobody_looked_at_for_a_long_time_has_each_step_once(vcf):
    with TisSimulator(run_seconds=30, export_seconds=0.1) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 2)
        time.sleep(0.3)  # the uploaded files are read
        sim.shift_clock(300)  # ten times the run time passes before the next look
        info = sim.wait_for_state(job_id, 4) and job(sim, job_id)
        names = [s["name"] for s in info["steps"]]
        assert names == ["Input Validation", "Quality Control", "Phasing and Imputation", "Summary"], names


def _messages(info):
    return {s["name"]: s["logMessages"][0] for s in info["steps"]}


def test_input_validation_reads_the_uploaded_vcfs(sim, tmp_path):
    files = [
        write_vcf(tmp_path / f"chr{c}.vcf.gz", chromosomes=(c,), samples=30, snps=12) for c in ("20", "21")
    ]
    job_id = submit_ok(sim, files, population="off", phasing="no_phasing", build="hg19", mode="imputation")
    sim.wait_for_state(job_id, 4)
    info = job(sim, job_id)
    steps = _messages(info)
    assert list(steps) == ["Input Validation", "Quality Control", "Phasing and Imputation", "Summary"]
    message = steps["Input Validation"]["message"]
    for line in (
        "2 valid VCF file(s) found.",
        "Samples: 30",
        "Chromosomes: 20 21",
        "SNPs: 24",
        "Build: hg19",
        "Reference Panel: apps@topmed-r3@1.0.0",
        "Population: off",
        "Phasing: no_phasing",
        "Mode: imputation",
    ):
        assert line in message
    assert all(m["type"] == 0 for m in steps.values())


@pytest.mark.parametrize(
    ("fields", "files", "expected"),
    [
        ({}, [], "No vcf.gz input files detected."),
        ({"refpanel": None}, ["ok"], "Parameter refpanel is required."),
        (
            {"population": "eur"},
            ["ok"],
            "Population 'eur' is not supported by reference panel 'apps@topmed-r3@1.0.0'.",
        ),
        (
            {"phasing": "beagle"},
            ["ok"],
            "For phasing, only options 'eagle', 'beagle' or 'no_phasing' are allowed.",
        ),
        ({}, ["plain-gzip"], "not bgzip compressed"),
        ({"build": "hg38"}, ["ok"], "This is not a valid hg38 encoding"),
        ({}, ["few-samples"], "At least 20 samples must be uploaded."),
    ],
)
def test_invalid_input_fails_the_job_with_the_pipeline_message(sim, tmp_path, fields, files, expected):
    import gzip

    paths = []
    for kind in files:
        path = tmp_path / f"{kind}.vcf.gz"
        if kind == "ok":
            write_vcf(path)
        elif kind == "few-samples":
            write_vcf(path, samples=5)
        else:
            path.write_bytes(gzip.compress(b"##fileformat=VCFv4.2\n"))
        paths.append(path)
    job_id = submit_ok(sim, paths, **fields)
    sim.wait_for_state(job_id, 5)
    info = job(sim, job_id)
    errors = [m["message"] for s in info["steps"] for m in s["logMessages"] if m["type"] == 1]
    assert expected in errors[0]
    assert errors[-1] == "Pipeline execution failed."


def test_michigan_accepts_beagle_and_its_populations(tmp_path):
    with TisSimulator(profile="michigan", run_seconds=0.1, export_seconds=0.01) as sim:
        job_id = submit_ok(
            sim,
            [write_vcf(tmp_path / "a.vcf.gz")],
            refpanel="1000g-phase-3-v5",
            population="eur",
            phasing="beagle",
        )
        assert sim.wait_for_state(job_id, 4, 5).state == 4


def test_strand_flip_switch_fails_quality_control_and_exports_partial_outputs(vcf):
    with TisSimulator(run_seconds=0.1, export_seconds=0.01, strand_flips=True) as sim:
        job_id = submit_ok(sim, [vcf])
        sim.wait_for_state(job_id, 5)
        info = job(sim, job_id)
        qc = _messages(info)["Quality Control"]
        assert qc["type"] == 1 and "strand flips" in qc["message"]
        names = [f["name"] for f in info["outputParams"][0]["files"]]
        assert "qc_report.txt" in names and "statistics/summary.txt" in names
        assert not any(n.endswith(".zip") for n in names)


def _download(sim, info, name):
    entry = next(f for f in info["outputParams"][0]["files"] if f["name"] == name)
    return requests.get(f"{sim.url}/share/results/{entry['hash']}/{entry['name']}", timeout=5).content


@pytest.mark.parametrize("aes", [False, True])
def test_outputs_are_real_password_protected_zips(tmp_path, aes):
    with TisSimulator(run_seconds=0.1, export_seconds=0.01, md5=True) as sim:
        files = [write_vcf(tmp_path / "a.vcf.gz", chromosomes=("20", "21"))]
        job_id = submit_ok(sim, files, password="Secret123", **({"aesEncryption": "true"} if aes else {}))
        sim.wait_for_state(job_id, 4)
        info = job(sim, job_id)
        names = [f["name"] for f in info["outputParams"][0]["files"]]
        assert names == [
            "chr_20.zip",
            "chr_20.zip.md5",
            "chr_21.zip",
            "chr_21.zip.md5",
            "qc_report.txt",
            "quality-control.html",
            "statistics/summary.txt",
            "statistics/snps-excluded.txt",
            "statistics/chunks-excluded.txt",
        ]
        data = _download(sim, info, "chr_20.zip")
        assert struct.unpack("<H", data[8:10])[0] == (99 if aes else 8)  # method in the first local header
        archive = pyzipper.AESZipFile(io.BytesIO(data))
        with pytest.raises(RuntimeError):
            archive.read("chr20.dose.vcf.gz")  # no password
        archive.setpassword(b"Secret123")
        assert archive.testzip() is None and archive.read("chr20.dose.vcf.gz")[:4] == b"\x1f\x8b\x08\x04"
        if not aes:
            plain = zipfile.ZipFile(io.BytesIO(data))
            plain.setpassword(b"Secret123")
            assert plain.testzip() is None
        import hashlib

        assert _download(sim, info, "chr_20.zip.md5").decode().split()[0] == hashlib.md5(data).hexdigest()


def test_generated_password_is_shown_when_none_was_sent(sim, vcf):
    job_id = submit_ok(sim, [vcf])
    sim.wait_for_state(job_id, 4)
    summary = _messages(job(sim, job_id))["Summary"]["message"]
    password = summary.rsplit("Your password is: ", 1)[1]
    assert len(password) == 14
    archive = zipfile.ZipFile(io.BytesIO(_download(sim, job(sim, job_id), "chr_20.zip")))
    archive.setpassword(password.encode())
    assert archive.testzip() is None


def test_qc_only_mode_exports_no_imputed_chromosomes(sim, vcf):
    job_id = submit_ok(sim, [vcf], mode="qc_only")
    sim.wait_for_state(job_id, 4)
    info = job(sim, job_id)
    assert "Phasing and Imputation" not in _messages(info)
    assert not any(f["name"].endswith(".zip") for f in info["outputParams"][0]["files"])
