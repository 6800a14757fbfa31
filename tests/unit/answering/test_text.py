"""Korean text helpers: content terms, citation markers, sentences with their markers, streaming cuts."""

from __future__ import annotations

from assistant.answering.sentences import SentenceAssembler
from assistant.answering.text import KoreanText, citation_numbers, strip_citations


def test_terms_have_kinds_and_skip_grammar(text: KoreanText) -> None:
    terms = {(t.form, t.kind) for t in text.terms("삼성전자 BTS 장롱을 버리려면 얼마예요? [1]")}
    assert terms == {("삼성전자", "name"), ("bts", "foreign"), ("장롱", "noun"), ("버리다", "verb")}


def test_citation_markers() -> None:
    assert citation_numbers("가 [1]. 나 [2][1] 다 [3, 4]") == (1, 2, 3, 4)
    assert strip_citations("1통에 400원이에요 [1].") == "1통에 400원이에요 ."


def test_sentences_keep_their_markers(text: KoreanText) -> None:
    answer = "창구에서는 400원이에요. [1] 무인발급기는 200원이에요[2] 정부24에서는 무료예요. [1][2]"
    assert text.sentences(answer) == [
        "창구에서는 400원이에요. [1]",
        "무인발급기는 200원이에요[2]",
        "정부24에서는 무료예요. [1][2]",
    ]


def test_negations_and_restrictive_words(text: KoreanText) -> None:
    assert text.marks("수수료 없이 버릴 수 있어요").negations == 0  # 없이 is an adverb
    assert text.marks("필증을 붙이지 않으면 수거되지 않아요").negations == 2
    assert text.marks("이상 반응이 없는지 지켜보세요").negations == 0
    assert text.marks("주민센터에서만 돼요").restrictive == frozenset({"만"})
    assert text.marks("누구나 신청할 수 있어요").restrictive == frozenset({"누구나"})


def test_the_assembler_waits_for_a_sentences_citation(text: KoreanText) -> None:
    assembler = SentenceAssembler(text)
    released: list[str] = []
    for piece in ["창구에서는 400원", "이에요. [", "1", "] 무인", "발급기는 200원이에요 [2]."]:
        released.extend(assembler.feed(piece))
    assert released == ["창구에서는 400원이에요. [1]"]
    assert assembler.flush() == ["무인발급기는 200원이에요 [2]."]
    assert assembler.flush() == []


def test_the_assembler_holds_a_dangling_marker(text: KoreanText) -> None:
    assembler = SentenceAssembler(text)
    assert assembler.feed("가방은 유실물센터에서 찾아요. 역에 알리세요. [") == [
        "가방은 유실물센터에서 찾아요."
    ]
    assert assembler.feed("2] 다음") == ["역에 알리세요. [2]"]
    assert assembler.flush() == ["다음"]


def test_markers_written_first_stay_with_their_sentence(text: KoreanText) -> None:
    assert text.sentences("[1] 일일권은 2,000원입니다. [2] 정기권은 5,000원입니다.") == [
        "[1] 일일권은 2,000원입니다.",
        "[2] 정기권은 5,000원입니다.",
    ]
