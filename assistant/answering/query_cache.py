"""A DenseEmbedder wrapper that remembers recent query vectors (hybrid search and the dense probe
embed the same question; the verifier re-embeds repeated sentences)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from assistant.retrieval.ports import DenseEmbedder


class QueryVectorCache:
    """``DenseEmbedder`` that caches ``embed_query`` results (LRU of ``size``); passages pass through."""

    def __init__(self, inner: DenseEmbedder, *, size: int = 256) -> None:
        self._inner = inner
        self._size = size
        self._vectors: OrderedDict[str, tuple[float, ...]] = OrderedDict()

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def dimension(self) -> int:
        return self._inner.dimension

    async def embed_passages(self, texts: Sequence[str]) -> list[tuple[float, ...]]:
        return await self._inner.embed_passages(texts)

    async def embed_query(self, text: str) -> tuple[float, ...]:
        cached = self._vectors.get(text)
        if cached is not None:
            self._vectors.move_to_end(text)
            return cached
        vector = await self._inner.embed_query(text)
        self._vectors[text] = vector
        if len(self._vectors) > self._size:
            self._vectors.popitem(last=False)
        return vector
