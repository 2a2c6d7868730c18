"""The simulated platform's timings and limits."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class SbgConfig:
    """Timings and limits (seconds unless noted); change a field on a running simulator to change it.

    :param queue_seconds: a run's time in QUEUED before RUNNING.
    :param run_seconds: time in RUNNING, split evenly over the app's steps (``steps_completed`` counts
        the finished ones); a planned failure ends the run halfway through its step.
    :param abort_seconds: time in ABORTING after an abort.
    :param url_ttl: validity of ``download_info`` URLs: undocumented (§1.5) [I: an hour]; the store
        answers 403 afterwards.
    :param upload_url_ttl: validity of a multipart part's upload URL [I].
    :param min_part_size: smallest part but the last (S3's 5 MiB); an upload asking smaller parts is
        told a larger ``part_size`` at init [I], and a completion with a smaller inner part fails.
    :param rate_limit: requests per ``rate_window`` per user (§1.3: 1000 per 5 minutes).
    :param rate_window: the window's length.
    :param reset_in_ms: send ``X-RateLimit-Reset`` in milliseconds (the CAVATICA docs' example, §1.3)
        rather than seconds (the Seven Bridges docs).
    :param default_limit: page size without ``limit`` [I: 50, §1.4].
    :param max_limit: the largest page (§1.4: 100); a larger ``limit`` is cut to it [I].
    :param bulk_max: ids one ``POST /bulk/tasks/get`` takes (100).
    :param refuse_invalid_run: ``POST /tasks/{id}/actions/run`` on a task with validation errors
        answers 400 code 7024 (the platform's table has this code). Off by default: the facts (§1.2)
        say a run with invalid inputs is no HTTP error, the task stays DRAFT and the body has ``errors``.
    """

    queue_seconds: float = 1.0
    run_seconds: float = 10.0
    abort_seconds: float = 1.0
    url_ttl: float = 3600.0
    upload_url_ttl: float = 3600.0
    min_part_size: int = 5 * 1024 * 1024
    rate_limit: int = 1000
    rate_window: float = 300.0
    reset_in_ms: bool = False
    default_limit: int = 50
    max_limit: int = 100
    bulk_max: int = 100
    refuse_invalid_run: bool = False
