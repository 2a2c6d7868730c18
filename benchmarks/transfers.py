"""`make bench`: the provider's uploads and downloads against curl, on loopback, side by side.

The simulator runs in this process; the provider and curl each run as child processes, so their peak
memory and speed are measured alone. Prints a table; targets from the project's issue #5:
upload peak RSS over a tiny upload < 64 MB, upload speed >= 0.8 x curl -F, download speed >= 0.9 x curl -L,
one /share/results hit per file, and at most 2 with a mid-stream drop (bytes identical).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_tis.testing import TisSimulator

MiB = 1 << 20
UPLOAD_MIB = int(os.environ.get("BENCH_UPLOAD_MIB", 1536))
DOWNLOAD_MIB = int(os.environ.get("BENCH_DOWNLOAD_MIB", 1024))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", 3))

# Runs in a child process: one upload or one download with the provider, then prints seconds and peak RSS.
CHILD = r"""
import json, resource, sys, time
from unittest import mock
kind, path = sys.argv[1], sys.argv[2]
from airflow_provider_tis.hooks import TisHook
hook = TisHook()
hook.get_server()  # connection lookup and session set-up are not part of the transfer
started = time.perf_counter()
if kind == "upload":
    hook.submit_job([path], {"refpanel": "topmed-r3", "population": "all", "job-name": sys.argv[3]})
else:
    from airflow_provider_tis.operators import DownloadResultsOperator
    op = DownloadResultsOperator(task_id="d", job_id=sys.argv[3], destination=path, include=["chr_20.zip"], overwrite=True)
    op.execute({"ti": mock.MagicMock()})
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def child(env: dict[str, str], *args: str) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", CHILD, *args], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def settle(*paths: Path) -> None:
    """Remove earlier outputs and flush dirty pages, so each run starts with the same disk state."""
    for path in paths:
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
    os.sync()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True)
    return time.perf_counter() - started


def write_file(path: Path, mib: int) -> None:
    block = os.urandom(MiB)
    with path.open("wb") as out:
        for _ in range(mib):
            out.write(block)


def md5(path: Path) -> str:
    with path.open("rb") as handle:
        return hashlib.file_digest(handle, "md5").hexdigest()


def main() -> None:
    rows: list[tuple[str, str, str, str]] = []
    with tempfile.TemporaryDirectory(prefix="tis-bench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "airflow-home"
        home.mkdir()
        big, tiny = tmp / "big.vcf.gz", tmp / "tiny.vcf.gz"
        write_file(big, UPLOAD_MIB)
        tiny.write_bytes(b"\x1f\x8b\x08\x04" + b"\0" * 1000)
        with TisSimulator(
            keep_uploads=False, run_seconds=3600, max_active_jobs=1000, zip_padding=DOWNLOAD_MIB * MiB
        ) as sim:
            env = {
                **os.environ,
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW_CONN_TIS_DEFAULT": sim.connection_json(),
            }
            submit_url = f"{sim.url}/api/v2/jobs/submit/imputationserver2"

            def curl_submit(path: Path, output: str = "/dev/null") -> list[str]:
                return ["curl", "-sS", "-o", output, "-H", f"X-Auth-Token: {sim.token}", "-F", "refpanel=topmed-r3",
                        "-F", "population=all", "-F", f"files=@{path}", submit_url]  # fmt: skip

            curl_upload = curl_submit(big)

            # -- upload ---------------------------------------------------------------------------
            baseline = child(env, "upload", str(tiny), "tiny")["peak_rss_mb"]
            provider_runs, curl_runs, peak = [], [], 0.0
            for round_number in range(ROUNDS):
                settle()
                result = child(env, "upload", str(big), f"big-{round_number}")
                provider_runs.append(result["seconds"])
                peak = max(peak, result["peak_rss_mb"])
                curl_runs.append(timed(curl_upload))
            upload_ratio = statistics.median(curl_runs) / statistics.median(provider_runs)
            rows += [
                (
                    "upload: provider MB/s (median)",
                    f"{UPLOAD_MIB * MiB / statistics.median(provider_runs) / 1e6:.0f}",
                    "",
                    "",
                ),
                (
                    "upload: curl -F MB/s (median)",
                    f"{UPLOAD_MIB * MiB / statistics.median(curl_runs) / 1e6:.0f}",
                    "",
                    "",
                ),
                ("upload: speed vs curl", f"{upload_ratio:.2f}", ">= 0.8", _ok(upload_ratio >= 0.8)),
                (
                    "upload: peak RSS over a tiny upload (MB)",
                    f"{peak - baseline:.1f}",
                    "< 64",
                    _ok(peak - baseline < 64),
                ),
            ]

            # -- download -------------------------------------------------------------------------
            sim.config.run_seconds, sim.config.keep_uploads = 0.5, True
            from airflow_provider_tis.testing import write_vcf

            vcf = write_vcf(tmp / "chr20.vcf.gz")
            answer = subprocess.run(curl_submit(vcf, "-"), check=True, capture_output=True, text=True).stdout
            job_id = json.loads(answer)["id"]
            served = next(
                f for f in sim.wait_for_state(job_id, 4, timeout=300).files if f.name == "chr_20.zip"
            )
            sim.config.download_limit = 1000
            served.count = 1000
            size_mb = served.size / 1e6
            share = f"{sim.url}/share/results/{served.hash}/chr_20.zip"
            provider_runs, curl_runs = [], []
            hits_before = len(sim.requests_to("share"))
            for _ in range(ROUNDS):
                settle(tmp / "out", tmp / "curl.zip")
                provider_runs.append(child(env, "download", str(tmp / "out"), job_id)["seconds"])
                settle(tmp / "curl.zip")
                curl_runs.append(timed(["curl", "-sS", "-L", "-o", str(tmp / "curl.zip"), share]))
            null_runs = [timed(["curl", "-sS", "-L", "-o", "/dev/null", share]) for _ in range(ROUNDS)]
            curl_hits = 2 * ROUNDS  # curl spends one download per run too
            provider_hits = len(sim.requests_to("share")) - hits_before - curl_hits
            download_ratio = statistics.median(curl_runs) / statistics.median(provider_runs)
            identical = md5(tmp / "out" / "chr_20.zip") == served.etag
            rows += [
                (
                    "download: provider MB/s (median)",
                    f"{size_mb / statistics.median(provider_runs):.0f}",
                    "",
                    "",
                ),
                ("download: curl -L MB/s (median)", f"{size_mb / statistics.median(curl_runs):.0f}", "", ""),
                ("download: speed vs curl", f"{download_ratio:.2f}", ">= 0.9", _ok(download_ratio >= 0.9)),
                (
                    "simulator: curl -L to /dev/null MB/s",
                    f"{size_mb / statistics.median(null_runs):.0f}",
                    "",
                    "",
                ),
                (
                    "download: /share/results hits per file",
                    f"{provider_hits / ROUNDS:g}",
                    "1",
                    _ok(provider_hits == ROUNDS),
                ),
                ("download: bytes identical (MD5)", str(identical), "True", _ok(identical)),
            ]

            # -- download with one mid-stream drop ------------------------------------------------
            sim.faults.drop_download_after(served.size // 3)
            hits_before = len(sim.requests_to("share"))
            child(env, "download", str(tmp / "dropped"), job_id)
            drop_hits = len(sim.requests_to("share")) - hits_before
            identical = md5(tmp / "dropped" / "chr_20.zip") == served.etag
            rows += [
                ("drop at 1/3: /share/results hits", str(drop_hits), "<= 2", _ok(drop_hits <= 2)),
                ("drop at 1/3: bytes identical (MD5)", str(identical), "True", _ok(identical)),
            ]
    print(
        f"Upload {UPLOAD_MIB} MiB, download {DOWNLOAD_MIB} MiB, median of {ROUNDS} rounds, loopback, "
        f"{os.cpu_count()} cores.\n"
    )
    print("| measure | value | target | met |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


def _ok(condition: bool) -> str:
    return "yes" if condition else "NO"


if __name__ == "__main__":
    main()
