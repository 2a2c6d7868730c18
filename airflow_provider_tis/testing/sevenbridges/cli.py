"""Command line pieces for ``python -m airflow_provider_tis.testing serve --service sevenbridges``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.testing.sevenbridges.simulator import SevenBridgesSimulator

if TYPE_CHECKING:
    import argparse


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Add the Seven Bridges flags to an argument group (``--port``, ``--run-seconds`` and
    ``--workdir`` are the shared ones ``from_cli_args`` reads too).

    :param group: e.g. ``parser.add_argument_group("Seven Bridges only")``.
    """
    group.add_argument(
        "--sbg-store-port", type=int, default=0, help="object store port (default: a free one)"
    )
    group.add_argument("--sbg-username", default="alice", help="the user (default: alice)")
    group.add_argument("--sbg-token", help="the user's token (default: a random one)")
    group.add_argument("--sbg-project", default="demo", help="the project's name (id: <user>/<name>)")
    group.add_argument("--sbg-queue-seconds", type=float, default=1.0, help="time a run is QUEUED")
    group.add_argument("--sbg-url-ttl", type=float, default=3600.0, help="validity of download URLs (s)")
    group.add_argument("--sbg-rate-limit", type=int, default=1000, help="requests per window per user")
    group.add_argument("--sbg-rate-window", type=float, default=300.0, help="the rate limit window (s)")
    group.add_argument(
        "--sbg-reset-in-ms", action="store_true", help="send X-RateLimit-Reset in milliseconds, not seconds"
    )
    group.add_argument(
        "--sbg-refuse-invalid-run",
        action="store_true",
        help="refuse to run a task with validation errors (400 code 7024) instead of answering it as DRAFT",
    )


def from_cli_args(args: argparse.Namespace) -> SevenBridgesSimulator:
    """The simulator the parsed flags describe (not started).

    :param args: flags from :func:`add_cli_arguments` plus the shared ``port``, ``run_seconds`` and
        ``workdir`` (each optional).
    """
    return SevenBridgesSimulator(
        port=getattr(args, "port", 0) or 0,
        store_port=args.sbg_store_port,
        username=args.sbg_username,
        token=args.sbg_token,
        project=args.sbg_project,
        workdir=getattr(args, "workdir", None),
        run_seconds=getattr(args, "run_seconds", None) or 10.0,
        queue_seconds=args.sbg_queue_seconds,
        url_ttl=args.sbg_url_ttl,
        rate_limit=args.sbg_rate_limit,
        rate_window=args.sbg_rate_window,
        reset_in_ms=args.sbg_reset_in_ms,
        refuse_invalid_run=args.sbg_refuse_invalid_run,
    )


def describe(sim: SevenBridgesSimulator) -> list[str]:
    """Lines to print once the simulator listens: the API base, the token, the project and apps."""
    return [
        f"Seven Bridges simulator at {sim.url}",
        f"API token (X-SBG-Auth-Token): {sim.token}",
        f"Project: {sim.project}",
        f"Apps: {sim.demo_app} (demo), {sim.failing_app} (always fails)",
        f"export AIRFLOW_CONN_SEVENBRIDGES_DEFAULT='{sim.connection_json()}'",
    ]
