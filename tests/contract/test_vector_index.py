"""Contract suite for ``VectorIndex``: the same scenarios on Qdrant Edge and on qdrant-client's local mode."""

from __future__ import annotations

import asyncio
import json
import math
import os
import sys
import tempfile
import textwrap
from collections.abc import AsyncIterator, Iterator, Mapping
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest
from qdrant_client import AsyncQdrantClient

from assistant.core.clock import FakeClock
from assistant.core.errors import ConfigurationError, RetrievalError
from assistant.core.knowledge import Chunk, DocumentId, ScoredChunk, SparseVector, chunk_id_for
from assistant.retrieval.edge_index import EdgeIndex
from assistant.retrieval.ports import (
    FusionMethod,
    FusionSpec,
    IndexPoint,
    IndexQuery,
    IndexSpec,
    IndexStatus,
    VectorIndex,
)
from assistant.retrieval.qdrant_index import QdrantServerIndex

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.filterwarnings("ignore:Payload indexes have no effect:UserWarning"),
]

REPO_ROOT = Path(__file__).resolve().parents[2]
DIM = 8
COLLECTION = "docs"
HYBRID = IndexSpec(
    collection=COLLECTION, embedding_model="test-8d", dense_dim=DIM, sparse_encoder="kiwi-test"
)
LEXICAL = IndexSpec(collection=COLLECTION, embedding_model=None, dense_dim=None, sparse_encoder="kiwi-test")
PARKING, PERMIT, TRASH, LIBRARY, COMMON, RARE = 101, 102, 103, 104, 105, 106


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@pytest.fixture
def edge_root(tmp_path: Path) -> Iterator[Path]:
    """Where Edge shards go: tmpfs when there is one, so the engine's fsyncs don't dominate test time."""
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        yield tmp_path / "index"
        return
    with tempfile.TemporaryDirectory(dir=shm, prefix="dasan-edge-test-") as root:
        yield Path(root)


@pytest.fixture(params=["edge", "server"])
async def index(
    request: pytest.FixtureRequest, anyio_backend: str, edge_root: Path, clock: FakeClock
) -> AsyncIterator[VectorIndex]:
    implementation: VectorIndex
    if request.param == "edge":
        implementation = EdgeIndex(edge_root, clock=clock)
    else:
        implementation = QdrantServerIndex(AsyncQdrantClient(location=":memory:"), clock=clock)
    yield implementation
    await implementation.close()


# --- fixtures of hand-made vectors -------------------------------------------------------------


def unit(axis: int) -> tuple[float, ...]:
    return tuple(1.0 if i == axis else 0.0 for i in range(DIM))


def mix(weights: Mapping[int, float]) -> tuple[float, ...]:
    norm = math.sqrt(sum(w * w for w in weights.values()))
    return tuple(weights.get(i, 0.0) / norm for i in range(DIM))


def terms(weights: Mapping[int, float]) -> SparseVector:
    ordered = sorted(weights.items())
    return SparseVector(indices=tuple(i for i, _ in ordered), values=tuple(v for _, v in ordered))


def chunk(
    name: str,
    *,
    source: str = "faq",
    category: str | None = None,
    metadata: Mapping[str, str] | None = None,
    text: str | None = None,
) -> Chunk:
    document_id = DocumentId(f"doc-{name}")
    return Chunk(
        chunk_id=chunk_id_for(document_id, 0),
        document_id=document_id,
        ordinal=0,
        source=source,
        title=f"title {name}",
        section="",
        text=text or f"text {name}",
        category=category,
        metadata=dict(metadata or {}),
    )


def point(
    name: str, dense: tuple[float, ...] | None, sparse: Mapping[int, float], **fields: object
) -> IndexPoint:
    return IndexPoint(chunk=chunk(name, **fields), sparse=terms(sparse), dense=dense)  # type: ignore[arg-type]


def city() -> list[IndexPoint]:
    """Five chunks; ``a`` is the best match for "parking permit" on both vectors."""
    return [
        point(
            "a",
            unit(0),
            {PARKING: 1.0, PERMIT: 1.0},
            category="traffic",
            metadata={"district": "gangnam", "topic": "parking"},
        ),
        point("b", unit(1), {TRASH: 1.0}, category="waste", metadata={"district": "mapo"}),
        point(
            "c",
            unit(2),
            {LIBRARY: 1.0},
            source="notice",
            category="culture",
            metadata={"district": "gangnam"},
        ),
        point(
            "d",
            mix({0: 0.5, 3: 1.0}),
            {PARKING: 1.0},
            source="notice",
            category="traffic",
            metadata={"district": "mapo", "topic": "parking"},
        ),
        point("e", unit(4), {COMMON: 1.0}, source="notice"),
    ]


async def build(
    index: VectorIndex,
    points: list[IndexPoint],
    *,
    spec: IndexSpec = HYBRID,
    metadata: Mapping[str, str] | None = None,
) -> IndexStatus:
    started = await index.begin_build(spec, metadata or {})
    await started.upsert(points)
    return await started.commit()


def names(hits: list[ScoredChunk]) -> list[str]:
    return [hit.chunk.document_id.removeprefix("doc-") for hit in hits]


def query(
    *,
    dense: tuple[float, ...] | None = None,
    sparse: Mapping[int, float] | None = None,
    limit: int = 10,
    filters: Mapping[str, str] | None = None,
    fusion: FusionSpec | None = None,
    prefetch_limit: int = 50,
) -> IndexQuery:
    return IndexQuery(
        limit=limit,
        prefetch_limit=prefetch_limit,
        dense=dense,
        sparse=terms(sparse) if sparse is not None else None,
        filters=dict(filters or {}),
        fusion=fusion or FusionSpec(),
    )


def assert_ranked(hits: list[ScoredChunk]) -> None:
    scores = [hit.score for hit in hits]
    assert scores == sorted(scores, reverse=True)


# --- the contract ------------------------------------------------------------------------------


async def test_unbuilt_collection_has_no_status_and_refuses_search(index: VectorIndex) -> None:
    assert await index.status(COLLECTION) is None
    assert await index.collections() == []
    with pytest.raises(RetrievalError, match="docs has not been built; run dasan ingest"):
        await index.search(COLLECTION, query(sparse={PARKING: 1.0}))


async def test_commit_records_the_version(index: VectorIndex, clock: FakeClock) -> None:
    committed = await build(index, city(), metadata={"state_generation": "7"})

    assert committed.collection == COLLECTION
    assert committed.points == 5
    assert committed.embedding_model == "test-8d"
    assert committed.dense_dim == DIM
    assert committed.sparse_encoder == "kiwi-test"
    assert committed.built_at == clock.now()
    assert dict(committed.metadata) == {"state_generation": "7"}
    assert await index.status(COLLECTION) == committed
    assert await index.collections() == [COLLECTION]


async def test_collections_lists_every_built_collection(index: VectorIndex) -> None:
    await build(index, city())
    await build(index, city()[:1], spec=IndexSpec("other", None, None, "kiwi-test"))
    assert await index.collections() == [COLLECTION, "other"]
    other = await index.status("other")
    assert other is not None and other.points == 1 and other.embedding_model is None


async def test_invalid_collection_name_is_a_configuration_error(index: VectorIndex) -> None:
    with pytest.raises(ConfigurationError):
        await index.begin_build(IndexSpec("../escape", None, None, "kiwi-test"), {})
    with pytest.raises(ConfigurationError):
        await index.search("a--b", query(sparse={PARKING: 1.0}))


@pytest.mark.parametrize("method", ["rrf", "dbsf"])
async def test_hybrid_ranks_the_match_on_both_vectors_first(index: VectorIndex, method: FusionMethod) -> None:
    await build(index, city())
    hits = await index.search(
        COLLECTION,
        query(dense=unit(0), sparse={PARKING: 1.0, PERMIT: 1.0}, fusion=FusionSpec(method=method)),
    )
    assert names(hits)[:2] == ["a", "d"]
    assert len(hits) == 5
    assert_ranked(hits)


@pytest.mark.parametrize("method", ["rrf", "dbsf"])
async def test_search_respects_the_limit(index: VectorIndex, method: FusionMethod) -> None:
    await build(index, city())
    hits = await index.search(
        COLLECTION,
        query(dense=unit(0), sparse={PARKING: 1.0, PERMIT: 1.0}, limit=2, fusion=FusionSpec(method=method)),
    )
    assert names(hits) == ["a", "d"]


async def test_rrf_weights_decide_between_a_dense_and_a_sparse_winner(index: VectorIndex) -> None:
    # With one candidate per prefetch, x is only on the dense list and y only on the sparse one.
    # Qdrant's weighted RRF scores a rank as 1 / ((rank + 1) / weight + k - 1): the heavier list wins.
    await build(
        index,
        [
            point("x", unit(0), {TRASH: 1.0}),
            point("y", unit(1), {PARKING: 1.0}),
            point("z", unit(2), {LIBRARY: 1.0}),
        ],
    )

    def weighted(dense: float, sparse: float) -> IndexQuery:
        fusion = FusionSpec("rrf", weights=(dense, sparse))
        return query(dense=unit(0), sparse={PARKING: 1.0}, fusion=fusion, prefetch_limit=1)

    even = await index.search(COLLECTION, weighted(1.0, 1.0))
    dense_heavy = await index.search(COLLECTION, weighted(3.0, 1.0))
    sparse_heavy = await index.search(COLLECTION, weighted(1.0, 3.0))

    assert sorted(names(even)) == ["x", "y"]
    assert even[0].score == pytest.approx(even[1].score)
    assert names(dense_heavy) == ["x", "y"]
    assert names(sparse_heavy) == ["y", "x"]
    assert dense_heavy[0].score > even[0].score


async def test_dense_only_query_ranks_by_cosine(index: VectorIndex) -> None:
    await build(index, city())
    hits = await index.search(COLLECTION, query(dense=mix({0: 1.0, 3: 0.1}), limit=3))
    assert names(hits)[:2] == ["a", "d"]
    assert len(hits) == 3
    assert hits[0].score == pytest.approx(1 / math.sqrt(1.01), abs=1e-4)
    assert_ranked(hits)
    exact = await index.search(COLLECTION, query(dense=unit(2), limit=1))
    assert names(exact) == ["c"]
    assert exact[0].score == pytest.approx(1.0, abs=1e-4)


async def test_sparse_only_query(index: VectorIndex) -> None:
    await build(index, city())
    hits = await index.search(COLLECTION, query(sparse={LIBRARY: 1.0}))
    assert names(hits) == ["c"]
    assert hits[0].score > 0


async def test_lexical_only_collection_ignores_dense_vectors(index: VectorIndex) -> None:
    points = [IndexPoint(chunk=p.chunk, sparse=p.sparse, dense=None) for p in city()]
    committed = await build(index, points, spec=LEXICAL)
    assert committed.embedding_model is None and committed.dense_dim is None

    lexical = await index.search(COLLECTION, query(sparse={PARKING: 1.0, PERMIT: 1.0}))
    with_dense = await index.search(COLLECTION, query(dense=unit(2), sparse={PARKING: 1.0, PERMIT: 1.0}))

    assert names(lexical) == ["a", "d"]
    assert [(h.chunk, h.score) for h in with_dense] == [(h.chunk, h.score) for h in lexical]
    assert await index.search(COLLECTION, query(dense=unit(2))) == []


async def test_dense_points_into_a_lexical_collection_keep_only_sparse(index: VectorIndex) -> None:
    await build(index, city(), spec=LEXICAL)
    assert names(await index.search(COLLECTION, query(sparse={TRASH: 1.0}))) == ["b"]


EVERYWHERE_DENSE = mix(dict.fromkeys(range(DIM), 1.0))
EVERY_TERM = dict.fromkeys(range(101, 107), 1.0)


def everything() -> IndexQuery:
    """A hybrid query every point of ``city()`` matches on both vectors."""
    return query(dense=EVERYWHERE_DENSE, sparse=EVERY_TERM)


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({"source": "notice"}, {"c", "d", "e"}),
        ({"category": "traffic"}, {"a", "d"}),
        ({"district": "mapo"}, {"b", "d"}),
        ({"topic": "parking"}, {"a", "d"}),
        ({"district": "gangnam", "category": "traffic"}, {"a"}),
        ({"document_id": "doc-e"}, {"e"}),
        ({"source": "nowhere"}, set()),
    ],
)
@pytest.mark.parametrize("vectors", ["hybrid", "dense", "sparse"])
async def test_filters_are_exact_matches(
    index: VectorIndex, filters: dict[str, str], expected: set[str], vectors: str
) -> None:
    await build(index, city())
    dense = EVERYWHERE_DENSE if vectors in ("hybrid", "dense") else None
    sparse = EVERY_TERM if vectors in ("hybrid", "sparse") else None
    hits = await index.search(COLLECTION, query(dense=dense, sparse=sparse, filters=filters))
    assert set(names(hits)) == expected


@pytest.mark.parametrize("method", ["rrf", "dbsf"])
async def test_filters_apply_before_the_candidates_are_cut(index: VectorIndex, method: FusionMethod) -> None:
    # The best dense candidate overall (a, source faq) must not use up the one dense slot.
    await build(index, city())
    hits = await index.search(
        COLLECTION,
        query(
            dense=unit(0),
            sparse={LIBRARY: 1.0},
            filters={"source": "notice"},
            prefetch_limit=1,
            fusion=FusionSpec(method=method),
        ),
    )
    assert sorted(names(hits)) == ["c", "d"]


async def test_uncommitted_build_is_invisible_until_commit(index: VectorIndex, clock: FakeClock) -> None:
    first = await build(index, city()[:2])
    clock.advance(timedelta(hours=1))
    second = await index.begin_build(HYBRID, {"run": "2"})
    await second.upsert([point("a", unit(0), {PARKING: 1.0}, text="text a v2"), city()[2]])
    before = await index.search(COLLECTION, everything())
    assert sorted(names(before)) == ["a", "b"]
    assert {h.chunk.text for h in before} == {"text a", "text b"}
    assert await index.status(COLLECTION) == first

    committed = await second.commit()

    after = await index.search(COLLECTION, everything())
    assert sorted(names(after)) == ["a", "c"]
    assert {h.chunk.text for h in after} == {"text a v2", "text c"}
    assert committed.build_id != first.build_id
    assert committed.points == 2
    assert committed.built_at == clock.now()
    assert await index.status(COLLECTION) == committed


async def test_abort_keeps_the_live_version(index: VectorIndex) -> None:
    first = await build(index, city()[:2])
    doomed = await index.begin_build(HYBRID, {})
    await doomed.upsert(city()[2:])
    await doomed.abort()
    await doomed.abort()

    assert await index.status(COLLECTION) == first
    assert sorted(names(await index.search(COLLECTION, everything()))) == ["a", "b"]
    assert await index.collections() == [COLLECTION]
    with pytest.raises(RuntimeError):
        await doomed.upsert(city()[:1])


async def test_abort_after_commit_is_a_no_op(index: VectorIndex) -> None:
    started = await index.begin_build(HYBRID, {})
    await started.upsert(city())
    committed = await started.commit()
    await started.abort()
    assert await index.status(COLLECTION) == committed
    assert len(await index.search(COLLECTION, query(sparse={PARKING: 1.0}))) == 2


async def test_a_rebuild_replaces_every_point(index: VectorIndex) -> None:
    await build(index, city())
    await build(index, city()[1:3])
    await build(index, city()[2:4])
    hits = await index.search(COLLECTION, everything())
    assert sorted(names(hits)) == ["c", "d"]
    status = await index.status(COLLECTION)
    assert status is not None and status.points == 2


async def test_payload_round_trips_every_chunk_field(index: VectorIndex) -> None:
    document_id = DocumentId("seoul-faq-17")
    full = Chunk(
        chunk_id=chunk_id_for(document_id, 3),
        document_id=document_id,
        ordinal=3,
        source="seoul-faq",
        title="거주자 우선주차",
        section="신청 방법",
        text="구청 누리집에서 신청합니다. 문의: 120다산콜재단",
        url="https://example.seoul.go.kr/faq/17",
        category="교통",
        updated_at=datetime(2025, 5, 1, 12, 30, 15, tzinfo=timezone(timedelta(hours=9))),
        metadata={"district": "마포구", "topic": "주차", "row": "17"},
    )
    bare = Chunk(
        chunk_id=chunk_id_for(document_id, 4),
        document_id=document_id,
        ordinal=4,
        source="seoul-faq",
        title="",
        section="",
        text="본문만 있는 조각",
    )
    await build(
        index,
        [
            IndexPoint(chunk=full, sparse=terms({PARKING: 2.0}), dense=unit(0)),
            IndexPoint(chunk=bare, sparse=terms({TRASH: 1.0}), dense=unit(1)),
        ],
    )
    [hit_full] = await index.search(COLLECTION, query(sparse={PARKING: 1.0}))
    [hit_bare] = await index.search(COLLECTION, query(sparse={TRASH: 1.0}))
    assert hit_full.chunk == full
    assert hit_full.chunk.updated_at is not None and hit_full.chunk.updated_at.utcoffset() == timedelta(
        hours=9
    )
    assert hit_bare.chunk == bare


async def test_idf_lets_a_rare_term_outrank_a_common_one(index: VectorIndex) -> None:
    # Without IDF "common" (tf 1.2) would win over "rare" (tf 1.0); COMMON occurs in 5 of 6 points.
    points = [point("common", unit(0), {COMMON: 1.2}), point("rare", unit(1), {RARE: 1.0})]
    points += [point(f"filler{i}", unit(2), {COMMON: 1.0, LIBRARY: 1.0}) for i in range(4)]
    await build(index, points)
    hits = await index.search(COLLECTION, query(sparse={COMMON: 1.0, RARE: 1.0}, limit=2))
    assert names(hits) == ["rare", "common"]


async def test_engine_errors_become_retrieval_errors(index: VectorIndex) -> None:
    await build(index, city())
    with pytest.raises(RetrievalError) as caught:
        await index.search(COLLECTION, query(dense=(1.0, 0.0, 0.0)))
    assert caught.value.__cause__ is not None


async def test_a_failed_upsert_is_a_retrieval_error_and_the_build_can_be_aborted(index: VectorIndex) -> None:
    first = await build(index, city())
    started = await index.begin_build(HYBRID, {})
    with pytest.raises(RetrievalError) as caught:
        await started.upsert([point("bad", (1.0, 0.0, 0.0), {PARKING: 1.0})])
    assert caught.value.__cause__ is not None
    await started.abort()
    assert await index.status(COLLECTION) == first


async def test_an_empty_query_finds_nothing(index: VectorIndex) -> None:
    await build(index, city())
    assert await index.search(COLLECTION, query()) == []
    assert await index.search(COLLECTION, query(sparse={})) == []


# --- Qdrant Edge specifics: directory layout and several processes -----------------------------


async def test_edge_layout_and_retention(anyio_backend: str, edge_root: Path, clock: FakeClock) -> None:
    index = EdgeIndex(edge_root, clock=clock)
    try:
        first = await build(index, city())
        aborted = await index.begin_build(HYBRID, {})
        assert (edge_root / COLLECTION / "builds" / aborted.build_id).is_dir()
        await aborted.abort()
        assert not (edge_root / COLLECTION / "builds" / aborted.build_id).exists()
        second = await build(index, city(), metadata={"k": "v"})
        third = await build(index, city())

        builds = sorted(os.listdir(edge_root / COLLECTION / "builds"))
        assert builds == [second.build_id, third.build_id]
        assert first.build_id < second.build_id < third.build_id
        record = json.loads((edge_root / COLLECTION / "CURRENT.json").read_text())
        assert record["build_id"] == third.build_id
        assert record["points"] == 5
        assert record["embedding_model"] == "test-8d" and record["dense_dim"] == DIM
        assert record["built_at"] == clock.now().isoformat()
        assert [p.name for p in (edge_root / COLLECTION).iterdir() if p.name.endswith(".tmp")] == []
    finally:
        await index.close()


async def test_edge_reader_follows_commits_of_another_instance(
    anyio_backend: str, edge_root: Path, clock: FakeClock
) -> None:
    serving = EdgeIndex(edge_root, clock=clock)
    ingesting = EdgeIndex(edge_root, clock=clock)
    try:
        await build(ingesting, city()[:2])
        assert sorted(names(await serving.search(COLLECTION, everything()))) == ["a", "b"]

        pending = await ingesting.begin_build(HYBRID, {})
        await pending.upsert(city()[3:])
        assert sorted(names(await serving.search(COLLECTION, everything()))) == ["a", "b"]
        await pending.commit()

        assert sorted(names(await serving.search(COLLECTION, everything()))) == ["d", "e"]
        status = await serving.status(COLLECTION)
        assert status is not None and status.points == 2
    finally:
        await serving.close()
        await ingesting.close()


async def test_edge_shard_serves_one_reader_at_a_time(anyio_backend: str, edge_root: Path) -> None:
    serving = EdgeIndex(edge_root)
    intruder = EdgeIndex(edge_root)
    try:
        await build(serving, city())
        await serving.search(COLLECTION, query(sparse={PARKING: 1.0}))
        with pytest.raises(RetrievalError, match="open in another process") as caught:
            await intruder.search(COLLECTION, query(sparse={PARKING: 1.0}))
        assert caught.value.retryable
    finally:
        await serving.close()
        await intruder.close()


_CHILD_BUILD = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from assistant.core.knowledge import Chunk, ChunkId, DocumentId, SparseVector
    from assistant.retrieval.edge_index import EdgeIndex
    from assistant.retrieval.ports import IndexPoint, IndexSpec

    async def main() -> None:
        index = EdgeIndex(Path(sys.argv[1]))
        build = await index.begin_build(IndexSpec("docs", "test-8d", 8, "kiwi-test"), {"by": "child"})
        chunk = Chunk(ChunkId(sys.argv[2]), DocumentId("doc-child"), 0, "faq", "title child", "", "child")
        await build.upsert([IndexPoint(chunk, SparseVector((101,), (1.0,)), (1.0,) + (0.0,) * 7)])
        await build.commit()
        await index.close()

    asyncio.run(main())
    """
)


async def test_edge_reader_follows_a_commit_from_another_process(anyio_backend: str, edge_root: Path) -> None:
    serving = EdgeIndex(edge_root)
    try:
        await build(serving, city())
        assert len(await serving.search(COLLECTION, query(sparse={PARKING: 1.0}))) == 2

        child = await asyncio.create_subprocess_exec(
            sys.executable,
            "-c",
            _CHILD_BUILD,
            str(edge_root),
            str(chunk_id_for(DocumentId("doc-child"), 0)),
            cwd=REPO_ROOT,
            stderr=asyncio.subprocess.PIPE,
        )
        _, stderr = await child.communicate()
        assert child.returncode == 0, stderr.decode()

        hits = await serving.search(COLLECTION, query(sparse={PARKING: 1.0}))
        assert names(hits) == ["child"]
        status = await serving.status(COLLECTION)
        assert status is not None and dict(status.metadata) == {"by": "child"}
    finally:
        await serving.close()


# --- Qdrant server specifics: aliases and physical collections ---------------------------------


async def test_server_alias_moves_between_physical_collections(anyio_backend: str, clock: FakeClock) -> None:
    client = AsyncQdrantClient(location=":memory:")
    index = QdrantServerIndex(client, clock=clock)
    try:
        first = await build(index, city())
        aborted = await index.begin_build(HYBRID, {})
        await aborted.abort()
        second = await build(index, city(), metadata={"k": "v"})
        third = await build(index, city())

        physical = sorted(c.name for c in (await client.get_collections()).collections)
        assert physical == [f"docs--{second.build_id}", f"docs--{third.build_id}"]
        assert first.build_id < second.build_id < third.build_id
        aliases = (await client.get_aliases()).aliases
        assert [(a.alias_name, a.collection_name) for a in aliases] == [("docs", f"docs--{third.build_id}")]
        info = await client.get_collection(f"docs--{third.build_id}")
        assert info.config.metadata is not None
        assert info.config.metadata["build_id"] == third.build_id
        assert info.config.metadata["points"] == 5
    finally:
        await index.close()


async def test_server_search_follows_a_shape_change_by_another_instance(anyio_backend: str) -> None:
    client = AsyncQdrantClient(location=":memory:")
    serving, ingesting = QdrantServerIndex(client), QdrantServerIndex(client)
    try:
        await build(ingesting, city())
        hybrid = query(dense=unit(0), sparse={PARKING: 1.0, PERMIT: 1.0})
        assert names(await serving.search(COLLECTION, hybrid))[:2] == ["a", "d"]

        await build(ingesting, city()[2:4], spec=LEXICAL)

        assert names(await serving.search(COLLECTION, hybrid)) == ["d"]
    finally:
        await serving.close()


async def test_edge_close_drops_unfinished_builds(anyio_backend: str, edge_root: Path) -> None:
    index = EdgeIndex(edge_root)
    started = await index.begin_build(HYBRID, {})
    await started.upsert(city())
    await index.close()
    assert os.listdir(edge_root / COLLECTION / "builds") == []
    assert await EdgeIndex(edge_root).status(COLLECTION) is None
