"""How fast the simulator moves bytes on loopback (it must not be the bottleneck of transfer benchmarks).

Run: .venv/bin/python benchmarks/simulator_throughput.py [size in MiB, default 512]
Uses curl as the client so that only the simulator is measured.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from airflow_provider_tis.testing import TisSimulator


def main() -> None:
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 512
    with tempfile.TemporaryDirectory() as tmp, TisSimulator(zip_padding=size << 20, run_seconds=0.1) as sim:
        upload = Path(tmp) / "big.vcf.gz"
        with upload.open("wb") as out:
            block = bytes(range(256)) * 4096
            for _ in range(size):
                out.write(block)
        started = time.perf_counter()
        subprocess.run(
            [
                "curl",
                "-sS",
                "-o",
                "/dev/null",
                "-H",
                f"X-Auth-Token: {sim.token}",
                "-F",
                "refpanel=topmed-r3",
                "-F",
                f"files=@{upload}",
                f"{sim.url}/api/v2/jobs/submit/imputationserver2",
            ],
            check=True,
        )
        upload_rate = size / (time.perf_counter() - started)
        sim.config.strand_flips = False
        small = Path(tmp) / "chr20.vcf.gz"
        from airflow_provider_tis.testing import write_vcf

        write_vcf(small)
        job_id = (
            subprocess.run(
                [
                    "curl",
                    "-sS",
                    "-H",
                    f"X-Auth-Token: {sim.token}",
                    "-F",
                    "refpanel=topmed-r3",
                    "-F",
                    "population=all",
                    "-F",
                    f"files=@{small}",
                    f"{sim.url}/api/v2/jobs/submit/imputationserver2",
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            .stdout.split('"id": "')[1]
            .split('"')[0]
        )
        job = sim.wait_for_state(job_id, 4, timeout=120)
        zip_file = next(f for f in job.files if f.name == "chr_20.zip")
        started = time.perf_counter()
        subprocess.run(
            [
                "curl",
                "-sS",
                "-L",
                "-o",
                "/dev/null",
                f"{sim.url}/share/results/{zip_file.hash}/{zip_file.name}",
            ],
            check=True,
        )
        download_rate = (zip_file.size / 2**20) / (time.perf_counter() - started)
    print(f"| direction | MiB | MiB/s |\n|---|---|---|\n| upload (curl -F) | {size} | {upload_rate:.0f} |")
    print(f"| download (curl -L) | {zip_file.size >> 20} | {download_rate:.0f} |")


if __name__ == "__main__":
    main()
