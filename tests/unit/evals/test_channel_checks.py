"""Channel conformance checks: Kakao limits, TwiML validity, spoken style."""

from __future__ import annotations

from typing import Any

import pytest

from evals.channel_checks import kakao_violations, sentence_count, spoken_style_violations, twiml_violations


def kakao(outputs: list[Any], quick: list[Any] | None = None) -> dict[str, Any]:
    template: dict[str, Any] = {"outputs": outputs}
    if quick is not None:
        template["quickReplies"] = quick
    return {"version": "2.0", "template": template}


def test_a_plain_kakao_response_conforms() -> None:
    payload = kakao(
        [{"simpleText": {"text": "수수료는 400원이에요."}}],
        [{"action": "message", "label": "다른 질문", "messageText": "다른 질문"}],
    )
    assert kakao_violations(payload) == []
    assert kakao_violations({"version": "2.0", "useCallback": True}) == []


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ({"template": {"outputs": [{"simpleText": {"text": "a"}}]}}, "version must be '2.0'"),
        (kakao([]), "outputs: 0, allowed 1–3"),
        (kakao([{"simpleText": {"text": "a"}}] * 4), "outputs: 4, allowed 1–3"),
        (kakao([{"simpleText": {"text": "가" * 1001}}]), "1001 characters, allowed 1000"),
        (kakao([{"simpleText": {"text": "  "}}]), "simpleText.text is empty"),
        (kakao([{"simpleText": {"text": "**굵게** 보여요"}}]), "markdown"),
        (kakao([{"simpleText": {"text": "## 신청 방법\n구청에 가요"}}]), "markdown"),
        (kakao([{"simpleText": {"text": "[복지로](https://www.bokjiro.go.kr)에서 해요"}}]), "markdown"),
        (kakao([{"bogus": {}}]), "unknown component 'bogus'"),
        (kakao([{"basicCard": {"title": "가" * 51}}]), "title has 51 characters"),
        (
            kakao(
                [{"simpleText": {"text": "a"}}],
                [{"action": "message", "label": "가" * 15, "messageText": "x"}],
            ),
            "has 15 characters, allowed 14",
        ),
        (
            kakao(
                [{"simpleText": {"text": "a"}}],
                [{"action": "message", "label": "x", "messageText": "x"}] * 11,
            ),
            "quickReplies: 11, allowed 10",
        ),
        (kakao([{"simpleText": {"text": "a"}}], [{"action": "message", "label": "x"}]), "needs messageText"),
        (kakao([{"simpleText": {"text": "a"}}], [{"action": "call", "label": "x"}]), "action must be"),
    ],
)
def test_kakao_violations_name_the_problem(payload: dict[str, Any], expected: str) -> None:
    problems = kakao_violations(payload)
    assert any(expected in p for p in problems), problems


def test_plain_text_lists_are_fine_in_a_kakao_bubble() -> None:
    """Numbered and dashed lines read as intended in plain text (the flows' confirmations use them)."""
    text = "신청 내용을 확인해 주세요.\n- 자치구: 강남구\n1. 1인용 (4,000원)\n2. 2인용 (7,000원)"
    assert kakao_violations(kakao([{"simpleText": {"text": text}}])) == []


def test_korean_length_counts_characters_not_bytes() -> None:
    assert kakao_violations(kakao([{"simpleText": {"text": "가" * 1000}}])) == []


GOOD_TWIML = (
    '<?xml version="1.0" encoding="UTF-8"?><Response>'
    '<Gather input="speech" language="ko-KR" action="/g"><Say language="ko-KR">안녕하세요.</Say></Gather>'
    "</Response>"
)


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        ("<Response><Say>", "not well-formed"),
        ("<Reply/>", "root element must be <Response>"),
        ('<Response><Say language="en-US">hi</Say></Response>', "needs language='ko-KR'"),
        ('<Response><Say language="ko-KR"> </Say></Response>', "<Say> is empty"),
        ('<Response><Hangup/><Say language="ko-KR">네</Say></Response>', "comes after <Hangup>"),
        (
            '<Response><Gather input="speech"><Say language="ko-KR">네</Say></Gather></Response>',
            "speech <Gather>",
        ),
        (
            '<Response><Gather input="dtmf"><Dial>120</Dial></Gather></Response>',
            "not allowed inside <Gather>",
        ),
        ("<Response><Shout>네</Shout></Response>", "unknown verb"),
        ('<Response><Say language="ko-KR">요금은 400원이에요 [1].</Say></Response>', "citation markers"),
        ('<Response><Say language="ko-KR">https://gov.kr 참고</Say></Response>', "URL"),
        (f'<Response><Say language="ko-KR">{"가" * 1001}</Say></Response>', "3003 UTF-8 bytes"),
        ("<Response><Dial></Dial></Response>", "no number"),
    ],
)
def test_twiml_violations_name_the_problem(document: str, expected: str) -> None:
    problems = twiml_violations(document)
    assert any(expected in p for p in problems), problems


def test_valid_twiml_conforms() -> None:
    assert twiml_violations(GOOD_TWIML) == []


def test_spoken_style() -> None:
    assert spoken_style_violations("주민센터에서 400원이에요.") == []
    assert spoken_style_violations("- 신분증\n- 도장") == ["markdown syntax is read aloud"]
    assert spoken_style_violations("좋아요 👍") == ["emoji cannot be spoken"]
    four = "첫째예요. 둘째예요. 셋째예요. 넷째예요."
    assert sentence_count(four) == 4
    assert spoken_style_violations(four, max_sentences=3) == ["4 sentences, at most 3 for voice"]
    assert spoken_style_violations(four, max_sentences=4) == []
