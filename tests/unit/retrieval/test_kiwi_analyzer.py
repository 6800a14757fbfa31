"""KiwiAnalyzer: morphemes with base tags and offsets, sentences, tag filtering, batch = single."""

from __future__ import annotations

import re

import pytest

from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer, Morpheme


def test_morphemes_carry_base_tags_and_offsets(kiwi_analyzer: KiwiAnalyzer) -> None:
    text = "기초연금을 받으려면"
    [morphemes] = kiwi_analyzer.morphemes([text])

    assert ("연금", "NNG") in [(m.form, m.tag) for m in morphemes]
    # Kiwi tags 받 as "VV-R" (regular conjugation); the analyzer reports the base tag.
    assert Morpheme("받", "VV", 6, 7) in morphemes
    for m in morphemes:
        assert 0 <= m.start <= m.end <= len(text)


def test_tags_filter_keeps_only_the_given_base_tags(kiwi_analyzer: KiwiAnalyzer) -> None:
    [kept] = kiwi_analyzer.morphemes(["장롱을 버리려면 어떻게 해야 하나요?"], tags={"NNG", "VV"})

    assert [(m.form, m.tag) for m in kept] == [("장롱", "NNG"), ("버리", "VV"), ("하", "VV")]
    assert kiwi_analyzer.morphemes(["장롱을 버리려면"], tags=frozenset()) == [[]]


def test_sentences_split_with_offsets_and_morphemes(kiwi_analyzer: KiwiAnalyzer) -> None:
    text = "노인복지주택에 입소할 수 있습니다.주거급여는 수급자에게 지급됩니다."
    [sentences] = kiwi_analyzer.sentences([text], tags={"NNG"})

    assert [text[s.start : s.end] for s in sentences] == [
        "노인복지주택에 입소할 수 있습니다.",
        "주거급여는 수급자에게 지급됩니다.",
    ]
    second = sentences[1]
    assert [m.form for m in second.morphemes] == ["주거", "급여", "수급자", "지급"]
    assert all(second.start <= m.start < second.end for m in second.morphemes)


def test_batch_results_equal_single_results_in_order(kiwi_analyzer: KiwiAnalyzer) -> None:
    texts = ["대형폐기물 배출 신고", "", "기초연금 신청 자격은 무엇인가요?", "COVID-19 검사"]

    batch = kiwi_analyzer.morphemes(texts)
    assert batch == [kiwi_analyzer.morphemes([t])[0] for t in texts]
    assert batch[1] == []
    assert kiwi_analyzer.sentences(texts) == [kiwi_analyzer.sentences([t])[0] for t in texts]


def test_analyzer_id_names_kiwi_release_and_model(kiwi_analyzer: KiwiAnalyzer) -> None:
    assert re.fullmatch(r"kiwi\d+\.\d+-none", kiwi_analyzer.analyzer_id)


def test_needs_at_least_one_worker() -> None:
    with pytest.raises(ValueError, match="num_workers"):
        KiwiAnalyzer(num_workers=0)
