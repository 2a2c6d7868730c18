"""`make bench-sevenbridges`: the Seven Bridges hook's multipart upload against curl, and 200 waiting
SevenBridgesTriggers against the platform's rate limit, on the local simulator (issue 13).

1. Upload (``BENCH_SBG_UPLOAD_MIB``, default 1024 MiB of random bytes) with ``SevenBridgesHook.upload_file``
   in a child process (its peak RSS over its RSS just before the upload: VmHWM reset through
   /proc/self/clear_refs), then the same parts with curl: the API calls of the protocol over HTTP (init, each
   part's presigned URL, the part reports, complete) and one ``curl -T`` process per part, as many at once
   as the hook keeps in flight. Rounds are interleaved (ours, curl, ours, curl ...); medians reported.
   Targets: peak RSS < 64 MiB + part size x parts in flight; speed >= 0.8 x curl.
2. 200 tasks RUNNING on the simulator; 200 ``SevenBridgesTaskTrigger`` in one event loop with the sensor's
   default poll interval, for ``BENCH_SBG_INTERVALS`` intervals (default 3). The simulator's rate-limit
   window and budget are scaled to that window (1,000 requests per 300 s becomes the same rate over the
   window), so the budget is checked without waiting the full 5 minutes. Then the tasks complete and every
   trigger must fire its event. Target: no 429.

Prints a table; the machine's load average is printed with it (the machine is shared).
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import logging
import math
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import requests

from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook
from airflow_provider_tis.sensors.sevenbridges import SevenBridgesTaskSensor
from airflow_provider_tis.testing.sevenbridges import SevenBridgesSimulator
from airflow_provider_tis.triggers.sevenbridges import SevenBridgesTaskTrigger

MiB = 1 << 20
UPLOAD_MIB = int(os.environ.get("BENCH_SBG_UPLOAD_MIB", 1024))
ROUNDS = int(os.environ.get("BENCH_SBG_ROUNDS", 3))
TASKS = int(os.environ.get("BENCH_SBG_TASKS", 200))
INTERVALS = int(os.environ.get("BENCH_SBG_INTERVALS", 3))
# BENCH_SBG_POLL_SECONDS: a shorter poll for a quick smoke run; unset, the sensor's default is used
MEMORY_BASE_MIB = 64  # the target: peak memory under 64 MB plus the parts in flight
PLATFORM_BUDGET, PLATFORM_WINDOW = 1000, 300.0  # requests per 5 minutes per user (§1.3)

# Runs in a child process: a small warm-up upload, then the measured one; prints seconds and memory.
CHILD = r"""
import json, sys, time
from airflow_provider_tis.hooks.sevenbridges import SevenBridgesHook

def status_kb(key):
    for line in open("/proc/self/status"):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    raise KeyError(key)

path, warmup, name = sys.argv[1:4]
hook = SevenBridgesHook()
hook.upload_file(warmup, name="warmup.bin", overwrite=True)  # imports, connection, session, thread pool
try:
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # VmHWM := VmRSS now, so the peak below is the upload's alone
    reset = True
except OSError:
    reset = False
baseline = status_kb("VmHWM") if not reset else status_kb("VmRSS")
started = time.perf_counter()
uploaded = hook.upload_file(path, name=name, overwrite=True)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": seconds, "baseline_kb": baseline, "peak_kb": status_kb("VmHWM"),
                  "hwm_reset": reset, "file_id": uploaded.id, "size": uploaded.size}))
"""


def load() -> str:
    return "/".join(f"{x:.2f}" for x in os.getloadavg())


def write_file(path: Path, mib: int) -> str:
    """``mib`` MiB of random bytes (a fresh block per MiB); their MD5."""
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("wb") as out:
        for _ in range(mib):
            block = os.urandom(MiB)
            digest.update(block)
            out.write(block)
    return digest.hexdigest()


def split(path: Path, part_size: int, folder: Path) -> list[Path]:
    """The file cut into part files for curl -T (not timed: curl cannot send a byte range of a file)."""
    folder.mkdir()
    parts: list[Path] = []
    with path.open("rb") as source:
        while block := source.read(part_size):
            parts.append(folder / f"part-{len(parts) + 1}")
            parts[-1].write_bytes(block)
    return parts


class CurlUploader:
    """The multipart protocol with curl doing the part PUTs: per part, in ``parallel`` workers, what the
    hook does per part (ask the presigned URL, PUT the bytes, report the ETag), between init and complete."""

    def __init__(self, sim: SevenBridgesSimulator) -> None:
        self.sim = sim
        self.headers = {"X-SBG-Auth-Token": sim.token}
        self.local = threading.local()

    def session(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
            self.local.session.headers.update(self.headers)
        session: requests.Session = self.local.session
        return session

    def api(self, method: str, path: str, **kwargs: Any) -> Any:
        answer = self.session().request(method, f"{self.sim.url}{path}", timeout=600, **kwargs)
        answer.raise_for_status()
        return answer.json() if answer.content else None

    def init(self, name: str, size: int, part_size: int) -> dict[str, Any]:
        body = {"project": self.sim.project, "name": name, "size": size, "part_size": part_size}
        init: dict[str, Any] = self.api("POST", "/upload/multipart", params={"overwrite": "true"}, json=body)
        return init

    def part(self, upload_id: str, number: int, path: Path) -> None:
        url = self.api("GET", f"/upload/multipart/{upload_id}/part/{number}")["url"]
        # -H "Expect:": no 100-continue round trip (the hook's requests sends none either)
        out = subprocess.run(
            ["curl", "-sS", "--fail", "-H", "Expect:", "-T", str(path), "-o", "/dev/null", "-D", "-", url],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        etag = next(
            line.split(":", 1)[1].strip() for line in out.splitlines() if line.lower().startswith("etag:")
        )
        report = {"part_number": number, "response": {"headers": {"ETag": etag}}}
        self.api("POST", f"/upload/multipart/{upload_id}/part", json=report)

    def upload(
        self, parts: list[Path], size: int, part_size: int, parallel: int, name: str
    ) -> dict[str, Any]:
        upload_id = self.init(name, size, part_size)["upload_id"]
        with ThreadPoolExecutor(max_workers=parallel) as pool:
            for future in [pool.submit(self.part, upload_id, n, p) for n, p in enumerate(parts, 1)]:
                future.result()
        done: dict[str, Any] = self.api("POST", f"/upload/multipart/{upload_id}/complete")
        return done


def check_stored(sim: SevenBridgesSimulator, file_id: str, size: int, md5: str) -> bool:
    """The simulator holds the file with the source's size and MD5; then it is removed (disk space)."""
    stored = sim.file(file_id)
    right = stored.size == size and stored.etag == md5
    sim.files.remove(file_id)
    return right


def bench_upload(
    sim: SevenBridgesSimulator, tmp: Path, env: dict[str, str]
) -> list[tuple[str, str, str, str]]:
    defaults = inspect.signature(SevenBridgesHook.upload_file).parameters
    asked_part = int(defaults["part_size"].default)
    parallel, max_memory = int(defaults["parallel"].default), int(defaults["max_memory"].default)
    size = UPLOAD_MIB * MiB
    big, warmup = tmp / "big.bin", tmp / "warmup.bin"
    print(f"writing {UPLOAD_MIB} MiB of random bytes ...", flush=True)
    md5 = write_file(big, UPLOAD_MIB)
    warmup.write_bytes(os.urandom(1024))
    curl = CurlUploader(sim)
    # the part size the platform grants for this size (the hook uses the answer's, as curl will)
    probe = curl.init("probe.bin", size, asked_part)
    curl.api("DELETE", f"/upload/multipart/{probe['upload_id']}")
    part_size = int(probe["part_size"])
    in_flight = max(1, min(parallel, max_memory // part_size))  # upload_file's rule (its docstring)
    parts = split(big, part_size, tmp / "parts")
    os.sync()

    ours: list[float] = []
    theirs: list[float] = []
    peaks: list[float] = []
    gauge_peaks: list[int] = []
    puts: list[int] = []
    stored_right: list[bool] = []
    for round_number in range(ROUNDS):
        print(f"upload round {round_number + 1}/{ROUNDS} (load {load()}) ...", flush=True)
        sim.store_gauge.peak = 0
        mark = len(sim.requests)
        out = subprocess.run(
            [sys.executable, "-c", CHILD, str(big), str(warmup), f"ours-{round_number}.bin"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        if out.returncode:
            raise SystemExit(f"the upload child failed:\n{out.stderr[-3000:]}")
        result = json.loads(out.stdout.strip().splitlines()[-1])
        ours.append(result["seconds"])
        peaks.append((result["peak_kb"] - result["baseline_kb"]) / 1024)
        gauge_peaks.append(sim.store_gauge.peak)
        per_upload = Counter(r.path.split("/")[2] for r in sim.requests[mark:] if r.route == "part_upload")
        puts.append(max(per_upload.values()))  # the measured upload's (not the warm-up's one part)
        stored_right.append(check_stored(sim, result["file_id"], size, md5))

        sim.store_gauge.peak = 0
        started = time.perf_counter()
        done = curl.upload(parts, size, part_size, in_flight, f"curl-{round_number}.bin")
        theirs.append(time.perf_counter() - started)
        gauge_peaks.append(sim.store_gauge.peak)
        stored_right.append(check_stored(sim, done["id"], size, md5))
        os.sync()  # the stored files' dirty pages, so the next round starts alike

    ratio = statistics.median(theirs) / statistics.median(ours)
    peak = max(peaks)
    bound = MEMORY_BASE_MIB + part_size * in_flight / MiB
    mibs = [f"{UPLOAD_MIB / s:.0f}" for s in ours]
    curl_mibs = [f"{UPLOAD_MIB / s:.0f}" for s in theirs]
    return [
        ("upload: size / part size / parts", f"{UPLOAD_MIB} MiB / {part_size // MiB} MiB / {len(parts)}", "", ""),
        ("upload: parts in flight (rule / seen at the store)", f"{in_flight} / {max(gauge_peaks)}", "", ""),
        ("upload: ours wall s (median)", f"{statistics.median(ours):.2f}", "", ""),
        ("upload: ours MiB/s (median; rounds)", f"{UPLOAD_MIB / statistics.median(ours):.0f} ({', '.join(mibs)})", "", ""),
        ("upload: curl -T wall s (median)", f"{statistics.median(theirs):.2f}", "", ""),
        (
            "upload: curl -T MiB/s (median; rounds)",
            f"{UPLOAD_MIB / statistics.median(theirs):.0f} ({', '.join(curl_mibs)})",
            "",
            "",
        ),
        ("upload: speed ours / curl", f"{ratio:.2f}", ">= 0.8", _ok(ratio >= 0.8)),
        (
            "upload: peak RSS over pre-upload RSS, MiB (max of rounds)",
            f"{peak:.1f} ({', '.join(f'{p:.0f}' for p in peaks)})",
            f"< {bound:.0f} (64 + {part_size // MiB} x {in_flight})",
            _ok(peak < bound),
        ),
        ("upload: part PUTs per upload (ours)", ", ".join(map(str, puts)), f"{len(parts)}", _ok(set(puts) == {len(parts)})),
        ("upload: stored size and MD5 right (all uploads)", f"{sum(stored_right)} / {len(stored_right)}", f"{len(stored_right)}", _ok(all(stored_right))),
    ]  # fmt: skip


async def run_triggers(
    task_ids: list[str], interval: float, window: float, sim: SevenBridgesSimulator
) -> dict[str, Any]:
    end_time = time.time() + 3600
    triggers = [SevenBridgesTaskTrigger(t, "sevenbridges_default", interval, end_time) for t in task_ids]
    started, cpu = time.monotonic(), time.process_time()
    runs = [asyncio.ensure_future(t.run().__anext__()) for t in triggers]
    await asyncio.sleep(window)
    window_end = len(sim.requests)
    fired_in_window = sum(r.done() for r in runs)
    await asyncio.wait(runs, timeout=3 * interval + 60)
    events = [r.result().payload if r.done() else None for r in runs]
    return {
        "window_end": window_end,
        "fired_in_window": fired_in_window,
        "events": events,
        "wall": time.monotonic() - started,
        "cpu": time.process_time() - cpu,
    }


def bench_triggers(sim: SevenBridgesSimulator) -> list[tuple[str, str, str, str]]:
    default = inspect.signature(SevenBridgesTaskSensor.__init__).parameters["poke_interval"].default
    interval = float(os.environ.get("BENCH_SBG_POLL_SECONDS") or default)  # the override: smoke runs only
    # the measured window: INTERVALS intervals, plus a little so the bulk read due at its end is in it
    window = INTERVALS * interval + 2.0
    scale = window / PLATFORM_WINDOW
    budget = math.floor(PLATFORM_BUDGET * scale)
    sim.config.rate_window, sim.config.rate_limit = window, budget
    sim.config.queue_seconds, sim.config.run_seconds = 0.1, window + 3.0  # RUNNING all through the window
    sim.limiter.reset()
    app = sim.add_app("bench-wait", inputs=(), steps=("run",))
    with sim.lock:  # the simulator's own set-up, not over HTTP: not what is measured
        task_ids = [
            sim.jobs.create(sim.username, {"project": sim.project, "app": app, "inputs": {}, "name": f"w{i}"}, run=True).id
            for i in range(TASKS)
        ]  # fmt: skip
    while any(sim.task(t).status != "RUNNING" for t in task_ids):
        time.sleep(0.05)
    print(
        f"{TASKS} tasks RUNNING; {TASKS} triggers, poll {interval:g} s (the sensor's default), window "
        f"{window:g} s, rate limit scaled to {budget} per {window:g} s (load {load()}) ...",
        flush=True,
    )
    mark = len(sim.requests)
    result = asyncio.run(run_triggers(task_ids, interval, window, sim))
    statuses_after = Counter(sim.task(t).status for t in task_ids)
    in_window = sim.requests[mark : result["window_end"]]
    after = sim.requests[result["window_end"] :]
    kinds = Counter(r.route for r in in_window)
    kinds_after = Counter(r.route for r in after)
    too_many = sum(r.status == 429 for r in sim.requests[mark:])
    bulk = kinds["bulk_tasks_get"]
    per_5_min = len(in_window) / scale
    steady = bulk / (window / PLATFORM_WINDOW)
    events = result["events"]
    right = sum(
        e is not None and e["status"] == "success" and e["job_id"] == t
        for e, t in zip(events, task_ids, strict=True)
    )

    def kinds_text(counter: Counter[str]) -> str:
        return ", ".join(f"{route} {count}" for route, count in counter.most_common()) or "none"

    return [
        ("triggers: poll interval / window", f"{interval:g} s{' (sensor default)' if interval == default else ' (OVERRIDDEN)'} / {window:g} s ({INTERVALS} intervals)", "", ""),
        ("triggers: rate limit during the run (scaled)", f"{budget} per {window:g} s = {PLATFORM_BUDGET} per 300 s", "", ""),
        ("triggers: requests in the window, by kind", f"{len(in_window)} ({kinds_text(kinds)})", "", ""),
        ("triggers: bulk reads per interval", f"{bulk / INTERVALS:.2f}", f"<= {math.ceil(TASKS / 100)}", _ok(bulk <= INTERVALS * math.ceil(TASKS / 100))),
        ("triggers: projected requests per 5 min (window incl. first looks)", f"{per_5_min:.0f}", f"<= {PLATFORM_BUDGET}", _ok(per_5_min <= PLATFORM_BUDGET)),
        ("triggers: projected per 5 min, steady state (bulk reads only)", f"{steady:.0f}", f"<= {PLATFORM_BUDGET}", _ok(steady <= PLATFORM_BUDGET)),
        ("triggers: requests after the window (tasks complete)", f"{len(after)} ({kinds_text(kinds_after)})", "", ""),
        ("triggers: 429 answers (whole run)", str(too_many), "0", _ok(too_many == 0)),
        ("triggers: events fired in the window (tasks RUNNING)", str(result["fired_in_window"]), "0", _ok(result["fired_in_window"] == 0)),
        ("triggers: success events after completion", f"{right} / {TASKS} (tasks: {dict(statuses_after)})", f"{TASKS}", _ok(right == TASKS)),
        ("triggers: wall s / CPU s of the loop's process", f"{result['wall']:.0f} / {result['cpu']:.1f}", "", ""),
    ]  # fmt: skip


def quiet() -> None:
    """No INFO lines of 200 triggers' progress: Airflow 3 logs through structlog, Airflow 2 through logging."""
    logging.getLogger("airflow_provider_tis").setLevel(logging.WARNING)
    try:
        import structlog
    except ImportError:
        return
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))


def main() -> int:
    quiet()
    load_start = load()
    with tempfile.TemporaryDirectory(prefix="sbg-bench-") as tmp_name:
        tmp = Path(tmp_name)
        home = tmp / "airflow-home"
        home.mkdir()
        # rate limit out of the way for the upload part (it is measured in the trigger part)
        with SevenBridgesSimulator(workdir=tmp / "sim", rate_limit=10**9) as sim:
            env = {
                **os.environ,
                "AIRFLOW_HOME": str(home),
                "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
                "AIRFLOW_CONN_SEVENBRIDGES_DEFAULT": sim.connection_json(),
            }
            os.environ.update(env)  # the triggers run in this process
            rows = bench_upload(sim, tmp, env)
            load_upload = load()
            rows += bench_triggers(sim)
    print(
        f"\nSeven Bridges: upload {UPLOAD_MIB} MiB, median of {ROUNDS} interleaved rounds; {TASKS} triggers; "
        f"loopback, {os.cpu_count()} cores. Load average (1/5/15 min): start {load_start}, after the uploads "
        f"{load_upload}, end {load()}.\n"
    )
    print("| measure | value | target | met |\n|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    return 0


def _ok(condition: bool) -> str:
    return "yes" if condition else "NO"


if __name__ == "__main__":
    sys.exit(main())
