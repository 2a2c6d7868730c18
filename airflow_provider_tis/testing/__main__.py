"""Command line: ``python -m airflow_provider_tis.testing serve [--service tis|cgi] | vcf | mutations``."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from typing import TYPE_CHECKING, Any

from airflow_provider_tis.testing import gencove, sevenbridges
from airflow_provider_tis.testing.cgi import CgiSimulator, write_mutations
from airflow_provider_tis.testing.tis.profiles import PROFILES
from airflow_provider_tis.testing.tis.simulator import TisSimulator
from airflow_provider_tis.testing.tis.vcf import write_vcf

if TYPE_CHECKING:
    from collections.abc import Callable


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m airflow_provider_tis.testing", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run a simulated service on 127.0.0.1 until stopped")
    serve.add_argument(
        "--service",
        choices=("tis", "cgi", "sevenbridges", "gencove"),
        default="tis",
        help="which service (default: tis)",
    )
    serve.add_argument("--port", type=int, default=0, help="API port (default: a free one)")
    serve.add_argument("--run-seconds", type=float, default=5.0, help="how long a job runs")
    serve.add_argument("--workdir", help="keep uploads and outputs here (default: a temporary folder)")
    serve.add_argument(
        "--request-log", metavar="FILE", help="append every request to FILE as JSON lines (tokens hashed)"
    )
    tis = serve.add_argument_group("TIS only")
    tis.add_argument("--store-port", type=int, default=0, help="object store port (default: a free one)")
    tis.add_argument("--profile", choices=sorted(PROFILES), default="tis")
    tis.add_argument("--username", default="alice")
    tis.add_argument("--export-seconds", type=float, default=1.0)
    tis.add_argument("--max-active-jobs", type=int, default=3)
    tis.add_argument(
        "--threads", type=int, default=5, help="jobs running at once; the rest wait in the queue"
    )
    tis.add_argument("--download-limit", type=int, default=10)
    tis.add_argument("--url-ttl", type=float, default=3600.0, help="validity of download URLs in seconds")
    tis.add_argument("--md5", action="store_true", help="also export chr_<N>.zip.md5 files")
    tis.add_argument("--strand-flips", action="store_true", help="fail quality control of every job")
    cgi = serve.add_argument_group("CGI only")
    cgi.add_argument("--email", default="alice@example.org", help="the account's email (Authorization login)")
    cgi.add_argument("--token", help="the account's API token (default: a random one)")
    cgi.add_argument("--max-jobs", type=int, default=20, help="jobs an account may hold before submits fail")
    cgi.add_argument("--download-ranges", action="store_true", help="honour Range on downloads (206)")
    sevenbridges.add_cli_arguments(serve.add_argument_group("Seven Bridges only"))
    gencove.add_cli_arguments(serve.add_argument_group("Gencove only"))

    vcf = commands.add_parser("vcf", help="write a small valid bgzipped VCF (TIS input)")
    vcf.add_argument("path")
    vcf.add_argument("--samples", type=int, default=25)
    vcf.add_argument("--chromosomes", default="20", help="comma-separated, e.g. 20,21")
    vcf.add_argument("--snps", type=int, default=40, help="records per chromosome")
    vcf.add_argument("--build", choices=("hg19", "hg38"), default="hg19")

    mutations = commands.add_parser(
        "mutations", help="write a small valid CGI mutations file (chr pos ref alt)"
    )
    mutations.add_argument("path")
    mutations.add_argument("--sample", help="add a sample column with this value")
    return parser


def _serve(sim: Any, describe: Callable[[Any], list[str]], request_log: str | None = None) -> None:
    """Run ``sim`` until SIGTERM or Ctrl-C, after printing ``describe(sim)`` (once it listens)."""
    if request_log:
        sim.log_requests_to(request_log)
    stopped = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopped.set())
    with sim:
        for line in describe(sim):
            print(line, flush=True)
        try:
            stopped.wait()
        except KeyboardInterrupt:
            pass


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "vcf":
        chromosomes = tuple(c.strip() for c in args.chromosomes.split(",") if c.strip())
        path = write_vcf(
            args.path, samples=args.samples, chromosomes=chromosomes, snps=args.snps, build=args.build
        )
        print(path)
        return 0
    if args.command == "mutations":
        print(write_mutations(args.path, sample=args.sample))
        return 0

    if args.service in ("sevenbridges", "gencove"):
        service = sevenbridges if args.service == "sevenbridges" else gencove
        _serve(service.from_cli_args(args), service.describe, args.request_log)
        return 0
    if args.service == "cgi":
        cgi = CgiSimulator(
            port=args.port,
            email=args.email,
            token=args.token,
            workdir=args.workdir,
            run_seconds=args.run_seconds,
            max_jobs=args.max_jobs,
            download_ranges=args.download_ranges,
        )
        _serve(
            cgi,
            lambda sim: [
                f"CGI simulator at {sim.url}",  # the API root is {url}/api/v1
                f"Email: {sim.email}",
                f"API token: {sim.token}",
                f"export AIRFLOW_CONN_CGI_DEFAULT='{sim.connection_json()}'",
            ],
            args.request_log,
        )
        return 0

    tis = TisSimulator(
        profile=args.profile,
        port=args.port,
        store_port=args.store_port,
        username=args.username,
        workdir=args.workdir,
        run_seconds=args.run_seconds,
        export_seconds=args.export_seconds,
        max_active_jobs=args.max_active_jobs,
        threads=args.threads,
        download_limit=args.download_limit,
        url_ttl=args.url_ttl,
        md5=args.md5,
        strand_flips=args.strand_flips,
    )
    _serve(
        tis,
        lambda sim: [
            f"TIS simulator ({sim.profile.server_name}) at {sim.url}",
            f"API token: {sim.token}",
            f"export AIRFLOW_CONN_TIS_DEFAULT='{sim.connection_json()}'",
        ],
        args.request_log,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
