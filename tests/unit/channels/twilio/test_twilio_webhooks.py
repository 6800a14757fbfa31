"""The /twilio/voice/* webhooks over ASGI, signed like Twilio signs them, against a scripted dialogue."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from pydantic import SecretStr

from assistant.core.errors import LLMTimeout
from assistant.core.events import CallEnded, CallStarted, UserTurn
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.twilio.sms import TwilioSmsSender, build_sms_sender
from tests.unit.channels.twilio.twilio_channel_doubles import (
    CALL_SID,
    CALLER,
    ExplodingStore,
    PhoneHarness,
    RecordingOutcomeSink,
    RecordingSmsSender,
    ScriptedDialogue,
    make_harness,
    parse_twiml,
    phone_config,
    spoken,
    verbs,
)

pytestmark = pytest.mark.anyio

INCOMING = "/twilio/voice/incoming"
GATHER = "/twilio/voice/gather"
STATUS = "/twilio/voice/status"
SLOW = {"filler_budget": timedelta(milliseconds=10)}

CITATION = Citation(
    n=1, chunk_id=ChunkId("c1"), title="여권 발급 안내", source="seoul-faq", url="https://www.seoul.go.kr/p/1"
)


@pytest.fixture
async def phone() -> AsyncIterator[PhoneHarness]:
    harness = make_harness(ScriptedDialogue())
    yield harness
    await harness.aclose()


def speech(text: str, confidence: str = "0.91") -> dict[str, str]:
    return {"SpeechResult": text, "Confidence": confidence, "CallStatus": "in-progress"}


def gather_of(root: object) -> object:
    return root.find("Gather")  # type: ignore[attr-defined]


async def test_incoming_greets_in_korean_and_listens_for_speech_and_keys(phone: PhoneHarness) -> None:
    root = await phone.twiml(INCOMING, {"CallStatus": "ringing", "Direction": "inbound"})

    gather = root.find("Gather")
    assert gather is not None
    assert gather.get("input") == "speech dtmf"
    assert gather.get("language") == "ko-KR"
    assert gather.get("action") == GATHER
    assert gather.get("speechTimeout") == "auto"
    assert gather.get("actionOnEmptyResult") == "true"
    assert "상담사" in (gather.get("hints") or "")
    say = gather.find("Say")
    assert say is not None
    assert say.get("voice") == "Polly.Seoyeon-Neural"
    assert say.get("language") == "ko-KR"
    assert "안녕하세요" in (say.text or "")
    started = phone.dialogue.events[0]
    assert isinstance(started, CallStarted)
    assert started.key.channel == "phone"
    assert started.key.thread == CALL_SID


async def test_a_full_call_answers_two_questions_then_dials_an_agent() -> None:
    dialogue = ScriptedDialogue(
        [
            Reply(text="여권은 구청 민원실에서 신청하실 수 있어요[1]. 수수료는 50,000원이에요."),
            Reply(text="주말에는 접수하지 않아요. 평일 오전 9시부터 오후 6시까지예요."),
            Reply(text="상담사에게 연결해 드릴게요.", action="handoff"),
        ]
    )
    phone = make_harness(dialogue)
    try:
        await phone.twiml(INCOMING)
        first = await phone.twiml(GATHER, speech("여권 어디서 만들어요"))
        assert verbs(first) == ["Gather"]
        assert spoken(first) == [
            "여권은 구청 민원실에서 신청하실 수 있어요. 수수료는 50,000원이에요. "
            "더 궁금하신 점이 있으면 말씀해 주세요."
        ]
        second = await phone.twiml(GATHER, speech("주말에도 돼요"))
        assert "주말에는 접수하지 않아요." in spoken(second)[0]
        third = await phone.twiml(GATHER, speech("사람이랑 통화할래요"))
        assert verbs(third) == ["Say", "Dial"]
        assert spoken(third) == ["상담사에게 연결해 드릴게요. 잠시만 기다려 주세요."]  # the channel's promise
        dial = third.find("Dial")
        assert dial is not None
        assert dial.get("action") == "/twilio/voice/dial-result"
        number = dial.find("Number")
        assert number is not None
        assert number.text == "+8227000120"
    finally:
        await phone.aclose()

    turns = dialogue.user_turns()
    assert [turn.text for turn in turns] == ["여권 어디서 만들어요", "주말에도 돼요", "사람이랑 통화할래요"]
    assert len({turn.message_id for turn in turns}) == 3
    assert turns[0].metadata == {"input": "speech", "confidence": "0.91"}
    capabilities = dialogue.capabilities[-1]
    assert capabilities.spoken is True
    assert capabilities.markdown is False
    assert capabilities.max_chars == 300
    assert capabilities.max_quick_replies == 0
    dialogue.assert_used_up()


async def test_silence_is_reprompted_then_the_call_ends_politely(phone: PhoneHarness) -> None:
    await phone.twiml(INCOMING)
    first = await phone.twiml(GATHER, {"CallStatus": "in-progress"})
    second = await phone.twiml(GATHER, speech("", confidence=""))
    third = await phone.twiml(GATHER, {})

    assert verbs(first) == ["Gather"]
    assert spoken(first) == ["잘 듣지 못했어요. 다시 한 번 말씀해 주세요."]
    assert verbs(second) == ["Gather"]
    assert "0번" in spoken(second)[0]
    assert verbs(third) == ["Say", "Hangup"]
    assert "일이공번으로" in spoken(third)[0]
    assert phone.dialogue.user_turns() == []


async def test_low_confidence_counts_as_not_heard_and_a_good_turn_resets_the_count() -> None:
    dialogue = ScriptedDialogue([Reply(text="네, 도와드릴게요.")])
    phone = make_harness(dialogue)
    try:
        await phone.twiml(INCOMING)
        unsure = await phone.twiml(GATHER, speech("웅얼웅얼", confidence="0.12"))
        assert spoken(unsure) == ["잘 듣지 못했어요. 다시 한 번 말씀해 주세요."]
        await phone.twiml(GATHER, speech("쓰레기 버리는 법"))
        again = await phone.twiml(GATHER, {})
        assert spoken(again) == ["잘 듣지 못했어요. 다시 한 번 말씀해 주세요."]
    finally:
        await phone.aclose()
    assert [turn.text for turn in dialogue.user_turns()] == ["쓰레기 버리는 법"]


async def test_key_zero_dials_an_agent_and_star_repeats_the_last_answer() -> None:
    dialogue = ScriptedDialogue([Reply(text="대형폐기물은 구청 누리집에서 신고하세요.")])
    phone = make_harness(dialogue)
    try:
        await phone.twiml(INCOMING)
        nothing_yet = await phone.twiml(GATHER, {"Digits": "*"})
        assert "다시 들려드릴 답변이 없어요" in spoken(nothing_yet)[0]
        await phone.twiml(GATHER, speech("소파 버리려면요"))
        repeat = await phone.twiml(GATHER, {"Digits": "*"})
        assert spoken(repeat)[0].startswith("대형폐기물은 구청 누리집에서 신고하세요.")
        agent = await phone.twiml(GATHER, {"Digits": "0"})
        assert verbs(agent) == ["Say", "Dial"]
        assert spoken(agent) == ["상담사에게 연결해 드릴게요. 잠시만 기다려 주세요."]
    finally:
        await phone.aclose()
    assert len(dialogue.user_turns()) == 1


async def test_without_an_agent_number_the_caller_is_told_to_call_120() -> None:
    phone = make_harness(ScriptedDialogue(), phone_config(agent_number=None))
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, {"Digits": "0"})
    finally:
        await phone.aclose()
    assert verbs(root) == ["Say", "Hangup"]
    assert "이 전화로는 상담사를 연결해 드릴 수 없어요" in spoken(root)[0]
    assert "상담사와 통화하시려면 일이공번으로 전화해 주세요" in spoken(root)[0]


async def test_agent_queue_enqueues_the_caller() -> None:
    phone = make_harness(ScriptedDialogue(), phone_config(agent_number=None, agent_queue="dasan-120"))
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, {"Digits": "0"})
    finally:
        await phone.aclose()
    assert verbs(root) == ["Say", "Enqueue"]
    assert root.find("Enqueue").text == "dasan-120"  # type: ignore[union-attr]


async def test_a_slow_reply_gets_a_filler_and_a_redirect_and_the_poll_speaks_it() -> None:
    dialogue = ScriptedDialogue(
        [Reply(text="주민등록등본은 주민센터나 정부24에서 발급받을 수 있어요.")], gated=True
    )
    phone = make_harness(dialogue, phone_config(**SLOW))
    try:
        await phone.twiml(INCOMING)
        filler = await phone.twiml(GATHER, speech("등본 떼려면요"))
        assert verbs(filler) == ["Say", "Redirect"]
        assert spoken(filler) == ["잠시만 기다려 주세요."]
        redirect = filler.find("Redirect")
        assert redirect is not None
        assert redirect.get("method") == "POST"
        answer_path = redirect.text or ""
        assert answer_path.startswith("/twilio/voice/answer?turn=")
        assert phone.tasks.running == 1

        still = await phone.twiml(answer_path)
        assert verbs(still) == ["Pause", "Redirect"]
        assert still.find("Pause").get("length") == "1"  # type: ignore[union-attr]
        assert still.find("Redirect").text == answer_path  # type: ignore[union-attr]

        dialogue.release()
        ready = await phone.twiml(answer_path)
        assert verbs(ready) == ["Gather"]
        assert spoken(ready)[0].startswith("주민등록등본은 주민센터나 정부24에서 발급받을 수 있어요.")
        lost = await phone.twiml(answer_path)
        assert "질문을 놓쳤어요" in spoken(lost)[0]
    finally:
        await phone.aclose()
    dialogue.assert_used_up()


async def test_a_reply_that_never_comes_ends_in_an_apology_and_an_offer_of_an_agent() -> None:
    dialogue = ScriptedDialogue([Reply(text="너무 늦은 답")], gated=True)
    phone = make_harness(dialogue, phone_config(answer_deadline=timedelta(seconds=3), **SLOW))
    try:
        await phone.twiml(INCOMING)
        filler = await phone.twiml(GATHER, speech("질문"))
        path = filler.find("Redirect").text or ""  # type: ignore[union-attr]
        polls = [await phone.twiml(path) for _ in range(4)]
        await dialogue.cancelled.wait()
    finally:
        await phone.aclose()
    assert [verbs(poll) for poll in polls[:3]] == [["Pause", "Redirect"]] * 3
    assert verbs(polls[3]) == ["Gather"]
    assert spoken(polls[3]) == [
        "죄송합니다. 답변이 늦어지고 있어요. "
        "상담사 연결을 원하시면 0번을 누르시고, 다른 질문은 말씀해 주세요."
    ]


async def test_every_fourth_unanswered_poll_reassures_the_caller() -> None:
    dialogue = ScriptedDialogue([Reply(text="답")], gated=True)
    phone = make_harness(dialogue, phone_config(**SLOW))
    try:
        await phone.twiml(INCOMING)
        filler = await phone.twiml(GATHER, speech("질문"))
        path = filler.find("Redirect").text or ""  # type: ignore[union-attr]
        polls = [await phone.twiml(path) for _ in range(4)]
        dialogue.release()
    finally:
        await phone.aclose()
    assert spoken(polls[3]) == ["조금만 더 기다려 주세요."]
    assert verbs(polls[3]) == ["Say", "Redirect"]


async def test_a_failing_dialogue_gets_an_apology_and_an_offer_not_a_500() -> None:
    dialogue = ScriptedDialogue([LLMTimeout("deadline")])
    phone = make_harness(dialogue)
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, speech("질문"))
    finally:
        await phone.aclose()
    assert verbs(root) == ["Gather"]
    assert spoken(root)[0].startswith("죄송합니다. 지금은 답변을 드리기 어려워요.")


async def test_an_unexpected_exception_becomes_valid_twiml_with_status_200(
    caplog: pytest.LogCaptureFixture,
) -> None:
    phone = make_harness(ScriptedDialogue(), store=ExplodingStore())
    try:
        response = await phone.post(GATHER, speech("질문"))
    finally:
        await phone.aclose()
    assert response.status_code == 200
    root = parse_twiml(response.text)
    assert verbs(root) == ["Say", "Hangup"]
    assert "일이공번으로 전화해 주시면" in spoken(root)[0]
    failure = next(record for record in caplog.records if record.levelname == "ERROR")
    assert "RuntimeError" in failure.getMessage()
    assert "correlation" in failure.getMessage()


async def test_a_malformed_signed_webhook_is_400_not_500(phone: PhoneHarness) -> None:
    response = await phone.post(STATUS, {"CallStatus": "completed", "CallDuration": "soon"})
    assert response.status_code == 400
    assert "Traceback" not in response.text


async def test_an_emergency_reply_speaks_the_guidance_then_dials_the_transfer_number() -> None:
    fire = next(c for c in load_safety_rulebook().categories if c.name == "fire")
    dialogue = ScriptedDialogue([Reply(text=fire.spoken_guidance, action="handoff")])
    phone = make_harness(dialogue, phone_config(emergency_transfer_number="+82119"))
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, speech("집에 불이 났어요"))
        failed = await phone.twiml("/twilio/voice/dial-result", {"DialCallStatus": "no-answer"})
    finally:
        await phone.aclose()
    assert verbs(root) == ["Say", "Dial"]
    assert spoken(root)[0].startswith("지금 바로 일일구에 전화하세요.")
    assert spoken(root)[0].endswith("지금 긴급 상담 전화로 연결해 드릴게요.")
    assert root.find("Dial/Number").text == "+82119"  # type: ignore[union-attr]
    assert verbs(failed) == ["Say", "Hangup"]
    assert spoken(failed)[0].startswith("지금 바로 일일구에 전화하세요.")


async def test_an_emergency_without_any_transfer_repeats_the_guidance_and_ends() -> None:
    fire = next(c for c in load_safety_rulebook().categories if c.name == "fire")
    dialogue = ScriptedDialogue([Reply(text=fire.spoken_guidance, action="handoff")])
    phone = make_harness(dialogue, phone_config(agent_number=None))
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, speech("불났어요"))
    finally:
        await phone.aclose()
    assert verbs(root) == ["Say", "Hangup"]
    assert spoken(root)[0].count("지금 바로 일일구에 전화하세요.") == 2


async def test_after_a_finished_agent_call_the_dial_result_hangs_up(phone: PhoneHarness) -> None:
    root = await phone.twiml("/twilio/voice/dial-result", {"DialCallStatus": "completed"})
    assert verbs(root) == ["Hangup"]
    busy = await phone.twiml("/twilio/voice/dial-result", {"DialCallStatus": "busy"})
    assert "상담사와 연결되지 않았어요" in spoken(busy)[0]


async def test_end_call_reply_hangs_up_after_speaking() -> None:
    phone = make_harness(
        ScriptedDialogue([Reply(text="도움이 되었길 바라요. 안녕히 계세요.", action="end_call")])
    )
    try:
        await phone.twiml(INCOMING)
        root = await phone.twiml(GATHER, speech("고마워요 끊을게요"))
    finally:
        await phone.aclose()
    assert verbs(root) == ["Say", "Hangup"]
    assert spoken(root) == ["도움이 되었길 바라요. 안녕히 계세요."]


async def test_citations_are_texted_only_when_the_caller_says_yes() -> None:
    reply = Reply(text="여권 수수료는 50,000원이에요[1].", citations=(CITATION,))
    dialogue = ScriptedDialogue([reply, reply])
    sms = RecordingSmsSender()
    phone = make_harness(dialogue, sms=sms)
    try:
        await phone.twiml(INCOMING)
        offer = await phone.twiml(GATHER, speech("여권 수수료"))
        assert spoken(offer)[0].endswith("출처를 문자로 보내 드릴까요? 네 또는 아니요로 말씀해 주세요.")
        declined = await phone.twiml(GATHER, speech("아니요 괜찮아요"))
        assert spoken(declined) == ["알겠습니다. 더 궁금하신 점이 있으면 말씀해 주세요."]
        assert sms.sent == []
        await phone.twiml(GATHER, speech("여권 수수료 다시"))
        accepted = await phone.twiml(GATHER, speech("네 보내 주세요"))
        assert spoken(accepted) == ["문자로 보내 드릴게요. 더 궁금하신 점이 있으면 말씀해 주세요."]
        await sms.delivered.wait()
    finally:
        await phone.aclose()
    assert len(sms.sent) == 1
    to, body = sms.sent[0]
    assert to == CALLER
    assert "[1] 여권 발급 안내 (seoul-faq)" in body
    assert "https://www.seoul.go.kr/p/1" in body
    assert len(dialogue.user_turns()) == 2


async def test_a_new_question_instead_of_yes_or_no_is_a_normal_turn() -> None:
    reply = Reply(text="답이에요[1].", citations=(CITATION,))
    dialogue = ScriptedDialogue([reply, Reply(text="다른 답이에요.")])
    sms = RecordingSmsSender()
    phone = make_harness(dialogue, sms=sms)
    try:
        await phone.twiml(INCOMING)
        await phone.twiml(GATHER, speech("첫 질문"))
        root = await phone.twiml(GATHER, speech("그런데 주차 요금은 얼마예요"))
    finally:
        await phone.aclose()
    assert spoken(root)[0].startswith("다른 답이에요.")
    assert sms.sent == []
    dialogue.assert_used_up()


async def test_no_sms_offer_for_a_caller_without_a_phone_number() -> None:
    dialogue = ScriptedDialogue([Reply(text="답이에요[1].", citations=(CITATION,))])
    phone = make_harness(dialogue, sms=RecordingSmsSender())
    try:
        await phone.twiml(INCOMING, {"From": "client:alice"})
        root = await phone.twiml(GATHER, {**speech("질문"), "From": "client:alice"})
    finally:
        await phone.aclose()
    assert "문자" not in spoken(root)[0]


async def test_the_status_callback_ends_the_call_and_cancels_its_pending_turn() -> None:
    dialogue = ScriptedDialogue([Reply(text="안 들릴 답")], gated=True)
    outcomes = RecordingOutcomeSink()
    phone = make_harness(dialogue, phone_config(**SLOW), outcomes=outcomes)
    try:
        await phone.twiml(INCOMING)
        await phone.twiml(GATHER, speech("질문"))
        ringing = await phone.post(STATUS, {"CallStatus": "in-progress"})
        assert ringing.status_code == 200
        response = await phone.post(STATUS, {"CallStatus": "completed", "CallDuration": "47"})
        await dialogue.cancelled.wait()
        await outcomes.recorded.wait()
    finally:
        await phone.aclose()
    assert response.status_code == 200
    assert verbs(parse_twiml(response.text)) == []
    ended = [event for event in dialogue.events if isinstance(event, CallEnded)]
    assert len(ended) == 1
    assert ended[0].outcome == "completed"
    outcome = outcomes.outcomes[0]
    assert outcome.duration == timedelta(seconds=47)
    assert outcome.turns == 1
    assert outcome.handed_off is False
    assert len(phone.store) == 0


async def test_a_gather_for_an_unknown_call_is_picked_up() -> None:
    dialogue = ScriptedDialogue([Reply(text="네.")])
    phone = make_harness(dialogue)
    try:
        root = await phone.twiml(GATHER, speech("안녕하세요"))
    finally:
        await phone.aclose()
    assert spoken(root)[0].startswith("네.")
    assert isinstance(dialogue.events[0], UserTurn)


async def test_each_webhooks_response_time_is_observed() -> None:
    class RecordingTimer:
        def __init__(self) -> None:
            self.observed: list[tuple[str, float]] = []

        def observe_twilio_webhook(self, endpoint: str, seconds: float) -> None:
            self.observed.append((endpoint, seconds))

    timer = RecordingTimer()
    phone = make_harness(ScriptedDialogue(), timer=timer)
    try:
        await phone.twiml(INCOMING)
        await phone.twiml(GATHER, {})
        await phone.post(STATUS, {"CallStatus": "completed"})
        await phone.post(GATHER, signature="forged")
    finally:
        await phone.aclose()
    assert [name for name, _ in timer.observed] == ["incoming", "gather", "status", "gather"]
    assert all(0 <= seconds < 5 for _, seconds in timer.observed)


async def test_shutting_the_app_down_cancels_pending_turns() -> None:
    dialogue = ScriptedDialogue([Reply(text="영영 안 올 답")], gated=True)
    phone = make_harness(dialogue, phone_config(**SLOW))
    async with phone.app.router.lifespan_context(phone.app):
        await phone.twiml(INCOMING)
        await phone.twiml(GATHER, speech("질문"))
        assert phone.tasks.running == 1
    assert dialogue.cancelled.is_set()
    assert phone.tasks.running == 0
    await phone.aclose()


def test_an_sms_sender_is_built_only_when_the_account_and_sender_are_configured() -> None:
    token = SecretStr("t")
    assert build_sms_sender(phone_config(), token) is None
    assert build_sms_sender(phone_config(sms_from="+8221200120"), token) is None
    sender = build_sms_sender(phone_config(sms_from="+8221200120", account_sid="AC" + "1" * 32), token)
    assert isinstance(sender, TwilioSmsSender)
