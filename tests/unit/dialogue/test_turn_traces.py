"""The dialogue manager's turn traces (RecordingTracer, same privacy rules as Langfuse) and turn reports:
one trace per input, safety/redaction/routing spans, the turn's annotations, the trace id kept in the
stored reply, content omitted on the phone, and failed turns reported to the observer."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.answering.abstention import AbstentionMessages
from assistant.answering.answer import Answer, AnswerDelta, AnswerLatency, HistoryTurn
from assistant.core.clock import FakeClock
from assistant.core.errors import LLMUnavailable, StorageError
from assistant.core.events import AssistRequested, ConversationKey, MessageId, UserTurn
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Capabilities, Citation, Reply
from assistant.dialogue.manager import CivicDialogueManager
from assistant.dialogue.manager_ports import TurnTiming
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.safety import InjectionGuard, SafetyRules, SafetyScreen
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from assistant.sessions.conversation import AppendResult, ConversationStatus, NewEvent
from assistant.sessions.memory_store import InMemorySessionStore
from assistant.tracing.ports import Tracer
from assistant.tracing.recording import RecordedTurn, RecordingTracer

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
WEB = Capabilities()
PHONE = Capabilities(markdown=False, spoken=True, max_quick_replies=0, reply_budget=timedelta(seconds=8))
RRN = "900101-1234567"
PHONE_NUMBER = "010-2345-6789"
ANSWER = Answer(
    text="여권은 구청 민원실에서 신청해요 [1].",
    mode="llm",
    citations=(Citation(n=1, chunk_id=ChunkId("c1"), title="여권 발급", source="sample", url=None),),
    latency_ms=AnswerLatency(),
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class ScriptedAnswerer:
    """Answers each question with the next scripted answer (or raises it)."""

    steps: list[Answer | Exception]
    questions: list[str] = field(default_factory=list)

    def _next(self, question: str) -> Answer:
        self.questions.append(question)
        step = self.steps.pop(0)
        if isinstance(step, Exception):
            raise step
        return step

    async def answer(
        self, question: str, *, history: Sequence[HistoryTurn] = (), spoken: bool = False, deadline: timedelta
    ) -> Answer:
        return self._next(question)

    async def stream(
        self, question: str, *, history: Sequence[HistoryTurn] = (), spoken: bool = False, deadline: timedelta
    ) -> AsyncIterator[AnswerDelta | Answer]:
        answer = self._next(question)
        yield AnswerDelta(answer.text)
        yield answer


class FailingStore(InMemorySessionStore):
    """Loads fine; every append fails (the database went away)."""

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        raise StorageError("connection refused")


@dataclass
class RecordingObserver:
    timings: list[TurnTiming] = field(default_factory=list)

    def turn_done(self, timing: TurnTiming) -> None:
        self.timings.append(timing)


@dataclass
class Rig:
    manager: CivicDialogueManager
    store: InMemorySessionStore
    tracer: RecordingTracer
    observer: RecordingObserver
    answers: ScriptedAnswerer
    clock: FakeClock

    def turn(self, text: str, key: ConversationKey, n: int = 1) -> UserTurn:
        return UserTurn(key, MessageId(f"m{n}"), self.clock.now(), text)

    async def stored(self, key: ConversationKey) -> list[dict[str, Any]]:
        return [dict(e.payload) for e in (await self.store.load(key)).events]


def rig(*steps: Answer | Exception, store: InMemorySessionStore | None = None, traced: bool = True) -> Rig:
    clock = FakeClock(NOW)
    sessions = store or InMemorySessionStore(clock=clock)
    tracer = RecordingTracer(PiiRedactor())
    observer = RecordingObserver()
    answers = ScriptedAnswerer(list(steps))
    rulebook = load_safety_rulebook()
    manager = CivicDialogueManager(
        sessions=sessions,
        safety=SafetyScreen(SafetyRules(rulebook), InjectionGuard(rulebook)),
        redactor=PiiRedactor(),
        answers=answers,
        clock=clock,
        observer=observer,
        tracer=tracer if traced else None,
    )
    return Rig(manager, sessions, tracer, observer, answers, clock)


def exported_text(turn: RecordedTurn) -> str:
    """Everything the trace would export, as one string."""
    spans = [turn.root, *turn.spans()]
    values = [(s.name, s.input, s.output, s.metadata, s.error) for s in spans]
    return json.dumps([values, turn.session_id, turn.user_id], ensure_ascii=False, default=str)


async def test_a_web_turn_is_one_trace_with_safety_redaction_and_routing_spans() -> None:
    r = rig(ANSWER)
    key = ConversationKey("web", "session-abc")
    text = f"주민번호 {RRN}, 연락처 {PHONE_NUMBER} 인데 여권은 어디서 만들어요?"
    reply = await r.manager.respond(r.turn(text, key), WEB)

    (turn,) = r.tracer.turns
    assert turn.root.name == "turn" and turn.channel == "web" and turn.captures_content
    assert turn.user_id is None and "session-abc" not in turn.session_id
    assert [span.name for span in turn.spans()] == ["safety", "redaction", "routing"]
    assert all(span.ended and span.error is None for span in turn.spans())
    safety = turn.find("safety")
    assert safety.kind == "guardrail" and safety.metadata["verdict"] == "none"
    assert safety.input == "주민번호 [주민등록번호], 연락처 [전화번호] 인데 여권은 어디서 만들어요?"
    assert turn.find("redaction").metadata == {"found": {"rrn": 1, "phone": 1}}
    assert turn.find("routing").metadata == {"route": "answer"}
    summary = turn.root.metadata
    assert summary["route"] == "answer" and summary["action"] == "continue"
    assert summary["abstained"] is False and summary["handoff"] is False
    assert summary["answer_mode"] == "llm" and summary["safety_flags"] == [] and summary["error"] is None
    assert turn.root.output == reply.text
    assert RRN not in exported_text(turn) and PHONE_NUMBER not in exported_text(turn)

    (_, bot_reply) = await r.stored(key)
    assert bot_reply["trace_id"] == turn.trace_id
    (timing,) = r.observer.timings
    assert timing.route == "answer" and timing.answer_mode == "llm" and not timing.failed


async def test_an_emergency_on_kakao_is_flagged_handed_off_and_pseudonymous() -> None:
    r = rig()
    key = ConversationKey("kakao", "kakao-user-key-123")
    await r.manager.respond(r.turn("집에 불이 났어요 살려주세요", key), WEB)

    (turn,) = r.tracer.turns
    assert turn.user_id is not None and "kakao-user-key-123" not in turn.user_id
    assert turn.find("safety").metadata["category"] == "fire"
    summary = turn.root.metadata
    assert summary["safety_flags"] == ["fire"] and summary["handoff"] is True
    assert summary["route"] == "handoff:safety" and summary["answer_mode"] is None
    (timing,) = r.observer.timings
    assert timing.safety_flags == ("fire",) and timing.handoff and not timing.abstained
    assert r.answers.questions == []


async def test_a_phone_turn_exports_structure_but_no_content() -> None:
    r = rig(ANSWER)
    key = ConversationKey("phone", "CA" + "1" * 32)
    await r.manager.respond(r.turn(f"제 번호는 {PHONE_NUMBER} 이고 여권 문의예요", key), PHONE)

    (turn,) = r.tracer.turns
    assert not turn.captures_content
    assert turn.root.input is None and turn.root.output is None
    assert turn.root.metadata["input_chars"] > 0 and turn.root.metadata["output_chars"] > 0
    assert turn.find("safety").input is None
    assert turn.find("redaction").metadata == {"found": {"phone": 1}}
    assert "여권" not in exported_text(turn) and "CA111" not in exported_text(turn)


async def test_an_abstention_and_a_streamed_turn_are_annotated() -> None:
    abstain = Answer(
        text=AbstentionMessages().for_channel(spoken=False),
        mode="abstain",
        citations=(),
        latency_ms=AnswerLatency(),
    )
    r = rig(abstain)
    key = ConversationKey("web", "session-stream")
    items = [item async for item in r.manager.stream(r.turn("우주선 면허는 어디서 따요?", key), WEB)]
    assert isinstance(items[-1], Reply)

    (turn,) = r.tracer.turns
    assert turn.root.metadata["streaming"] is True
    assert turn.root.metadata["abstained"] is True and turn.root.metadata["route"] == "answer:abstain"
    assert all(span.ended for span in turn.spans())
    assert r.observer.timings[0].abstained


async def test_an_upstream_failure_is_reported_with_its_type() -> None:
    r = rig(LLMUnavailable("down"))
    key = ConversationKey("web", "session-fail")
    reply = await r.manager.respond(r.turn("여권은 어디서 만들어요?", key), WEB)
    assert reply.text
    (turn,) = r.tracer.turns
    assert turn.root.metadata["error"] == "LLMUnavailable" and turn.root.metadata["route"] == "answer:failed"
    assert r.observer.timings[0].error == "LLMUnavailable" and not r.observer.timings[0].failed


async def test_a_failed_turn_is_observed_traced_by_type_and_raised() -> None:
    clock = FakeClock(NOW)
    r = rig(ANSWER, store=FailingStore(clock=clock))
    key = ConversationKey("web", "session-down")
    with pytest.raises(StorageError):
        await r.manager.respond(r.turn("여권은 어디서 만들어요?", key), WEB)
    (turn,) = r.tracer.turns
    assert turn.root.error == "StorageError" and turn.root.metadata["error"] == "StorageError"
    (timing,) = r.observer.timings
    assert timing.failed and timing.error == "StorageError" and timing.action is None


async def test_an_assist_request_is_its_own_trace_kept_in_the_assist_reply() -> None:
    r = rig(ANSWER, ANSWER)
    key = ConversationKey("web", "session-assist")
    await r.manager.respond(r.turn("여권은 어디서 만들어요?", key, n=1), WEB)
    assist = AssistRequested(key, MessageId("a1"), r.clock.now(), agent_id="agent-7")
    await r.manager.respond(assist, WEB)

    first, second = r.tracer.turns
    assert second.root.name == "assist" and second.root.metadata["route"] == "assist"
    assert second.spans() == []  # no safety, redaction or routing for an agent's request
    payloads = await r.stored(key)
    assert payloads[-1]["trace_id"] == second.trace_id and first.trace_id != second.trace_id


async def test_without_a_tracer_nothing_is_traced_and_no_trace_id_is_stored() -> None:
    r = rig(ANSWER, traced=False)
    key = ConversationKey("web", "session-untraced")
    await r.manager.respond(r.turn("여권은 어디서 만들어요?", key), WEB)
    assert r.tracer.turns == []
    assert all("trace_id" not in payload for payload in await r.stored(key))
    assert r.observer.timings[0].route == "answer"


async def test_a_duplicate_message_is_traced_as_such() -> None:
    r = rig(ANSWER)
    key = ConversationKey("web", "session-dup")
    turn = r.turn("여권은 어디서 만들어요?", key)
    await r.manager.respond(turn, WEB)
    await r.manager.respond(turn, WEB)
    assert [t.root.metadata["route"] for t in r.tracer.turns] == ["answer", "duplicate"]
    assert r.answers.questions == ["여권은 어디서 만들어요?"]


def test_the_recording_tracer_satisfies_the_port() -> None:
    tracer: Tracer = RecordingTracer(PiiRedactor())
    assert tracer.current_turn() is None
