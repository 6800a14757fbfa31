"""Fitting text into Kakao's limits: sentence-boundary splits, truncation with a note, short labels."""

from __future__ import annotations

import unicodedata

import pytest

from channels.kakao.text_fit import sentences, split_text, trim

SENTENCE = "대형폐기물은 구청에 배출 신고를 한 뒤 스티커를 붙여 내놓으면 됩니다. "  # 40 characters


def test_sentences_keep_their_punctuation_and_line_breaks() -> None:
    text = '신고는 "정부24"에서 합니다." 수수료는 3.5천 원입니다!\n다음 줄'
    assert sentences(text) == ['신고는 "정부24"에서 합니다." ', "수수료는 3.5천 원입니다!\n", "다음 줄"]


def test_short_text_is_one_part() -> None:
    fitted = split_text("  안녕하세요.  ", 1000, 3)
    assert fitted.parts == ("안녕하세요.",)
    assert not fitted.truncated


def test_long_text_splits_only_at_sentence_boundaries_and_loses_nothing() -> None:
    text = SENTENCE * 60  # 2,400 characters
    fitted = split_text(text, 1000, 3)
    assert len(fitted.parts) == 3 and not fitted.truncated
    assert all(len(part) <= 1000 for part in fitted.parts)
    assert all(part.endswith("됩니다.") for part in fitted.parts)
    assert "".join(fitted.parts).replace(" ", "") == text.replace(" ", "")


def test_text_beyond_the_parts_is_cut_at_a_sentence_and_noted() -> None:
    note = "\n(이하 생략)"
    fitted = split_text(SENTENCE * 100, 1000, 2, note)
    assert len(fitted.parts) == 2 and fitted.truncated
    assert all(len(part) <= 1000 for part in fitted.parts)
    assert fitted.parts[-1].endswith("됩니다." + note)


def test_a_sentence_longer_than_the_limit_is_wrapped_at_spaces() -> None:
    words = " ".join(["가나다라마"] * 400)  # no sentence end at all
    fitted = split_text(words, 1000, 3)
    assert all(len(part) <= 1000 for part in fitted.parts)
    assert all(not part.endswith("가나다라") for part in fitted.parts)  # never inside a word


def test_lengths_count_characters_after_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "가" * 600)
    assert len(decomposed) == 1200
    fitted = split_text(decomposed, 1000, 3)
    assert fitted.parts == ("가" * 600,)


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("상담원 연결", "상담원 연결"),
        ("주민등록등본 발급 방법을 알려 주세요", "주민등록등본 발급 방법을…"),
        ("  여러\n줄의   라벨  ", "여러 줄의 라벨"),
    ],
)
def test_trim_cuts_labels_to_the_limit_with_an_ellipsis(label: str, expected: str) -> None:
    assert trim(label, 14) == expected
    assert len(trim(label, 14)) <= 14
