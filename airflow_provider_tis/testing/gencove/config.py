"""The knobs of the simulated Gencove service, and :data:`FAST` (options for quick tests).

Section numbers (§) refer to ``shared/gencove-api.md``; [I] marks a behaviour the facts leave open.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Options for tests that must not wait: a sample finishes in 0.3 s, a restore in 0.3 s.
FAST: dict[str, float] = {"stage_seconds": 0.1, "restore_stage_seconds": 0.1, "upload_seconds": 0.05}


@dataclass
class GencoveConfig:
    """Timing and limits of the simulated service (seconds unless noted).

    :param stage_seconds: length of each analysis stage. A sample is ``scheduled``, then ``running``
        (alignment), ``running`` (imputation), then ``succeeded``, ``failed qc`` or ``failed``: it ends
        ``3 * stage_seconds`` after assignment (§3.3; the stage names are [I]).
    :param upload_seconds: an upload whose bytes the simulator does not fetch (a non-local URL, S3
        credentials) is ``succeeded`` this long after it was asked for [I].
    :param restore_stage_seconds: each step of ``restore_requested -> restore_accepted ->
        restore_started -> restored`` (§3.3).
    :param archive_after: a finished sample's files are archived this long after it ends (None: never;
        the organisation's ``archive_period_days``, §3.3).
    :param restore_period: a restored sample is archived again this long after it is restored (None:
        never; ``archive_restore_period_days``).
    :param link_ttl: validity of a ``download_url`` (pre-signed S3 URL, §3.4). [I] 3600 s, boto3's default.
    :param page_size: results per page when a list call names no ``limit`` [I].
    :param max_page_size: the largest ``limit`` honoured; larger ones are cut to it [I] (the CLI asks 200).
    :param max_cancel: ``sample_ids`` a cancel call accepts (§3.3: ``maxItems`` 20).
    :param qc_fail_pattern: a ``client_id`` matching this regex ends ``failed qc`` [I, a test knob].
    :param fail_pattern: otherwise, a ``client_id`` matching this regex ends ``failed`` [I, a test knob].
    :param cancel_status: the status a canceled sample shows; the facts have none (§4 table) [I].
    :param bam_size: bytes of each ``bam`` deliverable (large values exercise parallel Range downloads).
    :param upload_bucket: the S3 bucket ``uploads-post-data`` names for the client's own upload.
    """

    stage_seconds: float = 1.0
    upload_seconds: float = 0.5
    restore_stage_seconds: float = 1.0
    archive_after: float | None = None
    restore_period: float | None = None
    link_ttl: float = 3600.0
    page_size: int = 20
    max_page_size: int = 200
    max_cancel: int = 20
    qc_fail_pattern: str = r"(?i)fail[-_ ]?qc"
    fail_pattern: str = r"(?i)fail"
    cancel_status: str = "canceled"
    bam_size: int = 64 * 1024
    upload_bucket: str = "gencove-sim-uploads"
