"""RuleCommandParser: Korean text → commands, given the running flow."""

from __future__ import annotations

import pytest

from assistant.dialogue.flows.commands import (
    Affirm,
    Cancel,
    Command,
    Correct,
    Deny,
    Digress,
    Handoff,
    SetSlot,
    StartFlow,
    UserText,
)
from assistant.dialogue.flows.parser import RuleCommandParser, looks_like_question
from assistant.dialogue.flows.state import FlowState, SlotValue

pytestmark = pytest.mark.anyio

BULKY = "bulky_waste_pickup"
FILLED: dict[str, SlotValue] = {
    "district": "강남구",
    "item": "소파",
    "size_options": ("1인용 (4,000원)", "3인용 (10,000원)"),
    "size": "3인용 (10,000원)",
    "fee_won": 10000,
    "address": "강남구 테헤란로 123",
    "pickup_date": "2026-11-27",
    "phone": "010-1234-5678",
}
AT_CONFIRM = FlowState(flow_id=BULKY, step_id="confirm_9", slots=FILLED)
AT_ITEM = FlowState(flow_id=BULKY, step_id="item", slots={"district": "강남구"})
AT_DATE = FlowState(flow_id=BULKY, step_id="pickup_date", slots={k: FILLED[k] for k in list(FILLED)[:6]})
AT_DESCRIPTION = FlowState(
    flow_id="civil_complaint",
    step_id="description",
    slots={"complaint_type": "가로등 고장", "pole_number": None, "location": "강남역 2번 출구"},
)


async def parse(parser: RuleCommandParser, text: str, state: FlowState | None) -> tuple[Command, ...]:
    return tuple(await parser.commands(text, state))


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("대형폐기물 수거 신청할게요", (StartFlow(BULKY),)),
        ("장롱 버리고 싶어요", (StartFlow(BULKY),)),
        (
            "강남구 장롱 버리려고요",
            (StartFlow(BULKY), SetSlot("district", "강남구"), SetSlot("item", "장롱")),
        ),
        ("가로등이 고장났어요", (StartFlow("civil_complaint"), SetSlot("complaint_type", "가로등 고장"))),
        (
            "강남구 테헤란로 123 앞에 불법주차 신고할게요",
            (
                StartFlow("civil_complaint"),
                SetSlot("complaint_type", "불법 주정차"),
                SetSlot("location", "강남구 테헤란로 123"),
            ),
        ),
        ("민원 신고하려고요", (StartFlow("civil_complaint"),)),
    ],
)
async def test_triggers_start_a_flow_with_what_the_text_already_says(
    parser: RuleCommandParser, text: str, expected: tuple[Command, ...]
) -> None:
    assert await parse(parser, text, None) == expected


@pytest.mark.parametrize(
    "text",
    [
        "대형폐기물 수수료는 얼마예요?",
        "대형폐기물 버리는 방법 알려 주세요",
        "불법 주차 과태료는 얼마인가요?",
        "음식물 쓰레기 버리고 싶어요",
        "안녕하세요",
        "  ",
    ],
)
async def test_questions_and_other_topics_start_nothing(parser: RuleCommandParser, text: str) -> None:
    assert await parse(parser, text, None) == ()


@pytest.mark.parametrize(
    "text", ["네", "예", "네 맞아요", "응", "맞아요", "좋아요!", "접수해 주세요", "그렇게 해 주세요"]
)
async def test_yes_at_a_confirmation(parser: RuleCommandParser, text: str) -> None:
    assert await parse(parser, text, AT_CONFIRM) == (Affirm(),)


@pytest.mark.parametrize("text", ["아니요", "아뇨", "아니오.", "아니 틀렸어요", "잘못됐어요"])
async def test_no_at_a_confirmation(parser: RuleCommandParser, text: str) -> None:
    assert await parse(parser, text, AT_CONFIRM) == (Deny(),)


async def test_yes_and_no_answer_an_offer_of_a_human(parser: RuleCommandParser) -> None:
    offering = FlowState(flow_id=BULKY, step_id="district", attempts=3, offering_handoff=True)
    assert await parse(parser, "네", offering) == (Affirm(),)
    assert await parse(parser, "아니요 다시 해볼게요", offering) == (Deny(),)


@pytest.mark.parametrize("text", ["취소", "취소할게요", "그만할래요", "신청 안 할래요", "그만"])
async def test_cancel(parser: RuleCommandParser, text: str) -> None:
    assert await parse(parser, text, AT_ITEM) == (Cancel(),)


@pytest.mark.parametrize("text", ["상담원 연결해 주세요", "사람이랑 얘기하고 싶어요", "상담사 바꿔줘"])
async def test_handoff(parser: RuleCommandParser, text: str) -> None:
    assert await parse(parser, text, AT_ITEM) == (Handoff(),)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("아니 주소는 서울 강남구 테헤란로 123으로 바꿔줘", Correct("address", "서울 강남구 테헤란로 123")),
        ("주소를 강남대로 10으로 변경해 주세요", Correct("address", "강남대로 10")),
        ("전화번호 010-9876-5432로 수정해 주세요", Correct("phone", "010-9876-5432")),
        ("날짜를 모레로 바꿔줘", Correct("pickup_date", "모레")),
        ("아니요, 구는 서초구예요", Correct("district", "서초구")),
        ("아니 품목은 침대요", Correct("item", "침대")),
        ("서초구로 바꿔 주세요", Correct("district", "서초구")),  # refused later: no fee table for 서초구
        ("010-5555-6666으로 바꿔 주세요", Correct("phone", "010-5555-6666")),
        ("다음 주 월요일로 바꿔줘", Correct("pickup_date", "다음 주 월요일")),
        ("연락처 바꿀래요", Correct("phone", None)),
        ("주소", Correct("address", None)),
    ],
)
async def test_corrections(parser: RuleCommandParser, text: str, expected: Command) -> None:
    assert await parse(parser, text, AT_CONFIRM) == (expected,)


async def test_corrections_also_work_while_collecting(parser: RuleCommandParser) -> None:
    assert await parse(parser, "아니 주소는 강남구 삼성로 5로 바꿔줘", AT_DATE) == (
        Correct("address", "강남구 삼성로 5"),
    )


async def test_free_text_answers_are_not_read_as_corrections_or_cancels(parser: RuleCommandParser) -> None:
    for text in (
        "가로등 좀 빨리 고쳐 주세요",
        "전구를 바꿔 달았는데도 안 켜져요",
        "밤에 그만 좀 꺼졌으면 좋겠어요 정말로요",
    ):
        assert await parse(parser, text, AT_DESCRIPTION) == (UserText(text),)


@pytest.mark.parametrize(
    ("text", "state", "expected"),
    [
        ("수수료는 얼마예요?", AT_ITEM, Digress("수수료는 얼마예요?")),
        ("스티커는 어디서 사나요", AT_ITEM, Digress("스티커는 어디서 사나요")),
        ("장롱이요", AT_ITEM, UserText("장롱이요")),
        ("내일 되나요?", AT_DATE, UserText("내일 되나요?")),  # a question that answers the step
        ("수거는 몇 시에 오나요?", AT_DATE, Digress("수거는 몇 시에 오나요?")),
        ("언제 고쳐주나요?", AT_DESCRIPTION, Digress("언제 고쳐주나요?")),
        ("수수료는 언제 내요?", AT_CONFIRM, Digress("수수료는 언제 내요?")),
    ],
)
async def test_questions_mid_flow_digress_unless_they_answer_the_step(
    parser: RuleCommandParser, text: str, state: FlowState, expected: Command
) -> None:
    assert await parse(parser, text, state) == (expected,)


def test_question_detection() -> None:
    assert looks_like_question("얼마예요?")
    assert looks_like_question("수거 언제 오나요")
    assert looks_like_question("어떻게 하면 될까요")
    assert not looks_like_question("강남구 테헤란로 123이에요")
    assert not looks_like_question("가로등이 안 켜져요")
