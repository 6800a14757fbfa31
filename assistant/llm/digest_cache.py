"""Remembers the sha256 of files already hashed, valid only while the file's stat is unchanged."""

from __future__ import annotations

import json
import logging
import os
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class FileStamp:
    """What must stay the same for a remembered digest to hold: size, mtime (ns) and inode."""

    size: int
    mtime_ns: int
    inode: int

    @classmethod
    def of(cls, path: Path) -> FileStamp:
        st = path.stat()
        return cls(size=st.st_size, mtime_ns=st.st_mtime_ns, inode=st.st_ino)


class DigestCache:
    """A small JSON file mapping a resolved path to ``{stamp, sha256}``.

    Hashing 1.1 GB takes seconds on a busy machine, so a second start reuses the digest while the
    file's size, mtime and inode are unchanged; any change (rewrite, copy over, touch) hashes again.
    The cache is as trusted as the data directory it lives in. A corrupt cache is treated as empty.
    Not thread-safe: the owner serialises access (``ModelFileStore`` holds a file lock).
    """

    def __init__(self, path: Path) -> None:
        self._path = path

    def lookup(self, file: Path) -> str | None:
        entry = self._load().get(str(file.resolve()))
        if not isinstance(entry, dict):
            return None
        try:
            stamp = FileStamp.of(file)
        except OSError:
            return None
        remembered = entry.get("stamp")
        sha256 = entry.get("sha256")
        if remembered != asdict(stamp) or not isinstance(sha256, str):
            return None
        return sha256

    def record(self, file: Path, sha256: str) -> None:
        entries = self._load()
        entries[str(file.resolve())] = {"stamp": asdict(FileStamp.of(file)), "sha256": sha256}
        self._save(entries)

    def forget(self, file: Path) -> None:
        entries = self._load()
        if entries.pop(str(file.resolve()), None) is not None:
            self._save(entries)

    def _load(self) -> dict[str, object]:
        try:
            raw = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            _log.warning("ignoring unreadable digest cache %s: %s", self._path, exc)
            return {}
        return raw if isinstance(raw, dict) else {}

    def _save(self, entries: dict[str, object]) -> None:
        self._path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self._path.parent, prefix=f".{self._path.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(entries, out, indent=1, sort_keys=True)
            os.replace(tmp, self._path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
