"""Ports of the retrieval layer: embedders, sparse encoders and the vector index."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol

from assistant.core.knowledge import Chunk, ScoredChunk, SparseVector

DENSE_VECTOR = "dense"
SPARSE_VECTOR = "sparse"

FusionMethod = Literal["rrf", "dbsf"]
SearchMode = Literal["hybrid", "dense", "lexical"]

TermCounts = Mapping[int, int]
"""How often each (hashed) term occurs in one text."""


class DenseEmbedder(Protocol):
    """Turns text into dense vectors. Implementations run CPU/GPU work off the event loop."""

    @property
    def model_id(self) -> str:
        """Identifies model and variant; recorded on the index and checked on every search."""
        ...

    @property
    def dimension(self) -> int: ...

    async def embed_passages(self, texts: Sequence[str]) -> list[tuple[float, ...]]: ...

    async def embed_query(self, text: str) -> tuple[float, ...]: ...


class SparseEncoder(Protocol):
    """Turns Korean text into term counts (the analyzer half of BM25)."""

    @property
    def encoder_id(self) -> str: ...

    def analyze(self, texts: Sequence[str]) -> list[TermCounts]:
        """CPU-bound; call it from a worker thread."""
        ...

    def analyze_query(self, text: str) -> TermCounts: ...


@dataclass(frozen=True, slots=True)
class IndexSpec:
    """What a collection holds. ``embedding_model`` is None for a lexical-only index."""

    collection: str
    embedding_model: str | None
    dense_dim: int | None
    sparse_encoder: str


@dataclass(frozen=True, slots=True)
class IndexPoint:
    chunk: Chunk
    sparse: SparseVector
    dense: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class FusionSpec:
    """How dense and sparse candidates are fused inside the engine.

    ``weights`` are (dense, sparse) and apply to RRF; Qdrant's DBSF takes no weights.
    """

    method: FusionMethod = "dbsf"
    rrf_k: int = 60
    weights: tuple[float, float] = (1.0, 1.0)


@dataclass(frozen=True, slots=True)
class IndexQuery:
    """One search. ``filters`` are exact matches on payload keys (source, category, district, …)."""

    limit: int
    dense: tuple[float, ...] | None = None
    sparse: SparseVector | None = None
    filters: Mapping[str, str] = field(default_factory=dict)
    fusion: FusionSpec = field(default_factory=FusionSpec)
    prefetch_limit: int = 50


@dataclass(frozen=True, slots=True)
class IndexStatus:
    collection: str
    build_id: str
    points: int
    embedding_model: str | None
    dense_dim: int | None
    sparse_encoder: str
    built_at: datetime | None
    metadata: Mapping[str, str] = field(default_factory=dict)


class IndexBuild(Protocol):
    """A new version of a collection being filled; invisible to search until ``commit``."""

    async def upsert(self, points: Sequence[IndexPoint]) -> None: ...

    async def commit(self) -> IndexStatus:
        """Build the HNSW graph, then atomically make this version the one searches see."""
        ...

    async def abort(self) -> None: ...


class VectorIndex(Protocol):
    """A Qdrant-backed store of chunks with named dense and sparse vectors."""

    async def status(self, collection: str) -> IndexStatus | None:
        """The live version of a collection, or None when it has never been built."""
        ...

    async def collections(self) -> list[str]: ...

    async def begin_build(self, spec: IndexSpec, metadata: Mapping[str, str]) -> IndexBuild:
        """Start a blue/green rebuild; ``metadata`` is recorded with the version on commit."""
        ...

    async def search(self, collection: str, query: IndexQuery) -> list[ScoredChunk]: ...

    async def close(self) -> None: ...
