"""Knowledge types: documents from connectors, chunks in the index, scored search hits."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NewType

DocumentId = NewType("DocumentId", str)
ChunkId = NewType("ChunkId", str)

DocumentKind = Literal["prose", "record"]
"""``prose`` is split into sentence-aware chunks; a ``record`` (one table row) is one chunk."""

_CHUNK_NAMESPACE = uuid.UUID("6f2b6d7e-1c1a-4f59-9a51-0d6c7a3e2b10")


@dataclass(frozen=True, slots=True)
class Section:
    """A titled part of a document. ``heading`` is empty when the text has none."""

    heading: str
    text: str


@dataclass(frozen=True, slots=True)
class Document:
    """One unit of knowledge as a connector produced it.

    ``document_id`` is stable across runs for the same item; ``fingerprint`` changes exactly when
    its content or metadata changes. ``origin`` names the file or page it came from, so a failed
    re-read of that origin never deletes what was indexed from it before.
    """

    document_id: DocumentId
    source: str
    title: str
    sections: tuple[Section, ...]
    fingerprint: str
    origin: str
    kind: DocumentKind = "prose"
    url: str | None = None
    category: str | None = None
    updated_at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def char_count(self) -> int:
        return sum(len(s.heading) + len(s.text) for s in self.sections)


def fingerprint_of(
    *,
    title: str,
    sections: tuple[Section, ...],
    url: str | None = None,
    category: str | None = None,
    updated_at: datetime | None = None,
    metadata: Mapping[str, str] | None = None,
) -> str:
    """A content hash over everything that ends up in the index."""
    canonical = json.dumps(
        {
            "title": title,
            "sections": [[s.heading, s.text] for s in sections],
            "url": url,
            "category": category,
            "updated_at": updated_at.isoformat() if updated_at else None,
            "metadata": dict(sorted((metadata or {}).items())),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def chunk_id_for(document_id: DocumentId, ordinal: int) -> ChunkId:
    """A stable UUID (Qdrant point ids must be UUIDs or integers) for a document's n-th chunk."""
    return ChunkId(str(uuid.uuid5(_CHUNK_NAMESPACE, f"{document_id}#{ordinal}")))


@dataclass(frozen=True, slots=True)
class Chunk:
    """A searchable piece of a document. ``text`` is the body; ``section`` its heading."""

    chunk_id: ChunkId
    document_id: DocumentId
    ordinal: int
    source: str
    title: str
    section: str
    text: str
    url: str | None = None
    category: str | None = None
    updated_at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    @property
    def indexed_text(self) -> str:
        """What the encoders see: the title and section heading travel with every chunk."""
        head = " > ".join(part for part in (self.title, self.section) if part)
        return f"{head}\n{self.text}" if head else self.text


@dataclass(frozen=True, slots=True)
class SparseVector:
    """Term ids (stable 32-bit hashes) and their weights."""

    indices: tuple[int, ...]
    values: tuple[float, ...]


@dataclass(frozen=True, slots=True)
class ScoredChunk:
    """A search hit. ``score`` is the fused score: higher is better."""

    chunk: Chunk
    score: float


@dataclass(frozen=True, slots=True)
class SourceProblem:
    """Something a connector could not read. The scan reports it and goes on.

    ``location`` is the origin (file path or API page) exactly as documents from it carry it in
    ``Document.origin``; ``row`` is 1-based where it applies (a CSV data row, a JSONL line).
    """

    location: str
    reason: str
    row: int | None = None

    def __str__(self) -> str:
        where = f"{self.location}, row {self.row}" if self.row is not None else self.location
        return f"{where}: {self.reason}"
