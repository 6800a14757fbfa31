"""Channel conformance checks (Kakao limits, TwiML, spoken style) and the reference encoders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from evals.channel_checks import kakao_violations, sentence_count, spoken_style_violations, twiml_violations
from evals.channel_reference import ReferenceKakaoEncoder, ReferenceTwimlEncoder, pack, spoken_text
from evals.datasets import ChannelCase, load_dataset
from evals.suites.channel import as_reply

DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "channel_conformance.jsonl"


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


def test_pack_keeps_sentences_whole_and_cuts_the_overflow() -> None:
    text = " ".join(f"{n}번째 문장입니다." for n in range(1, 200))
    parts = pack(text, 100, 3)
    assert len(parts) == 3
    assert all(len(p) <= 100 for p in parts)
    assert parts[0].startswith("1번째 문장입니다.") and parts[-1].endswith("(이하 생략)")


def test_spoken_text_removes_what_a_listener_should_not_hear() -> None:
    said = spoken_text("**신청**은 https://www.gov.kr 에서 해요 [1]. 😀")
    assert said == "신청은 에서 해요."
    assert spoken_style_violations(said) == []


def reply(text: str, **extra: Any) -> Reply:
    return Reply(text=text, **extra)


def test_reference_encoders_conform_on_hard_replies() -> None:
    long_text = "대형폐기물은 구청에 신고하고 수수료를 내면 됩니다. " * 120
    many = tuple(f"자주 묻는 질문 {n}번 보기" for n in range(12))
    citation = Citation(n=1, chunk_id=ChunkId("c1"), title="대형폐기물 신고", source="sample")
    kakao_payload = ReferenceKakaoEncoder().encode(
        reply(long_text, quick_replies=many, citations=(citation,))
    )
    assert kakao_violations(kakao_payload) == []
    assert len(kakao_payload["template"]["outputs"]) == 3
    assert len(kakao_payload["template"]["quickReplies"]) == 10
    for action in ("continue", "handoff", "end_call"):
        document = ReferenceTwimlEncoder().encode(
            reply("요금 <현장> & 카드 [1]. " + long_text, action=action)
        )
        assert twiml_violations(document) == [], action
        assert "&lt;현장&gt; &amp; 카드" in document


def test_every_committed_channel_case_conforms_with_the_reference_encoders() -> None:
    encoders = {"kakao": ReferenceKakaoEncoder(), "twilio": ReferenceTwimlEncoder()}
    for case in load_dataset(DATASET).cases:
        assert isinstance(case, ChannelCase)
        wire = encoders[case.channel].encode(as_reply(case))
        problems = kakao_violations(wire) if case.channel == "kakao" else twiml_violations(wire)
        assert problems == [], (case.id, problems, json.dumps(wire, ensure_ascii=False)[:300])
