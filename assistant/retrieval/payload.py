"""The payload layout shared by both Qdrant adapters: a chunk to and from a JSON payload."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from assistant.core.knowledge import Chunk, ChunkId, DocumentId

INDEXED_KEYS = ("source", "category", "district", "document_id")
"""Top-level payload keys with a keyword index; any other filter key matches ``metadata.<key>``."""


def to_payload(chunk: Chunk) -> dict[str, Any]:
    return {
        "chunk_id": chunk.chunk_id,
        "document_id": chunk.document_id,
        "ordinal": chunk.ordinal,
        "source": chunk.source,
        "title": chunk.title,
        "section": chunk.section,
        "text": chunk.text,
        "url": chunk.url,
        "category": chunk.category,
        "updated_at": chunk.updated_at.isoformat() if chunk.updated_at else None,
        "district": chunk.metadata.get("district"),
        "metadata": dict(chunk.metadata),
    }


def from_payload(payload: Mapping[str, Any]) -> Chunk:
    updated = payload.get("updated_at")
    return Chunk(
        chunk_id=ChunkId(str(payload["chunk_id"])),
        document_id=DocumentId(str(payload["document_id"])),
        ordinal=int(payload.get("ordinal", 0)),
        source=str(payload["source"]),
        title=str(payload.get("title") or ""),
        section=str(payload.get("section") or ""),
        text=str(payload.get("text") or ""),
        url=payload.get("url"),
        category=payload.get("category"),
        updated_at=datetime.fromisoformat(updated) if updated else None,
        metadata={str(k): str(v) for k, v in (payload.get("metadata") or {}).items()},
    )


def filter_field(key: str) -> str:
    """The payload path a ``--filter key=value`` matches."""
    return key if key in INDEXED_KEYS else f"metadata.{key}"
