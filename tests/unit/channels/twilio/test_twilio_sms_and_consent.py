"""The citation SMS text, who can receive it, the yes/no answer, and emergency recognition."""

from __future__ import annotations

import pytest

from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.twilio.emergency import SafetyGuidanceDetector
from channels.twilio.flow import consent
from channels.twilio.sms import MAX_SMS_CHARS, can_receive_sms, citation_sms_body


def test_the_sms_lists_each_source_with_its_link() -> None:
    citations = (
        Citation(
            n=1,
            chunk_id=ChunkId("a"),
            title="여권",
            source="faq",
            url="https://a.example/1",
            section="수수료",
        ),
        Citation(n=2, chunk_id=ChunkId("b"), title="등본", source="law"),
    )
    assert citation_sms_body("[다산 120] 출처", citations) == (
        "[다산 120] 출처\n[1] 여권 - 수수료 (faq)\nhttps://a.example/1\n[2] 등본 (law)"
    )
    many = tuple(
        Citation(n=n, chunk_id=ChunkId(str(n)), title="가" * 100, source="s", url="https://x")
        for n in range(30)
    )
    assert len(citation_sms_body("h", many)) == MAX_SMS_CHARS


@pytest.mark.parametrize(
    ("number", "expected"),
    [("+821012345678", True), ("client:alice", False), ("anonymous", False), ("+0123", False), ("", False)],
)
def test_only_real_numbers_can_receive_sms(number: str, expected: bool) -> None:
    assert can_receive_sms(number) is expected


@pytest.mark.parametrize(
    ("digits", "speech", "expected"),
    [
        ("", "네", True),
        ("", "네 보내 주세요.", True),
        ("", "예", True),
        ("", "응 부탁해", True),
        ("", "아니요", False),
        ("", "괜찮아요", False),
        ("", "됐어요", False),
        ("", "네 괜찮아요", False),
        ("1", "", True),
        ("2", "", False),
        ("5", "", None),
        ("", "", None),
        ("", "그런데 주차 요금은 얼마예요", None),
        ("", "주차", None),
    ],
)
def test_the_callers_yes_or_no(digits: str, speech: str, expected: bool | None) -> None:
    assert consent(digits, speech) is expected


def test_emergency_handoffs_are_recognised_by_their_guidance() -> None:
    rulebook = load_safety_rulebook()
    detector = SafetyGuidanceDetector(rulebook)
    for category in rulebook.categories:
        assert detector.is_emergency(Reply(text=category.spoken_guidance, action="handoff")), category.name
        assert detector.is_emergency(Reply(text="알겠습니다. " + category.guidance, action="handoff"))
        assert not detector.is_emergency(Reply(text=category.spoken_guidance, action="continue"))
    assert not detector.is_emergency(Reply(text="상담사에게 연결해 드릴게요.", action="handoff"))
