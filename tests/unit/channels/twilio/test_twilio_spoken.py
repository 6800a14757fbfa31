"""Reply text for the ear: markers, links and markdown gone; numbers read aloud; short sentences."""

from __future__ import annotations

from channels.twilio.spoken import MAX_SENTENCE_CHARS, ear_sentences, read_digits, speakable


def test_citation_markers_urls_and_markdown_are_not_read_out() -> None:
    text = (
        "## 여권 발급\n"
        "- **신분증**을 가져오세요 [1].\n"
        "- 수수료는 `50,000원`입니다[2][3].\n"
        "자세한 안내는 [정부24](https://www.gov.kr/portal) 누리집에 있어요 (https://www.gov.kr)."
    )
    assert speakable(text) == (
        "여권 발급. 신분증을 가져오세요. 수수료는 50,000원입니다. 자세한 안내는 정부24 누리집에 있어요."
    )


def test_phone_and_hotline_numbers_are_read_digit_by_digit() -> None:
    assert read_digits("1577-0199") == "일오칠칠-공일구구"
    assert speakable("정신건강 위기상담 1577-0199, 다산콜센터 02-120") == (
        "정신건강 위기상담 일오칠칠 공일구구, 다산콜센터 공이 일이공."
    )
    assert speakable("불이 나면 119에, 민원은 120번으로 전화하세요.") == (
        "불이 나면 일일구에, 민원은 일이공번으로 전화하세요."
    )


def test_amounts_dates_and_counts_are_left_to_the_voice() -> None:
    text = "120일 동안 8,000원, 112명이 2025-01-15에 제119조에 따라 1990-2000년 자료를 봤어요."
    assert speakable(text) == text


def test_long_sentences_are_split_at_clause_breaks() -> None:
    long = (
        "주민등록등본은 가까운 주민센터에 신분증을 가지고 방문하시면 바로 발급받을 수 있고, "
        "정부24 누리집에서도 공동인증서로 로그인하면 무료로 발급받을 수 있으며 "
        "무인민원발급기에서도 수수료 200원으로 바로 발급받으실 수 있습니다."
    )
    sentences = ear_sentences(long, 300)
    assert len(sentences) >= 2
    assert all(len(sentence) <= MAX_SENTENCE_CHARS for sentence in sentences)
    assert " ".join(sentences).replace(",,", ",").startswith("주민등록등본은")


def test_spoken_text_is_capped_at_whole_sentences() -> None:
    text = " ".join(f"{n}번째 문장은 이렇게 조금 길게 이어집니다." for n in range(1, 30))
    sentences = ear_sentences(text, 100)
    assert sum(len(s) for s in sentences) + len(sentences) - 1 <= 100
    assert all(sentence.endswith("다.") for sentence in sentences)
    assert ear_sentences("가" * 500, 100)[0] == "가" * 100 + "."
    assert ear_sentences("", 100) == ()
