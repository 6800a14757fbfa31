"""RetrievalConfidence: term coverage, unknown names and the dense cosine decide abstention."""

from __future__ import annotations

from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.text import KoreanText
from assistant.core.knowledge import ScoredChunk
from tests.unit.answering.conftest import faq_chunk


def hits(*keys: str) -> list[ScoredChunk]:
    return [ScoredChunk(faq_chunk(key), 1.0) for key in keys]


def test_a_covered_question_is_confident(text: KoreanText) -> None:
    verdict = RetrievalConfidence(text, ConfidencePolicy()).assess(
        "따릉이 2시간권 요금 얼마예요?", hits("bike"), None
    )
    assert verdict.coverage == 1.0 and verdict.sufficient
    assert verdict.threshold == ConfidencePolicy().lexical_threshold


def test_an_unknown_name_costs_more_than_an_unknown_noun(text: KoreanText) -> None:
    gate = RetrievalConfidence(text, ConfidencePolicy())
    city = gate.assess("대전시 기초연금 신청 장소", hits("pension-apply"), None)
    plain = gate.assess("기초연금 신청 창구 장소", hits("pension-apply"), None)
    assert city.missing_names == ("대전시",)
    assert not city.sufficient
    assert plain.missing_names == () and plain.sufficient


def test_dense_cosine_moves_the_score(text: KoreanText) -> None:
    gate = RetrievalConfidence(text, ConfidencePolicy())
    question = "애기 예방주사 돈 내야 돼요?"
    low = gate.assess(question, hits("office"), 0.80)
    high = gate.assess(question, hits("office"), 0.95)
    assert high.score > low.score
    assert low.threshold == ConfidencePolicy().threshold


def test_no_hits_is_never_confident(text: KoreanText) -> None:
    assert not RetrievalConfidence(text, ConfidencePolicy()).assess("등본", [], 0.99).sufficient
