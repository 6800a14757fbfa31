"""Handoffs on the phone, spoken from the real dialogue manager's texts: with an agent number the promise
and then the ``<Dial>``; without one a single coherent message (no promise the line cannot keep), the
hotline offered by SMS when one can be sent. TwiML snapshots of both cases."""

from __future__ import annotations

import re
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi import FastAPI
from twilio.request_validator import RequestValidator

from assistant.answering.abstention import AbstentionMessages
from assistant.answering.answer import Answer, AnswerDelta, AnswerLatency, HistoryTurn
from assistant.core.clock import FakeClock
from assistant.core.errors import RetrievalError, UpstreamError
from assistant.dialogue.flows.rendering import FlowMessages
from assistant.dialogue.manager import CivicDialogueManager
from assistant.dialogue.messages import DialogueMessages
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.safety import InjectionGuard, SafetyRules, SafetyScreen
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from assistant.sessions.memory_store import InMemorySessionStore
from channels.twilio import CallTasks, TwilioChannelConfig, VoicePrompts, build_twilio_router
from channels.twilio.handoff_speech import apologises, handoff_reasons
from channels.twilio.spoken import ear_sentences
from tests.unit.channels.twilio.twilio_channel_doubles import (
    CALL_SID,
    CALLER,
    TEST_TOKEN,
    RecordingSmsSender,
    assert_snapshot,
    parse_twiml,
    phone_config,
    spoken,
    verbs,
)

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 2, 0, 0, tzinfo=UTC)
NO_AGENT = phone_config(agent_number=None)
PROMISES = re.compile(r"연결해 드(?:릴게요|리겠습니다|릴까요)|기다려 주세요|답변드릴게요")


# -- a real dialogue manager behind the phone ----------------------------------------------------------


Step = Answer | UpstreamError


@dataclass
class ScriptedAnswerer:
    """Replays answers (or raises errors) in order; fails loudly when asked once too often."""

    steps: deque[Step]

    async def answer(
        self, question: str, *, history: Sequence[HistoryTurn] = (), spoken: bool = False, deadline: timedelta
    ) -> Answer:
        assert self.steps, f"answerer asked more often than scripted: {question!r}"
        step = self.steps.popleft()
        if isinstance(step, UpstreamError):
            raise step
        return step

    async def stream(
        self, question: str, *, history: Sequence[HistoryTurn] = (), spoken: bool = False, deadline: timedelta
    ) -> AsyncIterator[AnswerDelta | Answer]:
        yield await self.answer(question, history=history, spoken=spoken, deadline=deadline)


def abstained() -> Answer:
    text = AbstentionMessages().for_channel(spoken=True)
    return Answer(text=text, mode="abstain", citations=(), latency_ms=AnswerLatency())


@dataclass
class Caller:
    """One call to the router over ASGI, every request signed like Twilio's."""

    client: httpx.AsyncClient
    validator: RequestValidator
    sms: RecordingSmsSender = field(default_factory=RecordingSmsSender)

    async def post(self, path: str, fields: Mapping[str, str] | None = None) -> str:
        params = {"CallSid": CALL_SID, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": "+8221200120"}
        params.update(fields or {})
        signature = self.validator.compute_signature("http://testserver" + path, params)
        response = await self.client.post(path, data=params, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200, response.text
        return response.text

    async def say(self, text: str) -> str:
        return await self.post("/twilio/voice/gather", {"SpeechResult": text, "Confidence": "0.9"})

    async def press(self, key: str) -> str:
        return await self.post("/twilio/voice/gather", {"Digits": key})


@asynccontextmanager
async def call(
    config: TwilioChannelConfig, *steps: Step, sms: RecordingSmsSender | None = None
) -> AsyncIterator[Caller]:
    clock = FakeClock(NOW)
    rulebook = load_safety_rulebook()
    dialogue = CivicDialogueManager(
        sessions=InMemorySessionStore(clock=clock),
        safety=SafetyScreen(SafetyRules(rulebook), InjectionGuard(rulebook)),
        redactor=PiiRedactor(),
        answers=ScriptedAnswerer(deque(steps)),
        clock=clock,
    )
    tasks = CallTasks(clock)
    app = FastAPI()
    app.include_router(
        build_twilio_router(dialogue, config, clock, auth_token=TEST_TOKEN, sms=sms, tasks=tasks)
    )
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 44321))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        caller = Caller(client, RequestValidator(TEST_TOKEN.get_secret_value()), sms or RecordingSmsSender())
        try:
            await caller.post("/twilio/voice/incoming")
            yield caller
        finally:
            await tasks.aclose()


def said(twiml: str) -> str:
    return " ".join(spoken(parse_twiml(twiml)))


# -- snapshots -----------------------------------------------------------------------------------------


async def test_a_requested_handoff_with_an_agent_number_promises_once_then_dials() -> None:
    async with call(phone_config()) as caller:
        twiml = await caller.say("상담원 연결해 주세요")
    assert_snapshot("handoff_requested_dial", twiml)
    root = parse_twiml(twiml)
    assert verbs(root) == ["Say", "Dial"]
    assert said(twiml) == "상담사에게 연결해 드릴게요. 잠시만 기다려 주세요."
    assert (root.find("Dial/Number").text or "") == "+8227000120"  # type: ignore[union-attr]


async def test_a_requested_handoff_without_an_agent_says_one_coherent_thing_and_ends_the_call() -> None:
    async with call(NO_AGENT) as caller:
        twiml = await caller.say("상담원 연결해 주세요")
    assert_snapshot("handoff_requested_no_agent", twiml)
    assert verbs(parse_twiml(twiml)) == ["Say", "Hangup"]
    assert said(twiml) == (
        "죄송해요. 이 전화로는 상담사를 연결해 드릴 수 없어요. "
        "상담사와 통화하시려면 일이공번으로 전화해 주세요. 이용해 주셔서 감사합니다. 안녕히 계세요."
    )


async def test_without_an_agent_the_hotline_is_offered_by_sms_before_the_call_ends() -> None:
    sms = RecordingSmsSender()
    async with call(NO_AGENT, sms=sms) as caller:
        offer = await caller.press("0")
        sent = await caller.say("네 보내 주세요")
        await sms.delivered.wait()
    assert_snapshot("handoff_no_agent_sms_offer", offer)
    assert_snapshot("handoff_no_agent_sms_sent", sent)
    assert verbs(parse_twiml(offer)) == ["Gather"]
    assert said(offer).endswith("상담 전화번호를 문자로 보내 드릴까요? 네 또는 아니요로 말씀해 주세요.")
    assert not PROMISES.search(said(offer))
    assert verbs(parse_twiml(sent)) == ["Say", "Hangup"]
    assert sms.sent == [(CALLER, "[다산 120] 상담사와 통화하시려면 120번으로 전화해 주세요.")]


async def test_a_declined_or_unanswered_hotline_offer_ends_the_call_without_an_sms() -> None:
    for answer in ({"SpeechResult": "아니요 괜찮아요", "Confidence": "0.9"}, {}):
        sms = RecordingSmsSender()
        async with call(NO_AGENT, sms=sms) as caller:
            await caller.press("0")
            goodbye = await caller.post("/twilio/voice/gather", answer)
        assert verbs(parse_twiml(goodbye)) == ["Say", "Hangup"]
        assert said(goodbye) == "이용해 주셔서 감사합니다. 안녕히 계세요."
        assert sms.sent == []


async def test_the_greeting_offers_key_0_only_when_an_agent_can_be_reached() -> None:
    async with call(phone_config()) as caller:
        with_agent = await caller.post("/twilio/voice/incoming")
    async with call(NO_AGENT) as caller:
        without = await caller.post("/twilio/voice/incoming")
    assert "상담사 연결은 0번" in said(with_agent)
    assert "0번" not in said(without) and "다시 듣기는 별표" in said(without)


# -- handoffs the dialogue starts itself ---------------------------------------------------------------


async def test_an_upstream_failure_without_an_agent_apologises_once_and_names_the_hotline() -> None:
    async with call(NO_AGENT, RetrievalError("index down")) as caller:
        twiml = await caller.say("여권 발급 방법 알려 주세요")
    assert verbs(parse_twiml(twiml)) == ["Say", "Hangup"]
    assert said(twiml) == (
        "죄송해요. 지금은 답변을 드리기 어려워요. 이 전화로는 상담사를 연결해 드릴 수 없어요. "
        "상담사와 통화하시려면 일이공번으로 전화해 주세요. 이용해 주셔서 감사합니다. 안녕히 계세요."
    )


async def test_repeated_failures_hand_off_with_the_reason_and_without_a_broken_promise() -> None:
    async with call(NO_AGENT, abstained(), abstained()) as caller:
        await caller.say("우주선 발사 허가는 어디서 받아요?")
        twiml = await caller.say("그럼 화성 이주 신청은요?")
    text = said(twiml)
    assert verbs(parse_twiml(twiml)) == ["Say", "Hangup"]
    assert "이 문의는 상담원이 자세히 안내해 드리는 게 좋겠어요." in text
    assert "이 전화로는 상담사를 연결해 드릴 수 없어요." in text
    assert not PROMISES.search(text), text
    assert text.count("죄송") == 1

    async with call(phone_config(), abstained(), abstained()) as caller:
        await caller.say("우주선 발사 허가는 어디서 받아요?")
        dialled = await caller.say("그럼 화성 이주 신청은요?")
    assert verbs(parse_twiml(dialled)) == ["Say", "Dial"]
    assert said(dialled).endswith(
        "이 문의는 상담원이 자세히 안내해 드리는 게 좋겠어요. "
        "상담사에게 연결해 드릴게요. 잠시만 기다려 주세요."
    )


# -- which sentences a handoff keeps -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        DialogueMessages().spoken_handoff,
        DialogueMessages().handoff,
        DialogueMessages().agent_will_answer,
        FlowMessages().handoff,
        "여러 번 답을 찾지 못해 상담원에게 연결해 드리겠습니다. 잠시만 기다려 주세요.",
        "담당자에게 연결해 드릴께요. 조금만 더 기다려 주십시오.",
    ],
)
def test_promises_of_a_connection_are_dropped_from_a_handoff(text: str) -> None:
    assert handoff_reasons(ear_sentences(text, 300)) == ()


@pytest.mark.parametrize(
    ("text", "kept"),
    [
        (DialogueMessages().spoken_upstream_failed, ("죄송해요.", "지금은 답변을 드리기 어려워요.")),
        (
            DialogueMessages().spoken_handoff_after_failures,
            ("이 문의는 상담원이 자세히 안내해 드리는 게 좋겠어요.",),
        ),
        (
            AbstentionMessages().spoken,
            ("죄송해요.", "문의하신 내용은 시 안내 자료에서 찾지 못했어요."),
        ),
        (
            "불이 나면 119에 전화하세요. 몸을 낮추고 대피하세요.",
            ("불이 나면 일일구에 전화하세요.", "몸을 낮추고 대피하세요."),
        ),
    ],
)
def test_the_reasons_of_a_handoff_are_kept(text: str, kept: tuple[str, ...]) -> None:
    assert handoff_reasons(ear_sentences(text, 300)) == kept


def test_an_apology_is_recognised_so_it_is_not_repeated() -> None:
    assert apologises(("죄송해요.", "지금은 답변을 드리기 어려워요."))
    assert not apologises(("상담원에게 연결해 드릴게요.",))
    assert VoicePrompts().apology == "죄송해요."
