"""The hybrid retriever: encode the query both ways, let the engine fuse, check the index matches."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from assistant.core.errors import IndexMismatch, RetrievalError
from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.bm25 import query_vector
from assistant.retrieval.ports import (
    DenseEmbedder,
    FusionSpec,
    IndexQuery,
    IndexStatus,
    SearchMode,
    SparseEncoder,
    VectorIndex,
)


class HybridRetriever:
    """Retrieves chunks for a question from one collection.

    ``mode`` picks the signals: ``hybrid`` (dense + Kiwi BM25, fused in the engine), ``dense`` or
    ``lexical``. A lexical-only index serves lexical results whatever the mode. An index built with
    another embedding model or sparse encoder is refused with ``IndexMismatch``.
    """

    def __init__(
        self,
        *,
        index: VectorIndex,
        sparse: SparseEncoder,
        embedder: DenseEmbedder | None,
        collection: str,
        fusion: FusionSpec,
        mode: SearchMode = "hybrid",
        prefetch_limit: int = 50,
    ) -> None:
        self._index = index
        self._sparse = sparse
        self._embedder = embedder
        self._collection = collection
        self._fusion = fusion
        self._mode: SearchMode = mode
        self._prefetch_limit = prefetch_limit
        self._checked_build: str | None = None

    @property
    def collection(self) -> str:
        return self._collection

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        status = await self._index.status(self._collection)
        if status is None:
            raise RetrievalError(
                f"collection '{self._collection}' has not been built yet; run `dasan ingest` first"
            )
        self._check(status)
        wanted = mode or self._mode
        has_dense = status.embedding_model is not None and self._embedder is not None
        use_dense = has_dense and wanted in ("hybrid", "dense")
        use_sparse = wanted in ("hybrid", "lexical") or not use_dense
        dense = await self._embedder.embed_query(query) if use_dense and self._embedder else None
        sparse = (
            query_vector(await asyncio.to_thread(self._sparse.analyze_query, query)) if use_sparse else None
        )
        if sparse is not None and not sparse.indices and dense is None:
            return []
        return await self._index.search(
            self._collection,
            IndexQuery(
                limit=k,
                dense=dense,
                sparse=sparse if sparse is not None and sparse.indices else None,
                filters=dict(filters or {}),
                fusion=self._fusion,
                prefetch_limit=max(self._prefetch_limit, k),
            ),
        )

    def _check(self, status: IndexStatus) -> None:
        if self._checked_build == status.build_id:
            return
        if status.sparse_encoder != self._sparse.encoder_id:
            raise IndexMismatch(
                f"collection '{self._collection}' was built with sparse encoder "
                f"'{status.sparse_encoder}', but '{self._sparse.encoder_id}' is configured; "
                "re-ingest with `dasan ingest --recreate`"
            )
        if (
            status.embedding_model is not None
            and self._embedder is not None
            and status.embedding_model != self._embedder.model_id
        ):
            raise IndexMismatch(
                f"collection '{self._collection}' was built with embedding model "
                f"'{status.embedding_model}', but '{self._embedder.model_id}' is configured "
                "(DASAN_EMBEDDING__BACKEND / DASAN_EMBEDDING__MODEL); use the same model or re-ingest "
                "with `dasan ingest --recreate`"
            )
        self._checked_build = status.build_id
