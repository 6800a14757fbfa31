"""Snapshots of every TwiML document the phone channel answers with, and their well-formedness."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.core.errors import LLMTimeout
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.twilio.config import TwilioChannelConfig
from channels.twilio.twiml import TwimlEncoder
from tests.unit.channels.twilio.twilio_channel_doubles import (
    ExplodingStore,
    RecordingSmsSender,
    ScriptedDialogue,
    assert_snapshot,
    make_harness,
    parse_twiml,
    phone_config,
)

pytestmark = pytest.mark.anyio

INCOMING = "/twilio/voice/incoming"
GATHER = "/twilio/voice/gather"
SPEECH = {"SpeechResult": "질문이 있어요", "Confidence": "0.9"}
ANSWER = (
    "**여권**은 구청 민원실에서 신청하세요[1]. 수수료는 50,000원이에요. "
    "문의는 02-2133-7000으로 하세요 (https://www.seoul.go.kr)."
)


async def test_snapshots_of_a_call() -> None:
    citation = Citation(
        n=1, chunk_id=ChunkId("c1"), title="여권 안내", source="faq", url="https://x.example/1"
    )
    dialogue = ScriptedDialogue(
        [
            Reply(text=ANSWER),
            Reply(text=ANSWER, citations=(citation,)),
            Reply(text="상담사에게 연결해 드릴게요.", action="handoff"),
        ]
    )
    phone = make_harness(dialogue, sms=RecordingSmsSender())
    try:
        assert_snapshot("incoming_greeting", (await phone.post(INCOMING)).text)
        assert_snapshot("answer_then_listen", (await phone.post(GATHER, SPEECH)).text)
        assert_snapshot("answer_with_sms_offer", (await phone.post(GATHER, SPEECH)).text)
        assert_snapshot("sms_accepted", (await phone.post(GATHER, {"SpeechResult": "네"})).text)
        assert_snapshot("reprompt", (await phone.post(GATHER)).text)
        assert_snapshot("last_reprompt", (await phone.post(GATHER)).text)
        assert_snapshot("no_input_goodbye", (await phone.post(GATHER)).text)
        assert_snapshot("handoff_dial", (await phone.post(GATHER, SPEECH)).text)
        assert_snapshot(
            "status_empty", (await phone.post("/twilio/voice/status", {"CallStatus": "completed"})).text
        )
    finally:
        await phone.aclose()


async def test_snapshots_of_a_slow_reply() -> None:
    dialogue = ScriptedDialogue([Reply(text="늦은 답이에요.")], gated=True)
    config = phone_config(
        filler_budget=timedelta(milliseconds=10), answer_poll_wait=timedelta(milliseconds=10)
    )
    phone = make_harness(dialogue, config)
    try:
        await phone.post(INCOMING)
        filler = (await phone.post(GATHER, SPEECH)).text
        path = parse_twiml(filler).find("Redirect").text or ""  # type: ignore[union-attr]
        polls = [(await phone.post(path)).text for _ in range(4)]
        dialogue.release()
    finally:
        await phone.aclose()
    turn = path.rpartition("=")[2]
    assert_snapshot("filler_redirect", filler.replace(turn, "TURN"))
    assert_snapshot("pause_redirect", polls[0].replace(turn, "TURN"))
    assert_snapshot("still_working_redirect", polls[3].replace(turn, "TURN"))


async def test_snapshots_of_handoffs_and_failures() -> None:
    fire = next(c for c in load_safety_rulebook().categories if c.name == "fire")
    emergency = Reply(text=fire.spoken_guidance, action="handoff")
    phone = make_harness(
        ScriptedDialogue([emergency, LLMTimeout("deadline")]),
        phone_config(emergency_transfer_number="+8225550119"),
    )
    broken = make_harness(ScriptedDialogue(), store=ExplodingStore())
    no_agent = make_harness(ScriptedDialogue(), phone_config(agent_number=None))
    queue = make_harness(ScriptedDialogue(), phone_config(agent_number=None, agent_queue="dasan-120"))
    try:
        assert_snapshot("emergency_transfer", (await phone.post(GATHER, SPEECH)).text)
        assert_snapshot("dialogue_failed_offer", (await phone.post(GATHER, SPEECH)).text)
        assert_snapshot("error_apology", (await broken.post(GATHER, SPEECH)).text)
        assert_snapshot("no_agent_hangup", (await no_agent.post(GATHER, {"Digits": "0"})).text)
        assert_snapshot("enqueue", (await queue.post(GATHER, {"Digits": "0"})).text)
    finally:
        await phone.aclose()
        await broken.aclose()
        await no_agent.aclose()
        await queue.aclose()


def test_snapshots_with_absolute_urls() -> None:
    config = TwilioChannelConfig(
        public_base_url="https://phone.dasan.example/voice", speech_model="phone_call", speech_timeout="2"
    )
    encoder = TwimlEncoder(config)
    assert_snapshot("gather_with_public_base_url", encoder.gather(("말씀해 주세요.",)))
    assert_snapshot("redirect_with_public_base_url", encoder.redirect(("잠시만요.",), "TURN"))


def test_the_well_formedness_check_rejects_foreign_verbs_and_attributes() -> None:
    with pytest.raises(AssertionError):
        parse_twiml("<Response><Speak>hi</Speak></Response>")
    with pytest.raises(AssertionError):
        parse_twiml('<Response><Say colour="red">hi</Say></Response>')
    with pytest.raises(AssertionError):
        parse_twiml("<Answer/>")
    with pytest.raises(AssertionError):
        parse_twiml("<Response><Gather><Dial>1</Dial></Gather></Response>")


def test_a_long_text_is_split_across_says_within_pollys_limit() -> None:
    encoder = TwimlEncoder(TwilioChannelConfig())
    sentences = tuple(f"{n}번째 안내 문장은 이렇게 길게 이어지고 또 이어집니다." for n in range(120))
    root = parse_twiml(encoder.hangup(sentences))
    says = [say.text or "" for say in root.iter("Say")]
    assert len(says) > 1
    assert all(len(text.encode("utf-8")) <= 3000 for text in says)
    assert " ".join(says) == " ".join(sentences)
