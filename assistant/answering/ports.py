"""What the answer pipeline needs from retrieval: chunk search and (optionally) dense vectors."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode


class ChunkRetriever(Protocol):
    """``HybridRetriever`` satisfies it; tests use an in-memory one."""

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]: ...


class TextEmbedder(Protocol):
    """The part of ``DenseEmbedder`` the verifier uses: unit vectors for short texts and passages."""

    async def embed_query(self, text: str) -> tuple[float, ...]: ...

    async def embed_passages(self, texts: Sequence[str]) -> list[tuple[float, ...]]: ...


class DenseCosine(Protocol):
    """The best dense cosine between a query and the collection, or None when there is no dense index."""

    async def best_cosine(self, query: str) -> float | None: ...
