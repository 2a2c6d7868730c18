"""Unpacking the password-protected ``chr_<N>.zip`` results (ZipCrypto, or AES with pyzipper)."""

from __future__ import annotations

import shutil
import zipfile
import zlib
from typing import Any

from airflow_provider_tis.core.download import TransferError
from airflow_provider_tis.core.errors import ConfigError
from airflow_provider_tis.core.files import PartialFile, safe_relative_name

_AES = 99  # WinZip AES compression method


def _open_zip(handle: Any, config_error: type[ConfigError]) -> zipfile.ZipFile:
    archive = zipfile.ZipFile(handle)
    if any(info.compress_type == _AES for info in archive.infolist()):
        try:
            import pyzipper
        except ImportError:
            raise config_error(
                "The results are AES-encrypted (aes_encryption=True); install the extra to unpack them: "
                "pip install 'airflow-provider-tis[aes]'."
            ) from None
        handle.seek(0)
        archive = pyzipper.AESZipFile(handle)
    return archive


def extract_zip(
    archive_path: Any,
    password: str | None,
    folder: Any,
    *,
    config_error: type[ConfigError] = ConfigError,
    transfer_error: type[TransferError] = TransferError,
) -> list[str]:
    """Unpack every member, checking CRCs (and AES authentication codes), into ``folder``.

    Each member is written under a temporary name and renamed when complete; member names that would
    leave the folder are refused. Returns the members' names relative to ``folder``. A wrong password
    raises ``config_error``, a damaged archive ``transfer_error`` (the service's classes).
    """
    written: list[str] = []
    with archive_path.open("rb") as handle:
        archive = _open_zip(handle, config_error)
        if password is not None:
            archive.setpassword(password.encode())
        for info in archive.infolist():
            if info.is_dir():
                continue
            name = safe_relative_name(info.filename, transfer_error)  # a member name is the archive's fault
            partial = PartialFile(folder / name)
            try:
                with archive.open(info) as member:
                    shutil.copyfileobj(member, partial.handle, 1 << 20)
                partial.commit()
            except RuntimeError as exc:  # zipfile's "Bad password for file"
                partial.discard()
                raise config_error(
                    f"Cannot unpack {archive_path.name}: {exc}. Check the password given to the download task."
                ) from None
            except (zipfile.BadZipFile, zlib.error, OSError, ValueError) as exc:  # CRC, inflate, AES MAC
                partial.discard()
                raise transfer_error(f"{archive_path.name} is damaged ({info.filename}: {exc}).") from exc
            written.append(name)
    return written
