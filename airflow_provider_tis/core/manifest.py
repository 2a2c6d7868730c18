"""The download manifest: proof of what was written at a destination, so a retry skips only what it proves.

A file's size alone cannot tell one job's ``chr_20.zip`` from another's, so each completed file gets an entry
in ``<destination>/.tis-manifest/``: one small JSON file per downloaded file, written after the file itself is
in place. One file per entry (not one shared file) keeps two tasks writing into one folder from losing each
other's entries. Entries are named by a hash of the file name, so any listed name fits the name limit.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

MANIFEST_FOLDER = ".tis-manifest"
FORMAT = 1


@dataclass(frozen=True)
class ManifestEntry:
    """What was written for one listed file.

    :param job_id: the TIS job the file came from.
    :param name: the file's name as the server listed it.
    :param size: bytes written at the destination.
    :param md5: the MD5 of those bytes where the job has a ``.md5`` sidecar for the file, else None.
    :param unpacked: for a zip, the members unpacked from it (relative to the destination), or None when
        it was not unpacked (yet).
    """

    job_id: str
    name: str
    size: int
    md5: str | None = None
    unpacked: tuple[str, ...] | None = None

    def to_json(self) -> bytes:
        data = {"format": FORMAT, **asdict(self)}
        return json.dumps(data, indent=1).encode()

    @classmethod
    def from_json(cls, raw: bytes) -> ManifestEntry | None:
        """The entry, or None for anything that is not an entry this version wrote (never trusted)."""
        try:
            data = json.loads(raw)
        except ValueError:
            return None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return None
        job_id, name, size, md5 = data.get("job_id"), data.get("name"), data.get("size"), data.get("md5")
        unpacked = data.get("unpacked")
        if not (isinstance(job_id, str) and isinstance(name, str) and isinstance(size, int)):
            return None
        if md5 is not None and not isinstance(md5, str):
            return None
        if unpacked is not None and not (
            isinstance(unpacked, list) and all(isinstance(m, str) for m in unpacked)
        ):
            return None
        return cls(job_id, name, size, md5, None if unpacked is None else tuple(unpacked))


class Manifest:
    """The entries of one destination folder.

    :param root: the destination (a local or object-storage ObjectStoragePath).
    :param write: writes bytes to a path atomically and privately (``transfer.write_atomically``).
    """

    def __init__(self, root: Any, write: Callable[[Any, bytes], None]) -> None:
        self.root = root
        self._write = write

    def path_of(self, name: str) -> Any:
        digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:32]
        return self.root / MANIFEST_FOLDER / f"{digest}.json"

    def entry(self, name: str) -> ManifestEntry | None:
        try:
            raw = self.path_of(name).read_bytes()
        except (FileNotFoundError, OSError):
            return None
        entry = ManifestEntry.from_json(raw)
        return entry if entry is not None and entry.name == name else None

    def record(self, entry: ManifestEntry) -> None:
        self._write(self.path_of(entry.name), entry.to_json())
