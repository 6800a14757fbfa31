"""Incremental, resumable ingestion: scan → diff by fingerprint → chunk and encode → blue/green build."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import filelock

from assistant.core.clock import Clock
from assistant.core.errors import IndexMismatch, IngestBusy
from assistant.core.knowledge import Document, SourceProblem
from assistant.ingest.chunking import AnalyzedChunk, TermCounter
from assistant.ingest.ports import Connector
from assistant.ingest.progress import IngestProgress
from assistant.ingest.state import EncodedChunk, IngestState, text_hash
from assistant.retrieval.bm25 import document_vector
from assistant.retrieval.ports import (
    DenseEmbedder,
    IndexPoint,
    IndexSpec,
    IndexStatus,
    SparseEncoder,
    VectorIndex,
)


class Chunker(Protocol):
    """Splits documents into chunks and counts their terms in one pass (CPU-bound; worker thread)."""

    def chunk_and_count(
        self, documents: Sequence[Document], counter: TermCounter
    ) -> list[list[AnalyzedChunk]]: ...


class CountingSparseEncoder(SparseEncoder, TermCounter, Protocol):
    """A sparse encoder that can also count terms of already-analysed sentences."""


@dataclass(frozen=True, slots=True)
class IngestReport:
    """What one run did. ``documents`` counts every document the sources yielded."""

    collection: str
    documents: int = 0
    new: int = 0
    changed: int = 0
    skipped: int = 0
    deleted: int = 0
    chunks: int = 0
    embedded: int = 0
    problems: tuple[SourceProblem, ...] = ()
    rebuilt: bool = False
    points: int = 0
    seconds: float = 0.0
    build_id: str | None = None

    @property
    def failed(self) -> int:
        return len(self.problems)


@dataclass(slots=True)
class _Tally:
    documents: int = 0
    new: int = 0
    changed: int = 0
    skipped: int = 0
    deleted: int = 0
    chunks: int = 0
    embedded: int = 0
    problems: list[SourceProblem] = field(default_factory=list)


class IngestPipeline:
    """Runs ingestion for one collection. One run at a time per collection (a file lock)."""

    def __init__(
        self,
        *,
        collection: str,
        state_dir: Path,
        index: VectorIndex,
        chunker: Chunker,
        sparse: CountingSparseEncoder,
        embedder: DenseEmbedder | None,
        clock: Clock,
        lock_timeout_s: float = 0.0,
        batch_documents: int = 64,
    ) -> None:
        self._collection = collection
        self._state_dir = state_dir
        self._index = index
        self._chunker = chunker
        self._sparse = sparse
        self._embedder = embedder
        self._clock = clock
        self._lock_timeout_s = lock_timeout_s
        self._batch_documents = batch_documents

    @property
    def spec(self) -> IndexSpec:
        return IndexSpec(
            collection=self._collection,
            embedding_model=self._embedder.model_id if self._embedder else None,
            dense_dim=self._embedder.dimension if self._embedder else None,
            sparse_encoder=self._sparse.encoder_id,
        )

    async def run(
        self, connectors: Sequence[Connector], progress: IngestProgress, *, recreate: bool = False
    ) -> IngestReport:
        started = time.perf_counter()
        lock = filelock.FileLock(str(self._state_dir / "ingest.lock"))
        self._state_dir.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire(timeout=self._lock_timeout_s)
        except filelock.Timeout as exc:
            holder = _read_holder(self._state_dir / "ingest.pid")
            raise IngestBusy(
                f"another ingest is running on collection '{self._collection}'"
                f"{f' (pid {holder})' if holder else ''}; wait for it to finish "
                "or raise DASAN_INGEST__LOCK_TIMEOUT_S to wait"
            ) from exc
        try:
            (self._state_dir / "ingest.pid").write_text(str(os.getpid()))
            state = IngestState(self._state_dir / "state.sqlite3")
            try:
                return await self._run_locked(state, connectors, progress, recreate, started)
            finally:
                state.close()
        finally:
            lock.release()

    async def _run_locked(
        self,
        state: IngestState,
        connectors: Sequence[Connector],
        progress: IngestProgress,
        recreate: bool,
        started: float,
    ) -> IngestReport:
        self._check_spec(state, recreate)
        tally = _Tally()
        for connector in connectors:
            await self._ingest_source(state, connector, progress, tally)

        live = await self._index.status(self._collection)
        current = (
            live is not None
            and live.metadata.get("state_generation") == str(state.generation)
            and live.metadata.get("state_path") == str(state.path)
            and live.embedding_model == self.spec.embedding_model
            and live.sparse_encoder == self.spec.sparse_encoder
        )
        rebuilt, points, build_id = False, (live.points if live else 0), (live.build_id if live else None)
        if not current:
            status = await self._build(state, progress)
            rebuilt, points, build_id = True, status.points, status.build_id
        state.set_meta(
            {
                "last_ingest_at": self._clock.now().isoformat(),
                "last_ingest_documents": str(tally.documents),
                "last_ingest_problems": str(len(tally.problems)),
            }
        )
        return IngestReport(
            collection=self._collection,
            documents=tally.documents,
            new=tally.new,
            changed=tally.changed,
            skipped=tally.skipped,
            deleted=tally.deleted,
            chunks=tally.chunks,
            embedded=tally.embedded,
            problems=tuple(tally.problems),
            rebuilt=rebuilt,
            points=points,
            seconds=time.perf_counter() - started,
            build_id=build_id,
        )

    def _check_spec(self, state: IngestState, recreate: bool) -> None:
        spec = self.spec
        wanted = {
            "embedding_model": spec.embedding_model or "none",
            "sparse_encoder": spec.sparse_encoder,
        }
        meta = state.meta()
        recorded = {k: meta[k] for k in wanted if k in meta}
        if recorded and recorded != wanted:
            if not recreate:
                raise IndexMismatch(
                    f"collection '{self._collection}' was built with embedding model "
                    f"'{recorded.get('embedding_model')}' and sparse encoder "
                    f"'{recorded.get('sparse_encoder')}', but this run uses "
                    f"'{wanted['embedding_model']}' and '{wanted['sparse_encoder']}'. "
                    "Use the same settings, another --collection, or --recreate to rebuild it."
                )
            state.drop_everything()
        state.set_meta(wanted)

    async def _ingest_source(
        self, state: IngestState, connector: Connector, progress: IngestProgress, tally: _Tally
    ) -> None:
        progress.phase(f"scan {connector.source}", None)
        known = state.fingerprints(connector.source)
        seen: set[str] = set()
        failed_origins: set[str] = set()
        pending: list[Document] = []
        async for item in connector.scan():
            if isinstance(item, SourceProblem):
                tally.problems.append(item)
                failed_origins.add(item.location)
                progress.problem(item)
                continue
            if item.document_id in seen:
                problem = SourceProblem(
                    item.origin, f"duplicate document id {item.document_id}; kept the first"
                )
                tally.problems.append(problem)
                progress.problem(problem)
                continue
            seen.add(item.document_id)
            tally.documents += 1
            progress.advance(1)
            stored = known.get(item.document_id)
            if stored is not None and stored.fingerprint == item.fingerprint:
                tally.skipped += 1
                continue
            if stored is None:
                tally.new += 1
            else:
                tally.changed += 1
            pending.append(item)

        if pending:
            progress.phase(f"encode {connector.source}", len(pending))
            for start in range(0, len(pending), self._batch_documents):
                batch = pending[start : start + self._batch_documents]
                encoded = await self._encode(state, batch, tally)
                state.replace_documents(encoded)
                progress.advance(len(batch))

        missing = [
            doc_id
            for doc_id, stored in known.items()
            if doc_id not in seen and stored.origin not in failed_origins
        ]
        state.delete_documents(missing)
        tally.deleted += len(missing)

    async def _encode(
        self, state: IngestState, documents: Sequence[Document], tally: _Tally
    ) -> list[tuple[Document, list[EncodedChunk]]]:
        analyzed = await asyncio.to_thread(self._chunker.chunk_and_count, documents, self._sparse)
        chunk_lists = [[a.chunk for a in chunks] for chunks in analyzed]
        flat = [chunk for chunks in chunk_lists for chunk in chunks]
        terms = [a.terms for chunks in analyzed for a in chunks]
        vectors: list[tuple[float, ...] | None] = [None] * len(flat)
        if self._embedder is not None and flat:
            hashes = [text_hash(c.indexed_text) for c in flat]
            cached = state.cached_vectors(hashes)
            todo = [i for i, h in enumerate(hashes) if h not in cached]
            fresh = await self._embedder.embed_passages([flat[i].indexed_text for i in todo]) if todo else []
            for i, h in enumerate(hashes):
                vectors[i] = cached.get(h)
            for i, vector in zip(todo, fresh, strict=True):
                vectors[i] = vector
            tally.embedded += len(todo)
        tally.chunks += len(flat)
        result: list[tuple[Document, list[EncodedChunk]]] = []
        cursor = 0
        for document, chunks in zip(documents, chunk_lists, strict=True):
            encoded = [
                EncodedChunk(chunk=c, terms=terms[cursor + i], dense=vectors[cursor + i])
                for i, c in enumerate(chunks)
            ]
            cursor += len(chunks)
            result.append((document, encoded))
        return result

    async def _build(self, state: IngestState, progress: IngestProgress) -> IndexStatus:
        _, total = state.counts()
        avg_len = state.average_terms()
        build = await self._index.begin_build(
            self.spec,
            {
                "state_generation": str(state.generation),
                "state_path": str(state.path),
                "avg_terms": f"{avg_len:.4f}",
            },
        )
        progress.phase("build index", total)
        try:
            for batch in state.iter_chunks():
                points = [
                    IndexPoint(
                        chunk=item.chunk,
                        sparse=document_vector(item.terms, avg_len),
                        dense=item.dense if self._embedder is not None else None,
                    )
                    for item in batch
                ]
                await build.upsert(points)
                progress.advance(len(points))
            progress.phase("optimize index", None)
            return await build.commit()
        except BaseException:
            await build.abort()
            raise


def _read_holder(path: Path) -> str | None:
    try:
        return path.read_text().strip() or None
    except OSError:
        return None
