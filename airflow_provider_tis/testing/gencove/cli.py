"""Command line pieces for ``python -m airflow_provider_tis.testing serve --service gencove``.

The shared parser already has ``--port``, ``--run-seconds`` and ``--workdir``; :func:`add_cli_arguments`
adds the Gencove-only flags (named so they clash with no other service's).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_tis.testing.gencove.simulator import GencoveSimulator

if TYPE_CHECKING:
    import argparse
    from argparse import Namespace


def add_cli_arguments(group: argparse._ArgumentGroup) -> None:
    """Add the Gencove simulator's flags to ``group`` (e.g. ``parser.add_argument_group("Gencove only")``).

    :param group: the argument group to add to.
    """
    group.add_argument("--api-key", help="the account's API key (default: a random one)")
    group.add_argument(
        "--files-port", type=int, default=0, help="port of the file store (default: a free one)"
    )
    group.add_argument(
        "--stage-seconds",
        type=float,
        help="seconds per analysis stage; a sample ends after 3 stages (default: --run-seconds / 3)",
    )
    group.add_argument("--restore-stage-seconds", type=float, default=5.0, help="seconds per restore step")
    group.add_argument("--link-ttl", type=float, default=3600.0, help="validity of download links in seconds")
    group.add_argument(
        "--archive-after", type=float, help="archive a finished sample after this many seconds"
    )
    group.add_argument("--page-size", type=int, default=20, help="results per page when no limit is given")
    group.add_argument(
        "--demo-samples", type=int, default=3, help="finished samples to seed the default project with"
    )


def from_cli_args(args: Namespace) -> GencoveSimulator:
    """A (not yet started) simulator from parsed arguments: the shared ``port``, ``run_seconds`` and
    ``workdir``, and the flags of :func:`add_cli_arguments`.

    :param args: the parsed command line.
    """
    run_seconds = getattr(args, "run_seconds", None) or 3.0
    stage_seconds = getattr(args, "stage_seconds", None) or run_seconds / 3
    sim = GencoveSimulator(
        port=getattr(args, "port", 0) or 0,
        store_port=getattr(args, "files_port", 0) or 0,
        api_key=getattr(args, "api_key", None),
        workdir=getattr(args, "workdir", None),
        stage_seconds=stage_seconds,
        restore_stage_seconds=getattr(args, "restore_stage_seconds", 5.0),
        link_ttl=getattr(args, "link_ttl", 3600.0),
        archive_after=getattr(args, "archive_after", None),
        page_size=getattr(args, "page_size", 20),
    )
    for index in range(getattr(args, "demo_samples", 0) or 0):
        sim.add_sample(f"demo-{index + 1:03d}")
    return sim


def describe(sim: GencoveSimulator) -> list[str]:
    """Lines to print once ``sim`` listens: where it is, its API key and its project.

    :param sim: a started simulator.
    """
    return [
        f"Gencove simulator at {sim.url} (API: {sim.api_url}, files: {sim.store_url})",
        f"API key: {sim.api_key}",
        f"Project id: {sim.project_id}",
        f"export AIRFLOW_CONN_GENCOVE_DEFAULT='{sim.connection_json()}'",
    ]
