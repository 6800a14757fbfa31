"""Drafts: what a parser extracts from one item, before it becomes a Document with an id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from assistant.core.knowledge import (
    Document,
    DocumentId,
    DocumentKind,
    Section,
    SourceProblem,
    fingerprint_of,
)
from connectors.table_mapping import TableMapping


@dataclass(frozen=True, slots=True)
class Draft:
    """One document's content. ``key`` tells it apart from others of the same origin (None: the only one)."""

    key: str | None
    title: str
    sections: tuple[Section, ...]
    kind: DocumentKind = "prose"
    url: str | None = None
    category: str | None = None
    updated_at: datetime | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def to_document(self, *, document_id: DocumentId, source: str, origin: str) -> Document:
        metadata = dict(sorted(self.metadata.items()))
        return Document(
            document_id=document_id,
            source=source,
            title=self.title,
            sections=self.sections,
            fingerprint=fingerprint_of(
                title=self.title,
                sections=self.sections,
                url=self.url,
                category=self.category,
                updated_at=self.updated_at,
                metadata=metadata,
            ),
            origin=origin,
            kind=self.kind,
            url=self.url,
            category=self.category,
            updated_at=self.updated_at,
            metadata=metadata,
        )


@dataclass(frozen=True, slots=True)
class FileContext:
    """What a parser knows about the file besides its bytes."""

    origin: str
    stem: str
    mapping: TableMapping | None = None


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """Everything one file yielded, in order, with counts of rows dropped on purpose."""

    items: tuple[Draft | SourceProblem, ...]
    duplicate_rows: int = 0
    filtered_rows: int = 0


class KeyAllocator:
    """Keeps draft keys unique within one origin: a repeated key gets ``@<row>`` appended."""

    def __init__(self) -> None:
        self._seen: set[str] = set()

    def allocate(self, key: str, row: int) -> str:
        candidate = key
        if candidate in self._seen:
            candidate = f"{key}@{row}"
            suffix = 2
            while candidate in self._seen:
                candidate = f"{key}@{row}.{suffix}"
                suffix += 1
        self._seen.add(candidate)
        return candidate
