"""The production dense embedder: any sentence-transformers model, on CPU or GPU."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.core.errors import EmbeddingError


class SentenceTransformerEmbedder:
    """``DenseEmbedder`` on ``sentence_transformers.SentenceTransformer``.

    ``model_name_or_path`` is a Hugging Face id or a local directory; ``name`` overrides the name
    recorded in ``model_id`` (by default the id itself, or a directory's last component), so the
    same model in different directories yields the same id. Prefixes are prepended verbatim (e5
    models want ``"query: "``/``"passage: "``). sentence-transformers and torch are imported and the
    model loaded on first use (importing them alone takes seconds); calls run in a worker thread.
    """

    def __init__(
        self,
        model_name_or_path: str,
        *,
        device: str = "cpu",
        batch_size: int = 32,
        query_prefix: str = "",
        passage_prefix: str = "",
        normalize: bool = True,
        name: str | None = None,
    ) -> None:
        if not model_name_or_path:
            raise ValueError("model_name_or_path is required")
        if batch_size < 1:
            raise ValueError("batch_size must be at least 1")
        self._source = model_name_or_path
        self._name = name or _default_name(model_name_or_path)
        self._device = device
        self._batch_size = batch_size
        self._query_prefix = query_prefix
        self._passage_prefix = passage_prefix
        self._normalize = normalize
        self._lock = threading.Lock()
        self._model: Any = None
        self._dimension: int | None = None

    @property
    def model_id(self) -> str:
        return f"sentence-transformers/{self._name}"

    @property
    def dimension(self) -> int:
        """Loads the model when it is not loaded yet (blocking): call ``load`` early in async code."""
        self._load()
        assert self._dimension is not None
        return self._dimension

    async def load(self) -> None:
        """Load the model in a worker thread."""
        await asyncio.to_thread(self._load)

    async def embed_passages(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        if not texts:
            return []
        return await asyncio.to_thread(self._encode, [self._passage_prefix + t for t in texts])

    async def embed_query(self, text: str) -> tuple[float, ...]:
        return (await asyncio.to_thread(self._encode, [self._query_prefix + text]))[0]

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                try:
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(self._source, device=self._device)
                    dimension = model.get_embedding_dimension()
                except Exception as exc:  # torch, transformers and hub errors have no common base
                    reason = f"{type(exc).__name__}: {exc}"
                    raise EmbeddingError(f"cannot load {self._source!r}: {reason}") from exc
                if not dimension:
                    raise EmbeddingError(f"{self._source!r} does not report its embedding dimension")
                self._model, self._dimension = model, int(dimension)
            return self._model

    def _encode(self, texts: list[str]) -> list[tuple[float, ...]]:
        model = self._load()
        try:
            matrix = model.encode(
                texts,
                batch_size=self._batch_size,
                normalize_embeddings=self._normalize,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        except Exception as exc:  # same reason as in _load
            raise EmbeddingError(f"{self.model_id} failed: {type(exc).__name__}: {exc}") from exc
        array = np.asarray(matrix, dtype=np.float32)
        if array.shape != (len(texts), self._dimension) or not np.all(np.isfinite(array)):
            raise EmbeddingError(f"{self.model_id} returned an unusable matrix of shape {array.shape}")
        return [tuple(row) for row in array.tolist()]


def _default_name(model_name_or_path: str) -> str:
    path = Path(model_name_or_path)
    if path.is_absolute() or model_name_or_path.startswith((".", "~")) or path.is_dir():
        return path.expanduser().name
    return model_name_or_path
