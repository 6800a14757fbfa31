"""ExtractiveAnswerer: the source about the question leads, sentences are verbatim and cited."""

from __future__ import annotations

from dataclasses import replace

from assistant.answering.context import PackedSource
from assistant.answering.extractive import ExtractiveAnswerer, cite
from assistant.answering.text import KoreanText
from tests.unit.answering.conftest import faq_chunk


def packed(*keys: str) -> list[PackedSource]:
    return [PackedSource(n, faq_chunk(key), faq_chunk(key).text, 1.0) for n, key in enumerate(keys, start=1)]


def test_the_source_about_the_question_leads(text: KoreanText) -> None:
    picked = ExtractiveAnswerer(text).answer(
        "기초연금은 어디서 신청해요?", packed("pension-who", "pension-apply")
    )
    assert picked[0].n == 2
    assert picked[0].text.startswith("기초연금은 주소지 주민센터") and picked[0].text.endswith("[2].")
    assert all(s.n == 2 for s in picked)


def test_a_question_for_an_amount_gets_the_sentence_with_the_amount(text: KoreanText) -> None:
    picked = ExtractiveAnswerer(text, max_sentences=2).answer(
        "무인민원발급기에서 떼면 얼마예요?", packed("kiosk")
    )
    assert any("1통에 200원입니다 [1]." in s.text for s in picked)


def test_a_table_row_is_shown_with_its_title(text: KoreanText) -> None:
    row = replace(
        faq_chunk("bike"),
        title="강남구 대형폐기물 수수료: 소파",
        text="강남구 · 소파 · 3인용 · 유료 · 10,000원",
    )
    [only] = ExtractiveAnswerer(text).answer("3인용 소파 수수료", [PackedSource(1, row, row.text, 1.0)])
    assert only.text == "강남구 대형폐기물 수수료: 소파 (강남구 · 소파 · 3인용 · 유료 · 10,000원) [1]"


def test_spoken_answers_are_shorter(text: KoreanText) -> None:
    picked = ExtractiveAnswerer(text).answer("등본 떼는 수수료", packed("office"), max_sentences=1)
    assert len(picked) == 1


def test_cite_places_the_marker_before_the_final_punctuation() -> None:
    assert cite("1통에 400원입니다.", 3) == "1통에 400원입니다 [3]."
    assert cite("강남구 · 소파 · 10,000원", 1) == "강남구 · 소파 · 10,000원 [1]"
