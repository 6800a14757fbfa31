"""The best dense cosine between a question and the index, when the index has dense vectors."""

from __future__ import annotations

from assistant.answering.ports import ChunkRetriever
from assistant.retrieval.ports import VectorIndex


class DenseProbe:
    """Runs a dense-only search (k=1) and returns its score, which Qdrant reports as the cosine.

    Only when the collection was built with an embedding model: on a lexical-only index the retriever
    answers a dense request with BM25 scores, which are not cosines. The check is cached per build.
    """

    def __init__(self, retriever: ChunkRetriever, index: VectorIndex, collection: str) -> None:
        self._retriever = retriever
        self._index = index
        self._collection = collection
        self._build: str | None = None
        self._dense = False

    async def best_cosine(self, query: str) -> float | None:
        status = await self._index.status(self._collection)
        if status is None:
            return None
        if status.build_id != self._build:
            self._build, self._dense = status.build_id, status.embedding_model is not None
        if not self._dense:
            return None
        hits = await self._retriever.retrieve(query, k=1, mode="dense")
        return hits[0].score if hits else None
