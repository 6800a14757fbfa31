"""The executor on commands: filling, correcting, cancelling, digressing and resuming, running out of
attempts, failing actions; and that its core is a pure function of (state, commands)."""

from __future__ import annotations

import json

import pytest

from assistant.core.errors import ConfigurationError, UpstreamError
from assistant.dialogue.flows.actions import ActionCall, ActionRegistry, ActionResult
from assistant.dialogue.flows.commands import (
    Affirm,
    Cancel,
    Correct,
    Deny,
    Digress,
    Handoff,
    Resume,
    SetSlot,
    StartFlow,
    UserText,
)
from assistant.dialogue.flows.executor import FlowExecutor
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.records import InMemoryCaseRecordStore
from assistant.dialogue.flows.state import ActionRequest, FlowState, FlowTurn
from assistant.dialogue.flows.validators import SlotValidators

pytestmark = pytest.mark.anyio

BULKY = "bulky_waste_pickup"


async def until_confirm(executor: FlowExecutor) -> FlowTurn:
    turn = await executor.handle(
        None,
        [StartFlow(BULKY), SetSlot("district", "강남구"), SetSlot("item", "소파")],
        sender_id="s",
    )
    for text in ("3인용", "강남구 테헤란로 123", "모레", "010-1234-5678"):
        turn = await executor.handle(turn.state, [UserText(text)], sender_id="s")
    assert turn.state is not None and turn.state.step_id.startswith("confirm")
    return turn


async def test_a_start_asks_the_first_missing_slot(executor: FlowExecutor) -> None:
    turn = await executor.handle(None, [StartFlow(BULKY)], sender_id="s")
    assert turn.state == FlowState(flow_id=BULKY, step_id="district")
    assert turn.prompt_text.startswith("대형폐기물 수거 신청을 도와드릴게요.")
    assert turn.prompt_text.endswith("어느 구에서 내놓으시나요? (예: 강남구)")
    assert not turn.done and not turn.handoff and turn.record is None


async def test_prefilled_slots_are_passed_and_a_single_size_is_chosen_without_asking(
    executor: FlowExecutor,
) -> None:
    turn = await executor.handle(
        None, [StartFlow(BULKY), SetSlot("district", "강남"), SetSlot("item", "피아노")], sender_id="s"
    )
    assert turn.state is not None and turn.state.step_id == "size"
    assert turn.quick_replies == ("업라이트 (30,000원)", "그랜드 (50,000원)")
    assert "1. 업라이트 (30,000원)\n2. 그랜드 (50,000원)" in turn.prompt_text
    assert "강남구 피아노는 규격에 따라" in turn.prompt_text

    one_size = await executor.handle(
        None, [StartFlow(BULKY), SetSlot("district", "강남구"), SetSlot("item", "선풍기")], sender_id="s"
    )
    assert one_size.state is not None and one_size.state.step_id == "address"
    assert one_size.state.slots["size"] == "소형가전 수거함 배출 (무료)"
    assert one_size.state.slots["fee_won"] == 0


async def test_a_refused_answer_is_asked_again_with_the_reason(executor: FlowExecutor) -> None:
    start = await executor.handle(None, [StartFlow(BULKY)], sender_id="s")
    turn = await executor.handle(start.state, [UserText("부산")], sender_id="s")
    assert turn.state is not None and turn.state.step_id == "district" and turn.state.attempts == 1
    assert (
        turn.prompt_text == "서울의 자치구 이름을 알아듣지 못했어요. 어느 구에서 내놓으시나요? (예: 강남구)"
    )
    turn = await executor.handle(turn.state, [UserText("강남구")], sender_id="s")
    assert turn.state is not None and turn.state.attempts == 0 and turn.state.step_id == "item"


async def test_max_attempts_offer_a_human_and_yes_hands_off(executor: FlowExecutor) -> None:
    turn = await executor.handle(None, [StartFlow(BULKY)], sender_id="s")
    for text in ("부산", "해운대", "몰라요"):
        turn = await executor.handle(turn.state, [UserText(text)], sender_id="s")
    assert turn.state is not None and turn.state.offering_handoff
    assert turn.prompt_text.endswith("여러 번 확인하지 못했어요. 상담원을 연결해 드릴까요?")
    assert turn.quick_replies == ("네", "아니요") and not turn.done
    handed = await executor.handle(turn.state, [Affirm()], sender_id="s")
    assert handed.handoff and handed.done and handed.outcome == "handoff"


async def test_declining_the_human_asks_again_with_fresh_attempts(executor: FlowExecutor) -> None:
    turn = await executor.handle(None, [StartFlow(BULKY)], sender_id="s")
    for text in ("부산", "해운대", "몰라요"):
        turn = await executor.handle(turn.state, [UserText(text)], sender_id="s")
    again = await executor.handle(turn.state, [Deny()], sender_id="s")
    assert again.state is not None and not again.state.offering_handoff and again.state.attempts == 0
    assert again.prompt_text == "알겠어요. 다시 여쭤볼게요.\n어느 구에서 내놓으시나요? (예: 강남구)"
    assert not again.done


async def test_correction_at_confirm_changes_the_slot_and_confirms_again(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    corrected = await executor.handle(turn.state, [Correct("address", "강남구 삼성로 5")], sender_id="s")
    assert corrected.state is not None and corrected.state.step_id.startswith("confirm")
    assert corrected.prompt_text.startswith("주소를 바꿨어요.\n신청 내용을 확인해 주세요.")
    assert "- 주소: 강남구 삼성로 5" in corrected.prompt_text
    assert corrected.state.slots["address"] == "강남구 삼성로 5"


async def test_correcting_the_district_resets_what_depended_on_it(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    assert turn.state is not None and turn.state.slots["fee_won"] == 10000
    turn = await executor.handle(turn.state, [Correct("item", "침대")], sender_id="s")
    assert turn.state is not None and turn.state.step_id == "size"
    assert "size" not in turn.state.slots and "fee_won" not in turn.state.slots
    assert turn.state.slots["address"] == "강남구 테헤란로 123"  # answers after the item are kept
    turn = await executor.handle(turn.state, [UserText("더블")], sender_id="s")
    assert turn.state is not None and turn.state.step_id.startswith("confirm")
    assert turn.state.slots["fee_won"] == 11000


async def test_an_invalid_correction_asks_for_that_slot(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    turn = await executor.handle(turn.state, [Correct("pickup_date", "어제")], sender_id="s")
    assert turn.state is not None and turn.state.step_id == "pickup_date"
    assert turn.prompt_text.startswith("이미 지난 날짜예요.")
    turn = await executor.handle(turn.state, [UserText("11월 30일")], sender_id="s")
    assert turn.state is not None and turn.state.slots["pickup_date"] == "2026-11-30"
    assert turn.state.step_id.startswith("confirm")


async def test_deny_at_confirm_asks_what_to_fix_and_a_label_asks_that_slot(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    which = await executor.handle(turn.state, [Deny()], sender_id="s")
    assert which.prompt_text.startswith("어느 항목을 고칠까요?")
    assert which.quick_replies == ("자치구", "품목", "규격", "주소", "수거일", "연락처", "취소")
    ask = await executor.handle(which.state, [Correct("phone", None)], sender_id="s")
    assert ask.prompt_text == "연락받으실 전화번호를 알려 주세요. (예: 010-1234-5678)"
    assert ask.state is not None and "phone" not in ask.state.slots


async def test_cancel_ends_the_flow_and_scrubs_personal_slots(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    cancelled = await executor.handle(turn.state, [Cancel()], sender_id="s")
    assert cancelled.done and cancelled.outcome == "cancelled" and not cancelled.handoff
    assert cancelled.prompt_text.startswith("대형폐기물 수거 신청을 취소했어요.")
    assert cancelled.state is not None
    assert cancelled.state.slots["phone"] == "[전화번호]" and cancelled.state.slots["address"] == "[주소]"
    assert "010-1234-5678" not in json.dumps(cancelled.state.to_json(), ensure_ascii=False)
    after = await executor.handle(cancelled.state, [UserText("네")], sender_id="s")
    assert after.state is None  # an ended flow takes no more answers


async def test_handoff_mid_flow(executor: FlowExecutor) -> None:
    turn = await executor.handle(None, [StartFlow(BULKY)], sender_id="s")
    handed = await executor.handle(turn.state, [Handoff()], sender_id="s")
    assert handed.handoff and handed.done and handed.prompt_text.startswith("상담원에게 연결해 드릴게요.")


async def test_digress_pauses_and_resume_asks_the_pending_step_again(executor: FlowExecutor) -> None:
    start = await executor.handle(None, [StartFlow(BULKY), SetSlot("district", "강남구")], sender_id="s")
    paused = await executor.handle(start.state, [Digress("수수료는 어떻게 내요?")], sender_id="s")
    assert paused.digress_question == "수수료는 어떻게 내요?"
    assert paused.prompt_text == "" and not paused.done
    assert paused.state is not None and paused.state.status == "paused" and paused.state.step_id == "item"
    resumed = await executor.handle(paused.state, [Resume()], sender_id="s")
    assert resumed.state is not None and resumed.state.status == "active"
    assert resumed.prompt_text == "이어서 진행할게요.\n어떤 물건을 버리시나요? (예: 장롱, 침대, 소파)"
    answered = await executor.handle(paused.state, [UserText("장롱")], sender_id="s")  # an answer resumes too
    assert (
        answered.state is not None and answered.state.status == "active" and answered.state.step_id == "size"
    )


async def test_the_machine_is_a_pure_function_of_state_and_commands(executor: FlowExecutor) -> None:
    turn = await until_confirm(executor)
    assert turn.state is not None
    stored = json.loads(json.dumps(turn.state.to_json()))
    first = executor.machine.apply(FlowState.from_json(stored), [Correct("pickup_date", "11월 30일")])
    second = executor.machine.apply(FlowState.from_json(stored), [Correct("pickup_date", "11월 30일")])
    assert first == second
    assert FlowState.from_json(stored) == turn.state  # applying did not change the stored state
    confirm = executor.machine.apply(turn.state, [Affirm()])
    assert isinstance(confirm, ActionRequest) and confirm.action == "book_bulky_waste"


async def test_unknown_flows_and_slots_are_ignored(executor: FlowExecutor) -> None:
    idle = await executor.handle(None, [StartFlow("no_such_flow"), UserText("안녕")], sender_id="s")
    assert idle.state is None
    start = await executor.handle(None, [StartFlow(BULKY), SetSlot("colour", "red")], sender_id="s")
    assert start.state is not None and start.state.slots == {}


def test_state_json_refuses_other_shapes() -> None:
    state = FlowState(flow_id=BULKY, step_id="size", slots={"size_options": ("a", "b"), "fee_won": 0})
    assert FlowState.from_json(json.loads(json.dumps(state.to_json()))) == state
    with pytest.raises(ValueError, match="format"):
        FlowState.from_json({**state.to_json(), "format": 99})
    with pytest.raises(ValueError, match="wrong type"):
        FlowState.from_json({**state.to_json(), "status": "dancing"})
    with pytest.raises(ValueError, match="dict"):
        FlowState.from_json({**state.to_json(), "slots": {"a": {"b": 1}}})


class FailingBooking:
    def __init__(self) -> None:
        self.calls: list[ActionCall] = []

    async def run(self, call: ActionCall) -> ActionResult:
        self.calls.append(call)
        raise UpstreamError("booking system down", retryable=True)


async def test_a_failing_action_offers_a_human_and_no_ends_the_flow(
    flows: FlowCatalog, validators: SlotValidators, executor: FlowExecutor
) -> None:
    failing = FailingBooking()
    real = await until_confirm(executor)
    actions = ActionRegistry(
        {
            "lookup_bulky_waste_sizes": failing,
            "quote_bulky_waste_fee": failing,
            "book_bulky_waste": failing,
            "file_complaint": failing,
        }
    )
    broken = FlowExecutor(flows, validators, actions)
    offer = await broken.handle(real.state, [Affirm()], sender_id="web:abc")
    assert offer.prompt_text == "지금은 접수를 마치지 못했어요. 상담원을 연결해 드릴까요?"
    assert offer.state is not None and offer.state.offering_handoff and offer.state.step_id == "book"
    assert failing.calls[0].name == "book_bulky_waste" and failing.calls[0].sender_id == "web:abc"
    assert failing.calls[0].pii_slots == {"address", "phone"}
    given_up = await broken.handle(offer.state, [Deny()], sender_id="s")
    assert given_up.outcome == "cancelled" and given_up.prompt_text.startswith("접수를 마치지 못했어요.")


def test_the_executor_refuses_flows_whose_actions_are_missing(
    flows: FlowCatalog, validators: SlotValidators, store: InMemoryCaseRecordStore
) -> None:
    with pytest.raises(ConfigurationError, match="book_bulky_waste"):
        FlowExecutor(flows, validators, ActionRegistry({}))
