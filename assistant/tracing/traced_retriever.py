"""TracedRetriever: a retriever that records each search as a retrieval step of the current turn."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode
from assistant.tracing.ports import Tracer


class ChunkRetriever(Protocol):
    """What ``HybridRetriever`` offers the dialogue."""

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]: ...


class TracedRetriever:
    """Wraps a retriever. Inside a turn, each search becomes a ``retrieval`` observation: the query
    (content: redacted, or omitted on channels that do not capture), k, filters, mode, and the top
    hits as chunk id, document id, title and score (structure: always exported). Outside a turn it
    only delegates."""

    def __init__(self, inner: ChunkRetriever, tracer: Tracer, *, top: int = 5) -> None:
        self._inner = inner
        self._tracer = tracer
        self._top = top

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        turn = self._tracer.current_turn()
        if turn is None:
            return await self._inner.retrieve(query, k=k, filters=filters, mode=mode)
        with turn.span(
            "retrieval",
            kind="retriever",
            input=query,
            metadata={"k": k, "filters": dict(filters or {}), "mode": mode},
        ) as span:
            hits = await self._inner.retrieve(query, k=k, filters=filters, mode=mode)
            top = [
                {
                    "chunk_id": hit.chunk.chunk_id,
                    "document_id": hit.chunk.document_id,
                    "title": hit.chunk.title,
                    "score": round(hit.score, 4),
                }
                for hit in hits[: self._top]
            ]
            span.annotate({"hit_count": len(hits), "hits": top})
            return hits
