"""KiwiSparseEncoder: content morphemes only, stable hashed ids, feature options, encoder id."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer
from assistant.retrieval.sparse import ENCODER_VERSION, KiwiSparseEncoder, TermFeatures, term_id


@pytest.fixture(scope="module")
def encoder(kiwi_analyzer: KiwiAnalyzer) -> KiwiSparseEncoder:
    return KiwiSparseEncoder(kiwi_analyzer)


def test_particles_are_stripped(encoder: KiwiSparseEncoder) -> None:
    assert encoder.terms("장롱을") == encoder.terms("장롱은") == encoder.terms("장롱") == ["장롱"]
    assert encoder.analyze_query("장롱을") == encoder.analyze_query("장롱") == {term_id("장롱"): 1}


def test_content_morphemes_only(encoder: KiwiSparseEncoder) -> None:
    terms = encoder.terms("장롱을 버리려면 어떻게 해야 하나요? COVID-19 執行 https://www.easylaw.go.kr")

    # Verb stems become lemmas; function stems (하다, 어떻다), endings, particles and adverbs are
    # dropped; foreign words are lower-cased; numbers, hanja and URLs are kept.
    assert terms == ["장롱", "버리다", "covid", "19", "執行", "https://www.easylaw.go.kr"]


def test_compound_nouns_are_split_by_kiwi(encoder: KiwiSparseEncoder) -> None:
    # "대형폐기물" and "대형 폐기물" meet on the same terms, so spacing does not matter.
    assert encoder.terms("대형폐기물 신고") == encoder.terms("대형 폐기물 신고") == ["대형", "폐기물", "신고"]


def test_optional_features(kiwi_analyzer: KiwiAnalyzer) -> None:
    no_verbs = KiwiSparseEncoder(kiwi_analyzer, features=TermFeatures(verbs=False))
    compounds = KiwiSparseEncoder(kiwi_analyzer, features=TermFeatures(compounds=True))
    bigrams = KiwiSparseEncoder(kiwi_analyzer, features=TermFeatures(noun_bigrams=3))

    assert no_verbs.terms("장롱을 버리려면") == ["장롱"]
    assert compounds.terms("대형폐기물 신고") == ["대형", "폐기물", "대형폐기물", "신고"]
    # Spaced nouns are not adjacent, so they form no compound.
    assert compounds.terms("대형 폐기물") == ["대형", "폐기물"]
    assert bigrams.terms("폐기물 신고") == ["폐기물", "bi:폐기", "bi:기물", "신고"]


def test_term_ids_are_stable_literal_values() -> None:
    assert term_id("장롱") == 1779055599
    assert term_id("대형폐기물") == 3749485437
    assert term_id("버리다") == 2663524953
    assert term_id("bi:폐기") == 806351089
    assert all(0 <= term_id(t) < 2**32 for t in ("", "a", "장롱" * 50))


def test_term_ids_are_the_same_in_another_process() -> None:
    code = "from assistant.retrieval.sparse import term_id; print(term_id('장롱'), term_id('covid'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(term_id("장롱")), str(term_id("covid"))]


def test_analyze_counts_repeats_and_matches_query_analysis(encoder: KiwiSparseEncoder) -> None:
    texts = ["장롱을 버리고 장롱 스티커를 붙입니다.", "기초연금 신청"]
    counts = encoder.analyze(texts)

    assert counts[0][term_id("장롱")] == 2
    assert counts == [encoder.analyze_query(t) for t in texts]
    assert encoder.analyze([]) == []


def test_count_terms_over_segments_equals_analyze(
    encoder: KiwiSparseEncoder, kiwi_analyzer: KiwiAnalyzer
) -> None:
    lines = ["대형폐기물 배출 신고", "장롱은 스티커를 붙여 내놓습니다."]
    segments = kiwi_analyzer.morphemes(lines, tags=encoder.content_tags)

    expected = Counter[int]()
    for counts in encoder.analyze(lines):
        expected.update(counts)
    assert encoder.count_terms(segments) == expected


def test_encoder_id_names_version_features_and_analyzer(kiwi_analyzer: KiwiAnalyzer) -> None:
    default = KiwiSparseEncoder(kiwi_analyzer).encoder_id
    with_bigrams = KiwiSparseEncoder(kiwi_analyzer, features=TermFeatures(noun_bigrams=2)).encoder_id

    assert default == f"{ENCODER_VERSION}/morph+verbs/{kiwi_analyzer.analyzer_id}"
    assert default.startswith("kiwi-bm25-v1/")
    assert with_bigrams != default


def test_bigrams_need_at_least_two_characters() -> None:
    with pytest.raises(ValueError, match="noun_bigrams"):
        TermFeatures(noun_bigrams=1)
