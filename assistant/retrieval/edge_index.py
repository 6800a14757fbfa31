"""The embedded index on Qdrant Edge: one shard directory per build, ``CURRENT.json`` names the live one.

Layout under ``root``::

    <collection>/CURRENT.json            the live version (status record), replaced atomically
    <collection>/builds/<build_id>/      one Edge shard per build; live + previous are kept

A shard is opened by one process at a time (the engine locks its write-ahead log), so the
serving process owns the live shard; an ingest process fills a new build directory, closes it
and swaps ``CURRENT.json``. Searches stat ``CURRENT.json`` and reopen when it changed.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal, assert_never, cast

from qdrant_edge import (
    Distance,
    EdgeConfig,
    EdgeShard,
    EdgeSparseVectorParams,
    EdgeVectorParams,
    FieldCondition,
    Filter,
    Fusion,
    MatchValue,
    Modifier,
    PayloadSchemaType,
    Point,
    Prefetch,
    Query,
    QueryRequest,
    SparseVector,
    UpdateOperation,
)

from assistant.core.clock import Clock, SystemClock
from assistant.core.errors import IndexLocked, RetrievalError
from assistant.core.knowledge import ScoredChunk
from assistant.core.knowledge import SparseVector as CoreSparseVector
from assistant.retrieval.index_versions import (
    UPSERT_BATCH,
    checked_collection,
    dense_dim_of,
    new_build_id,
    not_built,
    pending_status,
    plan_query,
    stale_builds,
    status_from_record,
    status_record,
)
from assistant.retrieval.payload import INDEXED_KEYS, filter_field, from_payload, to_payload
from assistant.retrieval.ports import (
    DENSE_VECTOR,
    SPARSE_VECTOR,
    FusionSpec,
    IndexPoint,
    IndexQuery,
    IndexSpec,
    IndexStatus,
)

_log = logging.getLogger(__name__)

_CURRENT = "CURRENT.json"
_BUILDS = "builds"

_Stamp = tuple[int, int, int]
"""(inode, mtime_ns, size) of CURRENT.json: ``os.replace`` always changes the inode."""


@dataclass(frozen=True, slots=True)
class _LiveShard:
    stamp: _Stamp
    status: IndexStatus
    shard: EdgeShard


class EdgeIndex:
    """A ``VectorIndex`` on embedded Qdrant Edge shards under ``root``.

    Searching a collection that was never built raises ``RetrievalError`` ("… has not been
    built; run dasan ingest"). Queries run inline (they take well under a millisecond); opening,
    filling and optimising shards run in worker threads.
    """

    def __init__(
        self,
        root: Path,
        *,
        max_search_threads: int | None = None,
        clock: Clock | None = None,
        batch_size: int = UPSERT_BATCH,
    ) -> None:
        self._root = root
        self._max_search_threads = max_search_threads
        self._clock: Clock = clock or SystemClock()
        self._batch_size = batch_size
        self._live: dict[str, _LiveShard] = {}
        self._open_lock = asyncio.Lock()
        self._builds: set[EdgeIndexBuild] = set()

    async def status(self, collection: str) -> IndexStatus | None:
        current = self._root / checked_collection(collection) / _CURRENT
        cached = self._live.get(collection)
        if cached is not None and cached.stamp == _stamp(current):
            return cached.status
        found = _read_current(current)
        return None if found is None else status_from_record(found[0])

    async def collections(self) -> list[str]:
        if not self._root.is_dir():
            return []
        return sorted(p.name for p in self._root.iterdir() if (p / _CURRENT).is_file())

    async def begin_build(self, spec: IndexSpec, metadata: Mapping[str, str]) -> EdgeIndexBuild:
        collection_dir = self._root / checked_collection(spec.collection)
        dense_dim = dense_dim_of(spec)
        build_id, shard = await asyncio.to_thread(self._create_shard, collection_dir, dense_dim)
        build = EdgeIndexBuild(
            shard=shard,
            pending=pending_status(spec, build_id, metadata),
            collection_dir=collection_dir,
            clock=self._clock,
            batch_size=self._batch_size,
            on_finish=self._builds.discard,
        )
        self._builds.add(build)
        return build

    async def search(self, collection: str, query: IndexQuery) -> list[ScoredChunk]:
        live = await self._live_shard(checked_collection(collection))
        request = _request(query, has_dense=live.status.dense_dim is not None)
        if request is None:
            return []
        try:
            hits = live.shard.query(request)
        except Exception as exc:  # the binding raises bare Exception for every engine error
            raise RetrievalError(f"Qdrant Edge search in {collection} failed: {exc}") from exc
        return [ScoredChunk(chunk=from_payload(hit.payload or {}), score=float(hit.score)) for hit in hits]

    async def close(self) -> None:
        for build in list(self._builds):
            await build.abort()
        live, self._live = list(self._live.values()), {}
        for entry in live:
            await asyncio.to_thread(_close_quietly, entry.shard)

    def _create_shard(self, collection_dir: Path, dense_dim: int | None) -> tuple[str, EdgeShard]:
        builds = collection_dir / _BUILDS
        builds.mkdir(parents=True, exist_ok=True)
        build_id = new_build_id(self._clock.now(), os.listdir(builds))
        path = builds / build_id
        try:
            shard = EdgeShard.create(str(path), _edge_config(dense_dim))
            for key in INDEXED_KEYS:
                shard.update(UpdateOperation.create_field_index(key, PayloadSchemaType.Keyword))
        except Exception as exc:  # the binding raises bare Exception
            shutil.rmtree(path, ignore_errors=True)
            raise RetrievalError(f"cannot create an Edge shard at {path}: {exc}") from exc
        return build_id, shard

    async def _live_shard(self, collection: str) -> _LiveShard:
        """The open shard of the live build, reopened when CURRENT.json was replaced."""
        current = self._root / collection / _CURRENT
        cached = self._live.get(collection)
        if cached is not None and cached.stamp == _stamp(current):
            return cached
        async with self._open_lock:
            cached = self._live.get(collection)
            stamp = _stamp(current)
            if stamp is None:
                raise not_built(collection)
            if cached is not None and cached.stamp == stamp:
                return cached
            fresh = await asyncio.to_thread(self._open, current)
            self._live[collection] = fresh
        if cached is not None:
            _log.info("collection %s: now serving build %s", collection, fresh.status.build_id)
            await asyncio.to_thread(_close_quietly, cached.shard)
        return fresh

    def _open(self, current: Path) -> _LiveShard:
        found = _read_current(current)
        if found is None:
            raise not_built(current.parent.name)
        record, stamp = found
        status = status_from_record(record)
        path = current.parent / _BUILDS / status.build_id
        try:
            shard = EdgeShard.load(str(path), _edge_config(status.dense_dim, self._max_search_threads))
        except Exception as exc:  # the binding raises bare Exception
            if "WouldBlock" in str(exc):
                message = (
                    f"collection {status.collection} (build {status.build_id}) is open in another "
                    "process; a Qdrant Edge shard serves one process, so search through the server"
                )
                raise IndexLocked(message, retryable=True) from exc
            raise RetrievalError(f"cannot open the Edge shard at {path}: {exc}") from exc
        return _LiveShard(stamp=stamp, status=status, shard=shard)


class EdgeIndexBuild:
    """A new build directory being filled. ``commit`` optimises, closes it and swaps CURRENT.json."""

    def __init__(
        self,
        *,
        shard: EdgeShard,
        pending: IndexStatus,
        collection_dir: Path,
        clock: Clock,
        batch_size: int,
        on_finish: Callable[[EdgeIndexBuild], None],
    ) -> None:
        self._shard = shard
        self._pending = pending
        self._collection_dir = collection_dir
        self._path = collection_dir / _BUILDS / pending.build_id
        self._clock = clock
        self._batch_size = batch_size
        self._on_finish = on_finish
        self._has_dense = pending.dense_dim is not None
        self._state: Literal["open", "committing", "committed", "aborted"] = "open"

    @property
    def build_id(self) -> str:
        return self._pending.build_id

    async def upsert(self, points: Sequence[IndexPoint]) -> None:
        self._require_open()
        for start in range(0, len(points), self._batch_size):
            await asyncio.to_thread(self._upsert_batch, points[start : start + self._batch_size])

    async def commit(self) -> IndexStatus:
        self._require_open()
        self._state = "committing"
        try:
            points = await asyncio.to_thread(self._seal)
            status = replace(self._pending, points=points, built_at=self._clock.now())
            previous = await asyncio.to_thread(_publish, self._collection_dir, status)
        except Exception:
            await asyncio.to_thread(_remove_build, self._shard, self._path)
            self._finish("aborted")
            raise
        self._finish("committed")
        keep = {status.build_id} if previous is None else {status.build_id, previous}
        await asyncio.to_thread(_prune, self._collection_dir / _BUILDS, keep)
        return status

    async def abort(self) -> None:
        """Drop the build; a no-op once it is committed or aborted."""
        if self._state != "open":
            return
        self._finish("aborted")
        await asyncio.to_thread(_remove_build, self._shard, self._path)

    def _require_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"build {self.build_id} is {self._state}")

    def _finish(self, state: Literal["committed", "aborted"]) -> None:
        self._state = state
        self._on_finish(self)

    def _upsert_batch(self, points: Sequence[IndexPoint]) -> None:
        batch = [_edge_point(p, has_dense=self._has_dense) for p in points]
        try:
            self._shard.update(UpdateOperation.upsert_points(batch))
        except Exception as exc:  # the binding raises bare Exception
            raise RetrievalError(f"Qdrant Edge upsert into build {self.build_id} failed: {exc}") from exc

    def _seal(self) -> int:
        """Build the HNSW graph (Edge builds it only when asked), flush and close; count points."""
        try:
            self._shard.optimize()
            points = self._shard.info().points_count
            self._shard.flush()
            self._shard.close()
        except Exception as exc:  # the binding raises bare Exception
            raise RetrievalError(f"Qdrant Edge optimize of build {self.build_id} failed: {exc}") from exc
        return points


def _edge_config(dense_dim: int | None, max_search_threads: int | None = None) -> EdgeConfig:
    vectors = None
    if dense_dim is not None:
        vectors = {DENSE_VECTOR: EdgeVectorParams(size=dense_dim, distance=Distance.Cosine)}
    return EdgeConfig(
        vectors=vectors,
        sparse_vectors={SPARSE_VECTOR: EdgeSparseVectorParams(modifier=Modifier.Idf)},
        max_search_threads=max_search_threads,
    )


def _edge_point(point: IndexPoint, *, has_dense: bool) -> Point:
    vector: dict[str, Any] = {SPARSE_VECTOR: _sparse(point.sparse)}
    if has_dense and point.dense is not None:
        vector[DENSE_VECTOR] = list(point.dense)
    return Point(point.chunk.chunk_id, vector, to_payload(point.chunk))


def _sparse(vector: CoreSparseVector) -> SparseVector:
    return SparseVector(list(vector.indices), list(vector.values))


def _request(query: IndexQuery, *, has_dense: bool) -> QueryRequest | None:
    """The engine request for a query, or None when it has nothing to search with."""
    condition = _filter(query.filters)
    plan = plan_query(query, has_dense)
    match plan:
        case "hybrid":
            assert query.dense is not None and query.sparse is not None
            prefetches = [
                Prefetch(
                    limit=query.prefetch_limit,
                    query=Query.Nearest(list(query.dense), using=DENSE_VECTOR),
                    filter=condition,
                ),
                Prefetch(
                    limit=query.prefetch_limit,
                    query=Query.Nearest(_sparse(query.sparse), using=SPARSE_VECTOR),
                    filter=condition,
                ),
            ]
            return QueryRequest(
                limit=query.limit,
                prefetches=prefetches,
                query=_fusion(query.fusion),
                filter=condition,
                with_payload=True,
            )
        case "dense":
            assert query.dense is not None
            nearest = Query.Nearest(list(query.dense), using=DENSE_VECTOR)
            return QueryRequest(limit=query.limit, query=nearest, filter=condition, with_payload=True)
        case "sparse":
            assert query.sparse is not None
            nearest = Query.Nearest(_sparse(query.sparse), using=SPARSE_VECTOR)
            return QueryRequest(limit=query.limit, query=nearest, filter=condition, with_payload=True)
        case "empty":
            return None
        case _:
            assert_never(plan)


def _fusion(spec: FusionSpec) -> Fusion:
    # The stub types QueryRequest.query as ``Fusion``; the engine takes its Rrf/Dbsf members.
    match spec.method:
        case "rrf":
            return cast(Fusion, Fusion.Rrf(k=spec.rrf_k, weights=list(spec.weights)))
        case "dbsf":
            return cast(Fusion, Fusion.Dbsf())
        case _:
            assert_never(spec.method)


def _filter(filters: Mapping[str, str]) -> Filter | None:
    if not filters:
        return None
    return Filter(must=[FieldCondition(filter_field(k), match=MatchValue(v)) for k, v in filters.items()])


def _stamp(path: Path) -> _Stamp | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_mtime_ns, st.st_size)


def _read_current(path: Path) -> tuple[dict[str, Any], _Stamp] | None:
    """CURRENT.json and the stamp of exactly the file that was read."""
    try:
        with open(path, "rb") as handle:
            st = os.fstat(handle.fileno())
            raw = handle.read()
    except FileNotFoundError:
        return None
    try:
        record = json.loads(raw)
    except ValueError as exc:
        raise RetrievalError(f"unreadable {path}: {exc}") from exc
    return record, (st.st_ino, st.st_mtime_ns, st.st_size)


def _publish(collection_dir: Path, status: IndexStatus) -> str | None:
    """Make ``status`` the live version (temp file, fsync, rename); return the previous build id."""
    current = collection_dir / _CURRENT
    found = _read_current(current)
    previous = str(found[0].get("build_id")) if found is not None else None
    temp = collection_dir / f".{_CURRENT}.{status.build_id}.tmp"
    with open(temp, "w", encoding="utf-8") as handle:
        json.dump(status_record(status), handle, ensure_ascii=False, indent=2)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temp, current)
    directory = os.open(collection_dir, os.O_RDONLY)
    try:
        os.fsync(directory)
    finally:
        os.close(directory)
    return previous


def _prune(builds_dir: Path, keep: set[str]) -> None:
    for build_id in stale_builds(os.listdir(builds_dir), keep):
        _log.info("removing old build %s", builds_dir / build_id)
        shutil.rmtree(builds_dir / build_id, ignore_errors=True)


def _remove_build(shard: EdgeShard, path: Path) -> None:
    _close_quietly(shard)
    shutil.rmtree(path, ignore_errors=True)


def _close_quietly(shard: EdgeShard) -> None:
    try:
        shard.close()
    except Exception as exc:  # closing twice or after a failure must not mask the real error
        _log.debug("closing an Edge shard failed: %s", exc)
