"""The ingest state of one collection: documents, chunks, term counts and vectors, in SQLite.

The state is the source of truth a build is made from. Every document is committed together with
its chunks and vectors in one transaction, so a run killed at any point resumes without
re-embedding what was committed, and a rebuild from the state is identical to a clean build.
``generation`` increases with every committed change; each index build records the generation it
was made from, so a run knows whether the live index is current.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.core.errors import StorageError
from assistant.core.knowledge import Chunk, Document, DocumentId
from assistant.retrieval.payload import from_payload, to_payload
from assistant.retrieval.ports import TermCounts

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    document_id TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    origin TEXT NOT NULL,
    fingerprint TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    document_id TEXT NOT NULL,
    ordinal INTEGER NOT NULL,
    text_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    terms TEXT NOT NULL,
    term_total INTEGER NOT NULL,
    dense BLOB
);
CREATE INDEX IF NOT EXISTS chunks_document ON chunks(document_id);
CREATE INDEX IF NOT EXISTS chunks_text_hash ON chunks(text_hash);
"""


def text_hash(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class EncodedChunk:
    """A chunk with what the index needs: its term counts and (optionally) its dense vector."""

    chunk: Chunk
    terms: TermCounts
    dense: tuple[float, ...] | None


@dataclass(frozen=True, slots=True)
class StoredDocument:
    document_id: DocumentId
    source: str
    origin: str
    fingerprint: str


class IngestState:
    """SQLite-backed state of one collection. Not thread-safe: one ingest run owns it (see lock)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except sqlite3.Error as exc:
            raise StorageError(f"cannot open ingest state {path}: {exc}") from exc
        self.path = path

    def close(self) -> None:
        self._db.close()

    # -- metadata -------------------------------------------------------------------------------
    def meta(self) -> dict[str, str]:
        return dict(self._db.execute("SELECT key, value FROM meta").fetchall())

    def set_meta(self, values: Mapping[str, str]) -> None:
        with self._transaction():
            self._set_meta(values)

    def _set_meta(self, values: Mapping[str, str]) -> None:
        self._db.executemany(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            list(values.items()),
        )

    @property
    def generation(self) -> int:
        return int(self.meta().get("generation", "0"))

    def _bump_generation(self) -> None:
        self._db.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value=CAST(CAST(value AS INTEGER) + 1 AS TEXT)"
        )

    # -- documents ------------------------------------------------------------------------------
    def fingerprints(self, source: str) -> dict[str, StoredDocument]:
        rows = self._db.execute(
            "SELECT document_id, source, origin, fingerprint FROM documents WHERE source = ?", (source,)
        ).fetchall()
        return {r[0]: StoredDocument(DocumentId(r[0]), r[1], r[2], r[3]) for r in rows}

    def cached_vectors(self, hashes: Sequence[str]) -> dict[str, tuple[float, ...]]:
        """Dense vectors already computed for chunk texts with these hashes."""
        found: dict[str, tuple[float, ...]] = {}
        for start in range(0, len(hashes), 500):
            part = list(hashes[start : start + 500])
            marks = ",".join("?" * len(part))
            for h, blob in self._db.execute(
                f"SELECT text_hash, dense FROM chunks WHERE dense IS NOT NULL AND text_hash IN ({marks})",
                part,
            ):
                found[h] = tuple(np.frombuffer(blob, dtype=np.float32).tolist())
        return found

    def replace_documents(self, items: Sequence[tuple[Document, Sequence[EncodedChunk]]]) -> None:
        """Insert or replace documents with all their chunks, atomically."""
        if not items:
            return
        with self._transaction():
            for document, chunks in items:
                self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document.document_id,))
                self._db.execute(
                    "INSERT OR REPLACE INTO documents(document_id, source, origin, fingerprint) "
                    "VALUES(?, ?, ?, ?)",
                    (document.document_id, document.source, document.origin, document.fingerprint),
                )
                self._db.executemany(
                    "INSERT INTO chunks(chunk_id, document_id, ordinal, text_hash, payload, terms, "
                    "term_total, dense) VALUES(?, ?, ?, ?, ?, ?, ?, ?)",
                    [_chunk_row(item) for item in chunks],
                )
            self._bump_generation()

    def delete_documents(self, document_ids: Sequence[str]) -> None:
        if not document_ids:
            return
        with self._transaction():
            for document_id in document_ids:
                self._db.execute("DELETE FROM chunks WHERE document_id = ?", (document_id,))
                self._db.execute("DELETE FROM documents WHERE document_id = ?", (document_id,))
            self._bump_generation()

    def drop_everything(self) -> None:
        with self._transaction():
            self._db.execute("DELETE FROM chunks")
            self._db.execute("DELETE FROM documents")
            self._db.execute("DELETE FROM meta WHERE key != 'generation'")
            self._bump_generation()

    # -- reading for a build ----------------------------------------------------------------------
    def counts(self) -> tuple[int, int]:
        docs = self._db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        chunks = self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return int(docs), int(chunks)

    def average_terms(self) -> float:
        value = self._db.execute("SELECT AVG(term_total) FROM chunks").fetchone()[0]
        return float(value) if value else 1.0

    def iter_chunks(self, batch_size: int = 512) -> Iterator[list[EncodedChunk]]:
        """Every chunk, in a stable order (by chunk id), in batches."""
        last = ""
        while True:
            rows = self._db.execute(
                "SELECT chunk_id, payload, terms, dense FROM chunks WHERE chunk_id > ? "
                "ORDER BY chunk_id LIMIT ?",
                (last, batch_size),
            ).fetchall()
            if not rows:
                return
            yield [_encoded_from_row(r[1], r[2], r[3]) for r in rows]
            last = rows[-1][0]

    # -- plumbing --------------------------------------------------------------------------------
    def _transaction(self) -> _Transaction:
        return _Transaction(self._db)


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> None:
        if exc is None:
            self._db.execute("COMMIT")
            return
        self._db.execute("ROLLBACK")
        if isinstance(exc, sqlite3.Error):
            raise StorageError(f"ingest state write failed: {exc}") from exc


def _chunk_row(item: EncodedChunk) -> tuple[object, ...]:
    chunk = item.chunk
    dense = np.asarray(item.dense, dtype=np.float32).tobytes() if item.dense is not None else None
    return (
        chunk.chunk_id,
        chunk.document_id,
        chunk.ordinal,
        text_hash(chunk.indexed_text),
        json.dumps(to_payload(chunk), ensure_ascii=False),
        json.dumps({str(k): v for k, v in item.terms.items()}),
        sum(item.terms.values()),
        dense,
    )


def _encoded_from_row(payload: str, terms: str, dense: bytes | None) -> EncodedChunk:
    counts = {int(k): int(v) for k, v in json.loads(terms).items()}
    vector = tuple(np.frombuffer(dense, dtype=np.float32).tolist()) if dense is not None else None
    return EncodedChunk(chunk=from_payload(json.loads(payload)), terms=counts, dense=vector)
