"""The Qdrant server index: one physical collection per build, an alias names the live one.

A build of collection ``docs`` fills ``docs--<build_id>``; ``commit`` waits until the server has
indexed it, records the version in the collection's metadata and moves the alias ``docs`` in one
``update_collection_aliases`` call. Collections of builds older than the previous one are dropped.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Literal, TypeVar, assert_never

from qdrant_client import AsyncQdrantClient
from qdrant_client import models as qm
from qdrant_client.http.exceptions import ApiException, ResponseHandlingException, UnexpectedResponse

from assistant.core.clock import Clock, SystemClock
from assistant.core.errors import RetrievalError
from assistant.core.knowledge import ScoredChunk
from assistant.core.knowledge import SparseVector as CoreSparseVector
from assistant.retrieval.index_versions import (
    UPSERT_BATCH,
    checked_collection,
    dense_dim_of,
    is_build_id,
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

_T = TypeVar("_T")

_VENDOR_ERRORS = (ApiException, ValueError, RuntimeError)
"""What qdrant-client raises: ApiException from a server; ValueError/RuntimeError in local mode."""


def physical_name(collection: str, build_id: str) -> str:
    return f"{collection}--{build_id}"


def _build_of(collection: str, physical: str) -> str | None:
    prefix = f"{collection}--"
    if physical.startswith(prefix) and is_build_id(physical[len(prefix) :]):
        return physical[len(prefix) :]
    return None


def _translate(action: str, exc: Exception) -> RetrievalError:
    retryable = isinstance(exc, ResponseHandlingException) or (
        isinstance(exc, UnexpectedResponse) and (exc.status_code or 0) in (429, 500, 502, 503, 504)
    )
    return RetrievalError(f"Qdrant {action} failed: {exc}", retryable=retryable)


async def _vendor(action: str, call: Awaitable[_T]) -> _T:
    try:
        return await call
    except _VENDOR_ERRORS as exc:
        raise _translate(action, exc) from exc


class QdrantServerIndex:
    """A ``VectorIndex`` on a Qdrant server (or qdrant-client's local mode, which takes the same calls).

    Searching a collection that was never built raises ``RetrievalError`` ("… has not been
    built; run dasan ingest").
    """

    def __init__(
        self,
        client: AsyncQdrantClient,
        *,
        clock: Clock | None = None,
        batch_size: int = UPSERT_BATCH,
        index_wait: timedelta = timedelta(minutes=30),
        poll_interval: timedelta = timedelta(seconds=1),
    ) -> None:
        self._client = client
        self._clock: Clock = clock or SystemClock()
        self._batch_size = batch_size
        self._index_wait = index_wait
        self._poll_interval = poll_interval
        self._has_dense: dict[str, bool] = {}

    @classmethod
    def connect(
        cls, url: str, *, api_key: str | None = None, timeout_s: float = 10.0, clock: Clock | None = None
    ) -> QdrantServerIndex:
        """An index on the server at ``url`` (REST); ``timeout_s`` bounds every request."""
        client = AsyncQdrantClient(url=url, api_key=api_key, timeout=max(1, math.ceil(timeout_s)))
        return cls(client, clock=clock)

    async def status(self, collection: str) -> IndexStatus | None:
        physical = await self._live_collection(checked_collection(collection))
        if physical is None:
            return None
        info = await _vendor("get_collection", self._client.get_collection(physical))
        return status_from_record(info.config.metadata or {})

    async def collections(self) -> list[str]:
        response = await _vendor("get_aliases", self._client.get_aliases())
        return sorted(
            a.alias_name for a in response.aliases if _build_of(a.alias_name, a.collection_name) is not None
        )

    async def begin_build(self, spec: IndexSpec, metadata: Mapping[str, str]) -> QdrantIndexBuild:
        collection = checked_collection(spec.collection)
        dense_dim = dense_dim_of(spec)
        build_id = new_build_id(self._clock.now(), await self._build_ids(collection))
        pending = pending_status(spec, build_id, metadata)
        name = physical_name(collection, build_id)
        vectors = {}
        if dense_dim is not None:
            vectors = {DENSE_VECTOR: qm.VectorParams(size=dense_dim, distance=qm.Distance.COSINE)}
        await _vendor(
            "create_collection",
            self._client.create_collection(
                name,
                vectors_config=vectors,
                sparse_vectors_config={SPARSE_VECTOR: qm.SparseVectorParams(modifier=qm.Modifier.IDF)},
                metadata=status_record(pending),
            ),
        )
        build = QdrantIndexBuild(self, pending)
        try:
            for key in INDEXED_KEYS:
                await _vendor(
                    "create_payload_index",
                    self._client.create_payload_index(
                        name, key, field_schema=qm.PayloadSchemaType.KEYWORD, wait=True
                    ),
                )
        except BaseException:
            await build.abort_quietly()
            raise
        return build

    async def search(self, collection: str, query: IndexQuery) -> list[ScoredChunk]:
        checked_collection(collection)
        shape_was_cached = query.dense is not None and collection in self._has_dense
        try:
            return await self._search(collection, query)
        except _VENDOR_ERRORS as exc:
            self._has_dense.pop(collection, None)
            if not shape_was_cached:
                raise await self._lookup_error(collection, "search", exc) from exc
        # Another build may have changed the live version's shape (hybrid to lexical): look again.
        try:
            return await self._search(collection, query)
        except _VENDOR_ERRORS as exc:
            self._has_dense.pop(collection, None)
            raise await self._lookup_error(collection, "search", exc) from exc

    async def _search(self, collection: str, query: IndexQuery) -> list[ScoredChunk]:
        has_dense = query.dense is not None and await self._collection_has_dense(collection)
        request = _request(query, has_dense=has_dense)
        if request is None:
            return []
        scoring, using, prefetch = request
        response = await self._client.query_points(
            collection,
            query=scoring,
            using=using,
            prefetch=prefetch,
            query_filter=_filter(query.filters),
            limit=query.limit,
            with_payload=True,
        )
        return [
            ScoredChunk(chunk=from_payload(p.payload or {}), score=float(p.score)) for p in response.points
        ]

    async def close(self) -> None:
        await self._client.close()

    async def _live_collection(self, collection: str) -> str | None:
        """The physical collection the alias points to, or None when it has never been built."""
        response = await _vendor("get_aliases", self._client.get_aliases())
        for alias in response.aliases:
            if alias.alias_name == collection:
                return alias.collection_name
        return None

    async def _is_live(self, collection: str, physical: str) -> bool:
        try:
            return await self._live_collection(collection) == physical
        except RetrievalError:
            return False

    async def _build_ids(self, collection: str) -> list[str]:
        response = await _vendor("get_collections", self._client.get_collections())
        found = (_build_of(collection, c.name) for c in response.collections)
        return sorted(b for b in found if b is not None)

    async def _collection_has_dense(self, collection: str) -> bool:
        """Whether the live version has a dense vector; cached per alias until a search fails."""
        known = self._has_dense.get(collection)
        if known is None:
            physical = await self._live_collection(collection)
            if physical is None:
                raise not_built(collection)
            info = await _vendor("get_collection", self._client.get_collection(physical))
            vectors = info.config.params.vectors
            known = isinstance(vectors, dict) and DENSE_VECTOR in vectors
            self._has_dense[collection] = known
        return known

    async def _lookup_error(self, collection: str, action: str, exc: Exception) -> RetrievalError:
        """``not_built`` when the alias is missing, else the translated vendor error."""
        try:
            live = await self._live_collection(collection)
        except RetrievalError:
            return _translate(action, exc)
        return not_built(collection) if live is None else _translate(action, exc)

    async def _switch(self, collection: str, build_id: str) -> str | None:
        """Point the alias at ``build_id`` in one call; return the build it pointed to before."""
        previous = await self._live_collection(collection)
        actions: list[qm.CreateAliasOperation | qm.DeleteAliasOperation] = []
        if previous is not None:
            actions.append(qm.DeleteAliasOperation(delete_alias=qm.DeleteAlias(alias_name=collection)))
        actions.append(
            qm.CreateAliasOperation(
                create_alias=qm.CreateAlias(
                    collection_name=physical_name(collection, build_id), alias_name=collection
                )
            )
        )
        await _vendor(
            "update_collection_aliases",
            self._client.update_collection_aliases(change_aliases_operations=actions),
        )
        self._has_dense.pop(collection, None)
        return _build_of(collection, previous) if previous is not None else None

    async def _prune(self, collection: str, keep: set[str]) -> None:
        for build_id in stale_builds(await self._build_ids(collection), keep):
            name = physical_name(collection, build_id)
            _log.info("dropping old build collection %s", name)
            try:
                await self._client.delete_collection(name)
            except _VENDOR_ERRORS as exc:
                _log.warning("could not drop %s: %s", name, exc)

    async def _wait_indexed(self, name: str) -> None:
        """Wait while the server optimises (status yellow); it builds HNSW in the background."""
        deadline = asyncio.get_running_loop().time() + self._index_wait.total_seconds()
        while True:
            info = await _vendor("get_collection", self._client.get_collection(name))
            if info.status == qm.CollectionStatus.RED:
                raise RetrievalError(f"Qdrant reports collection {name} as failed (red)")
            if info.status != qm.CollectionStatus.YELLOW:
                return
            if asyncio.get_running_loop().time() >= deadline:
                _log.warning("collection %s is still optimising; switching to it anyway", name)
                return
            await asyncio.sleep(self._poll_interval.total_seconds())


class QdrantIndexBuild:
    """A new physical collection being filled; the alias moves to it on ``commit``."""

    def __init__(self, index: QdrantServerIndex, pending: IndexStatus) -> None:
        self._index = index
        self._client = index._client
        self._pending = pending
        self._name = physical_name(pending.collection, pending.build_id)
        self._has_dense = pending.dense_dim is not None
        self._state: Literal["open", "committing", "committed", "aborted"] = "open"

    @property
    def build_id(self) -> str:
        return self._pending.build_id

    async def upsert(self, points: Sequence[IndexPoint]) -> None:
        self._require_open()
        for start in range(0, len(points), self._index._batch_size):
            batch = [
                _point(p, has_dense=self._has_dense) for p in points[start : start + self._index._batch_size]
            ]
            await _vendor("upsert", self._client.upsert(self._name, batch, wait=True))

    async def commit(self) -> IndexStatus:
        self._require_open()
        self._state = "committing"
        collection = self._pending.collection
        try:
            await self._index._wait_indexed(self._name)
            counted = await _vendor("count", self._client.count(self._name, exact=True))
            status = replace(self._pending, points=counted.count, built_at=self._index._clock.now())
            record = status_record(status)
            await _vendor("update_collection", self._client.update_collection(self._name, metadata=record))
            previous = await self._index._switch(collection, self.build_id)
        except Exception:
            if not await self._index._is_live(collection, self._name):
                self._state = "open"
                await self.abort_quietly()
                raise
            # The switch went through although the call reported a failure (a timeout).
            # The previous build is unknown, so nothing is pruned this time.
            _log.warning("alias %s switched to %s despite an error", collection, self._name)
            self._state = "committed"
            return status
        self._state = "committed"
        await self._index._prune(
            collection, {self.build_id} if previous is None else {self.build_id, previous}
        )
        return status

    async def abort(self) -> None:
        """Drop the build's collection; a no-op once it is committed or aborted."""
        if self._state != "open":
            return
        self._state = "aborted"
        await _vendor("delete_collection", self._client.delete_collection(self._name))

    async def abort_quietly(self) -> None:
        """Abort while another error is on its way up: a failure here must not replace it."""
        try:
            await self.abort()
        except RetrievalError as exc:
            _log.warning("could not drop build collection %s: %s", self._name, exc)

    def _require_open(self) -> None:
        if self._state != "open":
            raise RuntimeError(f"build {self.build_id} is {self._state}")


def _point(point: IndexPoint, *, has_dense: bool) -> qm.PointStruct:
    vector: dict[str, qm.Vector] = {SPARSE_VECTOR: _sparse(point.sparse)}
    if has_dense and point.dense is not None:
        vector[DENSE_VECTOR] = list(point.dense)
    return qm.PointStruct(id=point.chunk.chunk_id, vector=vector, payload=to_payload(point.chunk))


def _sparse(vector: CoreSparseVector) -> qm.SparseVector:
    return qm.SparseVector(indices=list(vector.indices), values=list(vector.values))


_Request = tuple[
    list[float] | qm.SparseVector | qm.RrfQuery | qm.FusionQuery, str | None, list[qm.Prefetch] | None
]
"""(query, using, prefetch) of one ``query_points`` call."""


def _request(query: IndexQuery, *, has_dense: bool) -> _Request | None:
    """The ``query_points`` arguments for a query, or None when it has nothing to search with."""
    plan = plan_query(query, has_dense)
    match plan:
        case "hybrid":
            assert query.dense is not None and query.sparse is not None
            condition = _filter(query.filters)
            prefetch = [
                qm.Prefetch(
                    query=list(query.dense), using=DENSE_VECTOR, limit=query.prefetch_limit, filter=condition
                ),
                qm.Prefetch(
                    query=_sparse(query.sparse),
                    using=SPARSE_VECTOR,
                    limit=query.prefetch_limit,
                    filter=condition,
                ),
            ]
            return _fusion(query.fusion), None, prefetch
        case "dense":
            assert query.dense is not None
            return list(query.dense), DENSE_VECTOR, None
        case "sparse":
            assert query.sparse is not None
            return _sparse(query.sparse), SPARSE_VECTOR, None
        case "empty":
            return None
        case _:
            assert_never(plan)


def _fusion(spec: FusionSpec) -> qm.RrfQuery | qm.FusionQuery:
    match spec.method:
        case "rrf":
            return qm.RrfQuery(rrf=qm.Rrf(k=spec.rrf_k, weights=list(spec.weights)))
        case "dbsf":
            return qm.FusionQuery(fusion=qm.Fusion.DBSF)
        case _:
            assert_never(spec.method)


def _filter(filters: Mapping[str, str]) -> qm.Filter | None:
    if not filters:
        return None
    return qm.Filter(
        must=[
            qm.FieldCondition(key=filter_field(k), match=qm.MatchValue(value=v)) for k, v in filters.items()
        ]
    )
