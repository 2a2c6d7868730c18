"""Command line: ``python -m airflow_provider_tis.testing serve|vcf``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading

from airflow_provider_tis.testing.profiles import PROFILES
from airflow_provider_tis.testing.simulator import TisSimulator
from airflow_provider_tis.testing.vcf import write_vcf


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_tis.testing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a simulated imputation server on 127.0.0.1 until stopped")
    serve.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    serve.add_argument("--store-port", type=int, default=0, help="object store port (default: a free one)")
    serve.add_argument("--profile", choices=sorted(PROFILES), default="tis")
    serve.add_argument("--username", default="alice")
    serve.add_argument("--workdir", help="keep uploads and outputs here (default: a temporary folder)")
    serve.add_argument("--run-seconds", type=float, default=5.0, help="how long a job runs")
    serve.add_argument("--export-seconds", type=float, default=1.0)
    serve.add_argument("--max-active-jobs", type=int, default=3)
    serve.add_argument("--download-limit", type=int, default=10)
    serve.add_argument("--url-ttl", type=float, default=3600.0, help="validity of download URLs in seconds")
    serve.add_argument("--md5", action="store_true", help="also export chr_<N>.zip.md5 files")
    serve.add_argument("--strand-flips", action="store_true", help="fail quality control of every job")

    vcf = commands.add_parser("vcf", help="write a small valid bgzipped VCF")
    vcf.add_argument("path")
    vcf.add_argument("--samples", type=int, default=25)
    vcf.add_argument("--chromosomes", default="20", help="comma-separated, e.g. 20,21")
    vcf.add_argument("--snps", type=int, default=40, help="records per chromosome")
    vcf.add_argument("--build", choices=("hg19", "hg38"), default="hg19")

    args = parser.parse_args(argv)
    if args.command == "vcf":
        chromosomes = tuple(c.strip() for c in args.chromosomes.split(",") if c.strip())
        path = write_vcf(
            args.path, samples=args.samples, chromosomes=chromosomes, snps=args.snps, build=args.build
        )
        print(path)
        return 0

    sim = TisSimulator(
        profile=args.profile,
        port=args.port,
        store_port=args.store_port,
        username=args.username,
        workdir=args.workdir,
        run_seconds=args.run_seconds,
        export_seconds=args.export_seconds,
        max_active_jobs=args.max_active_jobs,
        download_limit=args.download_limit,
        url_ttl=args.url_ttl,
        md5=args.md5,
        strand_flips=args.strand_flips,
    )
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with sim:
        print(f"TIS simulator ({sim.profile.server_name}) at {sim.url}", flush=True)
        print(f"API token: {sim.token}", flush=True)
        print(f"export AIRFLOW_CONN_TIS_DEFAULT='{sim.connection_json()}'", flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
