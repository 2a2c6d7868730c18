"""`make bench-triggers`: a thousand JobStateTriggers in one event loop, as a triggerer runs them.

The simulator runs in a process of its own with 1,000 running jobs; a second process (the "triggerer")
runs one JobStateTrigger per job with a 30 s poll interval until every job has ended. Prints the trigger
process's peak RSS, its average CPU, its open connections, the requests per second the server saw, and
whether every trigger fired one correct event. Targets (issue 15): under 300 MB RSS, under 0.2 core.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

from airflow_provider_tis.testing import write_vcf

JOBS = int(os.environ.get("BENCH_TRIGGERS", 1000))
POLL_SECONDS = float(os.environ.get("BENCH_POLL_SECONDS", 30))
RUN_SECONDS = float(os.environ.get("BENCH_RUN_SECONDS", 300))  # ten poll intervals per job
#: What a job shows a poll on the simulator: three pipeline steps (the export comes with the third), the end.
CHANGES_PER_JOB = 4

TRIGGERER = r"""
import asyncio, json, os, resource, sys, time

from airflow_provider_tis.core.shared_clients import shared_client_count
from airflow_provider_tis.triggers import JobStateTrigger

def sockets() -> int:
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:  # closed meanwhile (the listing's own descriptor, too)
            pass
    return count

async def main(job_ids, poll):
    started, cpu0 = time.monotonic(), time.process_time()
    triggers = [JobStateTrigger(j, "tis_default", poll_interval=poll, end_time=time.time() + 3600) for j in job_ids]
    runs = [asyncio.ensure_future(t.run().__anext__()) for t in triggers]
    peak_sockets = clients = 0
    while not all(r.done() for r in runs):
        await asyncio.sleep(1)
        peak_sockets, clients = max(peak_sockets, sockets()), max(clients, shared_client_count())
    events = [r.result().payload for r in runs]
    wall, cpu = time.monotonic() - started, time.process_time() - cpu0
    right = sum(e["status"] == "success" and e["job_id"] == j for e, j in zip(events, job_ids))
    print(json.dumps({
        "wall": wall, "cpu": cpu, "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "sockets": peak_sockets, "clients": clients, "right": right, "events": len(events),
    }))

asyncio.run(main(json.loads(sys.argv[1]), float(sys.argv[2])))
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="bench-triggers-") as tmp:
        log = Path(tmp) / "requests.jsonl"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "airflow_provider_tis.testing",
                "serve",
                "--run-seconds",
                str(RUN_SECONDS),
                "--export-seconds",
                "1",
                "--max-active-jobs",
                str(JOBS),
                "--threads",
                str(JOBS),
                "--request-log",
                str(log),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        try:
            lines = [server.stdout.readline() for _ in range(3)]  # type: ignore[union-attr]
            url = lines[0].split(" at ")[1].strip()
            token = lines[1].split(": ", 1)[1].strip()
            connection = lines[2].split("=", 1)[1].strip().strip("'")
            vcf = write_vcf(Path(tmp) / "chr20.vcf.gz", chromosomes=("20",))
            body = vcf.read_bytes()
            session = requests.Session()
            job_ids = []
            for _ in range(JOBS):  # the simulator's own API: not what is measured
                answer = session.post(
                    f"{url}/api/v2/jobs/submit/imputationserver2",
                    headers={"X-Auth-Token": token},
                    files=[
                        ("refpanel", (None, "apps@topmed-r3@1.0.0")),
                        ("population", (None, "all")),
                        ("files", ("chr20.vcf.gz", body)),
                    ],
                    timeout=30,
                )
                answer.raise_for_status()
                job_ids.append(answer.json()["id"])
            print(
                f"{JOBS} jobs submitted to the simulator; starting {JOBS} triggers (poll {POLL_SECONDS:g} s)..."
            )
            mark = sum(1 for _ in log.open())
            started = time.time()
            run = subprocess.run(
                [sys.executable, "-c", TRIGGERER, json.dumps(job_ids), str(POLL_SECONDS)],
                env={**os.environ, "AIRFLOW_CONN_TIS_DEFAULT": connection},
                capture_output=True,
                text=True,
                check=False,
            )
            ended = time.time()
        finally:
            server.terminate()
            server.wait(30)
        if run.returncode:
            print(run.stderr[-3000:])
            return 1
        result = json.loads(run.stdout.strip().splitlines()[-1])
        seen = [json.loads(line) for line in log.read_text().splitlines()[mark:]]
        polls = [r for r in seen if r["route"] in ("job", "jobs") and started <= r["time"] <= ended]
    reads = sum(r["route"] == "job" for r in polls)
    intervals = max(1.0, (ended - started) / POLL_SECONDS)
    rate = len(polls) / (ended - started)
    lists_per_interval = (len(polls) - reads) / intervals
    alone = JOBS * (1 + RUN_SECONDS / POLL_SECONDS)  # each trigger reading its job every interval
    rows = [
        ("triggers / events fired right", f"{JOBS} / {result['right']}", f"{JOBS}", result["right"] == JOBS),
        ("peak RSS of the trigger process (MB)", f"{result['rss_mb']:.0f}", "< 300", result["rss_mb"] < 300),
        (
            "average CPU (cores)",
            f"{result['cpu'] / result['wall']:.3f}",
            "< 0.2",
            result["cpu"] / result["wall"] < 0.2,
        ),
        ("open sockets (peak) / HTTP clients", f"{result['sockets']} / {result['clients']}", "", ""),
        ("requests per second at the server", f"{rate:.1f}", "", ""),
        (
            "job list requests per poll interval",
            f"{lists_per_interval:.2f}",
            "<= 1",
            len(polls) - reads <= intervals + 1,  # the last interval may be cut short
        ),
        (
            "job reads per job (first look + each change it showed)",
            f"{reads / JOBS:.2f}",
            f"<= 1 + {CHANGES_PER_JOB}",
            reads / JOBS <= 1 + CHANGES_PER_JOB,
        ),
        ("job reads if each trigger polled alone (for comparison)", f"{alone / JOBS:.0f} per job", "", ""),
        ("wall time (s)", f"{result['wall']:.0f}", "", ""),
    ]
    print("| measure | value | target | met |")
    print("|---|---|---|---|")
    for name, value, target, met in rows:
        print(f"| {name} | {value} | {target} | {'' if met == '' else ('yes' if met else 'no')} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
