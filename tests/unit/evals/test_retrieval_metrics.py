"""Retrieval metrics on hand-computed examples."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from assistant.core.errors import SourceError
from assistant.core.knowledge import Chunk, ChunkId, DocumentId
from evals.datasets import ExpectedSource, load_retrieval_cases
from evals.retrieval_metrics import (
    chunk_matches,
    first_relevant_rank,
    hit_at,
    ndcg_at,
    recall_at,
    reciprocal_rank,
)


def _chunk(title: str, section: str, doc_key: str = "x") -> Chunk:
    return Chunk(
        chunk_id=ChunkId("c"),
        document_id=DocumentId(f"easylaw/{title}.csv#{doc_key}"),
        ordinal=0,
        source="easylaw",
        title=title,
        section=section,
        text="…",
    )


def test_chunk_matching_by_title_and_section_or_document_key() -> None:
    expected = ExpectedSource(source="공유재산 이용자", section="공유재산의 의의")
    assert chunk_matches(expected, _chunk("공유재산 이용자", "공유재산의 의의"))
    assert not chunk_matches(expected, _chunk("공유재산 이용자", "관련법제 개관"))
    assert not chunk_matches(expected, _chunk("국유재산 이용자", "공유재산의 의의"))
    faq = ExpectedSource(source="sample", section="faq-bulky")
    assert chunk_matches(
        faq, Chunk(ChunkId("c"), DocumentId("sample/faq.jsonl#faq-bulky"), 0, "sample", "q", "", "a")
    )


def test_rank_based_metrics() -> None:
    expected = [ExpectedSource(source="t", section="b")]
    ranked = [_chunk("t", "a"), _chunk("t", "b"), _chunk("t", "c")]
    rank = first_relevant_rank(ranked, expected)
    assert rank == 2
    assert hit_at(rank, 1) == 0.0
    assert hit_at(rank, 5) == 1.0
    assert reciprocal_rank(rank, 10) == 0.5
    assert reciprocal_rank(None, 10) == 0.0
    assert first_relevant_rank(ranked[:1], expected) is None


def test_recall_and_ndcg() -> None:
    assert recall_at(["a", "b", "c"], {"b", "z"}, 2) == 0.5
    assert ndcg_at(["a", "b"], {"a": 1.0}, 10) == 1.0
    assert ndcg_at(["x", "a"], {"a": 1.0}, 10) == pytest.approx(1 / math.log2(3))
    assert ndcg_at(["x", "x", "a"], {"a": 1.0}, 2) == pytest.approx(1 / math.log2(3))
    assert ndcg_at(["x"], {}, 10) == 0.0


def test_bad_dataset_line_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text(
        '{"id": "a", "question": "q", "expected": [{"source": "s", "section": "t"}]}\n'
        '{"id": "b", "question": "q", "expected": []}\n',
        encoding="utf-8",
    )
    with pytest.raises(SourceError) as info:
        load_retrieval_cases(path)
    assert info.value.row == 2
    assert str(path) in str(info.value)
