"""ContextPacker: numbered sources in rank order, duplicates dropped, within the token budget."""

from __future__ import annotations

from dataclasses import replace

import pytest

from assistant.answering.context import ContextPacker, estimate_tokens
from assistant.core.knowledge import ChunkId, ScoredChunk
from tests.unit.answering.conftest import faq_chunk


def cost(hit_text: str, title: str) -> int:
    return estimate_tokens(title) + estimate_tokens(hit_text)


def test_sources_are_numbered_in_rank_order_and_deduplicated() -> None:
    office, kiosk, bike = faq_chunk("office"), faq_chunk("kiosk"), faq_chunk("bike")
    copy = replace(office, chunk_id=ChunkId("another-id"))  # same text under another id
    hits = [
        ScoredChunk(office, 3.0),
        ScoredChunk(office, 2.9),
        ScoredChunk(copy, 2.5),
        ScoredChunk(kiosk, 2.0),
        ScoredChunk(bike, 1.0),
    ]
    packed = ContextPacker(token_budget=2000, max_sources=5).pack(hits)

    assert [(s.n, s.chunk.chunk_id) for s in packed] == [
        (1, "chunk-office"),
        (2, "chunk-kiosk"),
        (3, "chunk-bike"),
    ]
    assert packed[0].text == office.text
    assert packed[0].prompt_item() == {"n": 1, "title": office.title, "section": "", "text": office.text}
    assert packed[1].citation.chunk_id == "chunk-kiosk" and packed[1].citation.n == 2


def test_the_budget_is_respected_and_a_smaller_chunk_still_fits() -> None:
    office, kiosk, bike = faq_chunk("office"), faq_chunk("kiosk"), faq_chunk("bike")
    budget = cost(office.text, office.title) + 20
    packed = ContextPacker(token_budget=budget, max_sources=5, min_cut_tokens=200).pack(
        [ScoredChunk(office, 3), ScoredChunk(kiosk, 2), ScoredChunk(bike, 1)]
    )
    assert [s.chunk.chunk_id for s in packed] == ["chunk-office"]
    assert sum(cost(s.text, s.chunk.title) for s in packed) <= budget
    assert (
        ContextPacker(token_budget=5000, max_sources=2)
        .pack([ScoredChunk(office, 3), ScoredChunk(kiosk, 2), ScoredChunk(bike, 1)])[-1]
        .n
        == 2
    )


def test_a_long_first_chunk_is_cut_at_a_sentence_end() -> None:
    office = faq_chunk("office")
    budget = estimate_tokens(office.title) + 70
    [only] = ContextPacker(token_budget=budget, max_sources=5, min_cut_tokens=10).pack(
        [ScoredChunk(office, 1)]
    )
    assert only.text != office.text and office.text.startswith(only.text)
    assert only.text.endswith("다.")
    assert estimate_tokens(only.text) <= 70


def test_invalid_budgets_are_refused() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        ContextPacker(token_budget=0, max_sources=1)
