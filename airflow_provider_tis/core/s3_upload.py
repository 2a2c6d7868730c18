"""Putting one local file into S3 with temporary credentials a service hands out (Gencove's
``POST /upload-credentials/``, shared/gencove-api.md §3.3), through boto3's transfer manager.

boto3 is an optional extra (``gencove-s3``): it is imported here only, when an upload runs, so neither a
DAG file's parse nor an install without the extra ever needs it. The credentials are registered with
Airflow's secrets masker before boto3 sees them (its DEBUG logs show request headers, the session token
among them), and every error message is scrubbed of them.
"""

from __future__ import annotations

import contextlib
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from airflow_provider_tis.core.errors import ApiError, ConfigError, NetworkError, ProviderError, scrub

#: What to install for uploads of local files.
EXTRA_HINT = "pip install 'airflow-provider-tis[gencove-s3]'"
#: Part size of multipart uploads: S3 wants at least 5 MiB; 8 MiB is boto3's default and the CLI's.
PART_BYTES = 8 * 1024 * 1024
#: Parts in flight at once. Memory stays about PART_BYTES * (PARTS_IN_FLIGHT + IO_QUEUE) whatever the
#: file's size: the transfer manager reads a part only when a worker is free to send it.
PARTS_IN_FLIGHT = 4
IO_QUEUE = 4
#: Loggers whose DEBUG lines show signed request headers (the access key id and the session token).
_CHATTY = ("botocore", "boto3", "s3transfer")


@dataclass(frozen=True)
class TemporaryCredentials:
    """AWS credentials valid for a while (never in repr, logs or messages).

    :param access_key: the access key id.
    :param secret_key: the secret access key.
    :param token: the session token.
    """

    access_key: str = field(repr=False)
    secret_key: str = field(repr=False)
    token: str = field(repr=False)

    @classmethod
    def from_json(cls, data: object, error: type[ProviderError] = ConfigError) -> TemporaryCredentials:
        """From ``{access_key, secret_key, token}`` (the shape Gencove answers); shows only field names."""
        if isinstance(data, dict) and all(
            isinstance(data.get(k), str) and data.get(k) for k in ("access_key", "secret_key", "token")
        ):
            return cls(data["access_key"], data["secret_key"], data["token"])
        fields = sorted(map(str, data)) if isinstance(data, dict) else type(data).__name__
        raise error(
            f"The upload credentials have an unexpected shape ({fields}); expected access_key, secret_key "
            "and token. Nothing was uploaded."
        )

    @property
    def secrets(self) -> tuple[str, ...]:
        return self.access_key, self.secret_key, self.token


def require_boto3(error: type[ConfigError] = ConfigError) -> None:
    """Fail now, before any request, when boto3 (the ``gencove-s3`` extra) is not installed."""
    try:
        import boto3  # noqa: F401
    except ImportError:
        raise error(
            f"Uploading local files needs boto3, which is not installed: run {EXTRA_HINT} on every worker "
            "(or give the FASTQs as URLs or storage paths Gencove can fetch). Nothing was uploaded."
        ) from None


def upload_file(
    path: str | os.PathLike[str],
    bucket: str,
    key: str,
    credentials: TemporaryCredentials,
    *,
    endpoint_url: str | None = None,
    config_error: type[ConfigError] = ConfigError,
    network_error: type[NetworkError] = NetworkError,
    api_error: type[ApiError] = ApiError,
) -> int:
    """Upload a local file to ``s3://bucket/key``; the bytes sent. Large files go in parts
    (:data:`PART_BYTES`, :data:`PARTS_IN_FLIGHT` at once); boto3 retries a failed part itself.

    :param path: the local file.
    :param bucket: the bucket.
    :param key: the object name.
    :param credentials: temporary credentials allowed to put the object.
    :param endpoint_url: an S3-compatible endpoint (tests, MinIO); None for AWS.
    :param config_error: raised when boto3 is missing or the credentials are refused as malformed.
    :param network_error: raised when S3 cannot be reached.
    :param api_error: raised when S3 answers with an error (its status kept).
    """
    require_boto3(config_error)
    import boto3
    import botocore.config
    import botocore.exceptions
    from boto3.exceptions import S3UploadFailedError
    from boto3.s3.transfer import TransferConfig

    from airflow_provider_tis.version_compat import mask_secret

    for secret in credentials.secrets:
        mask_secret(secret)  # botocore's DEBUG log prints request headers (the session token)
    size = os.path.getsize(path)
    where = f"s3://{bucket}/{key}"
    client = boto3.session.Session(
        aws_access_key_id=credentials.access_key,
        aws_secret_access_key=credentials.secret_key,
        aws_session_token=credentials.token,
    ).client(
        "s3",
        endpoint_url=endpoint_url,
        config=botocore.config.Config(
            connect_timeout=10, read_timeout=120, retries={"max_attempts": 5, "mode": "standard"}
        ),
    )
    transfer = TransferConfig(
        multipart_threshold=PART_BYTES,
        multipart_chunksize=PART_BYTES,
        max_concurrency=PARTS_IN_FLIGHT,
        max_io_queue=IO_QUEUE,
    )
    try:
        with _quiet_boto():
            client.upload_file(os.fspath(path), bucket, key, Config=transfer)
    except S3UploadFailedError as exc:
        cause = exc.__cause__ or exc.__context__
        status = _status(cause) if isinstance(cause, botocore.exceptions.ClientError) else 0
        said = scrub(str(exc), *credentials.secrets)
        raise api_error(_refused(where, said, status), status=status, message=said) from None
    except botocore.exceptions.ClientError as exc:
        said = scrub(str(exc), *credentials.secrets)
        raise api_error(_refused(where, said, _status(exc)), status=_status(exc), message=said) from None
    except (botocore.exceptions.NoCredentialsError, botocore.exceptions.ParamValidationError) as exc:
        said = scrub(str(exc), *credentials.secrets)
        raise config_error(f"Could not upload to {where}: {said}. Nothing was kept.") from None
    except botocore.exceptions.BotoCoreError as exc:  # connection, TLS, timeouts after boto3's retries
        said = scrub(str(exc), *credentials.secrets)
        raise network_error(
            f"Could not reach S3 to upload to {where} ({type(exc).__name__}: {said}); boto3 retried. Check "
            "the worker's network (or the connection's extra s3_endpoint_url), then run the task again."
        ) from None
    finally:
        client.close()
    return size


@contextlib.contextmanager
def _quiet_boto() -> Any:
    """boto's DEBUG lines off for the upload: Airflow's masker hides the registered secrets in task logs,
    but not in handlers it does not own (a worker's root logger), and the signed headers are all secret."""
    loggers = [logging.getLogger(name) for name in _CHATTY]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        if logger.getEffectiveLevel() < logging.INFO:
            logger.setLevel(logging.INFO)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _status(exc: Any) -> int:
    metadata = getattr(exc, "response", {}).get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode") if isinstance(metadata, dict) else None
    return status if isinstance(status, int) else 0


def _refused(where: str, said: str, status: int) -> str:
    hint = (
        " The temporary upload credentials were refused or have expired; run the task again for new ones."
        if status in (400, 401, 403)
        else " Run the task again; the upload starts over."
    )
    return f"S3 refused the upload to {where} ({said}).{hint}"
