"""ObservedTracer: a broken tracer never fails a turn, the traced code's own errors pass through, and
every step is metered (duration, tokens) with tracing on (RecordingTracer) or off (NoopTracer)."""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from dataclasses import dataclass, field

import pytest

from assistant.core.events import ConversationKey
from assistant.dialogue.pii import PiiRedactor
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMHealth, TokenDelta, Usage
from assistant.tracing.noop import NoopTracer
from assistant.tracing.observed import ObservedTracer
from assistant.tracing.ports import Metadata, SpanHandle, SpanKind, TurnTrace
from assistant.tracing.recording import RecordingTracer
from assistant.tracing.traced_llm import TracedLLM

pytestmark = pytest.mark.anyio

WEB = ConversationKey("web", "s1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class RecordingMeter:
    steps: list[tuple[str, float]] = field(default_factory=list)
    tokens: list[tuple[str, int, int]] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def observe_step(self, step: str, seconds: float) -> None:
        self.steps.append((step, seconds))

    def record_tokens(self, model: str, *, prompt: int, completion: int) -> None:
        self.tokens.append((model, prompt, completion))

    def record_error(self, error: BaseException | str) -> None:
        self.errors.append(error if isinstance(error, str) else type(error).__name__)


class BrokenTracer:
    """Every call into it raises (a tracing bug, an SDK change): nothing of it may reach a turn."""

    def turn(
        self,
        name: str,
        *,
        conversation: ConversationKey,
        user: str | None = None,
        capture_content: bool | None = None,
        input: object = None,
        metadata: Metadata | None = None,
    ) -> AbstractAsyncContextManager[TurnTrace]:
        raise RuntimeError("turn broke")

    def current_turn(self) -> TurnTrace | None:
        raise RuntimeError("current broke")

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        raise RuntimeError("score broke")

    async def aclose(self) -> None:
        raise RuntimeError("close broke")


class ScriptedLLM:
    def __init__(self) -> None:
        self.calls = 0

    @property
    def model(self) -> str:
        return "scripted"

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        return Completion("답변입니다", "qwen-7b", "stop", Usage(prompt_tokens=40, completion_tokens=7))

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        self.calls += 1
        yield TokenDelta("답변")
        yield Completion("답변입니다", "qwen-7b", "stop", Usage(prompt_tokens=40, completion_tokens=7))

    async def health(self) -> LLMHealth:
        return LLMHealth(True, "scripted")


def _request() -> ChatRequest:
    return ChatRequest(
        messages=(ChatMessage("user", "질문"),), metadata={"prompt_id": "p", "prompt_version": "v"}
    )


def ticking() -> itertools.count[float]:
    return itertools.count(start=100.0, step=0.5)


async def test_with_tracing_off_steps_and_tokens_are_still_metered() -> None:
    meter = RecordingMeter()
    ticks = ticking()
    tracer = ObservedTracer(NoopTracer(), meter, timer=lambda: next(ticks))
    llm = TracedLLM(ScriptedLLM(), tracer)
    assert tracer.current_turn() is None
    async with tracer.turn("turn", conversation=WEB, input="질문") as turn:
        assert turn.trace_id is None
        assert tracer.current_turn() is turn
        with turn.span("safety", kind="guardrail"):
            pass
        await llm.complete(_request())
        async for _ in llm.stream(_request()):
            pass
    assert tracer.current_turn() is None
    assert meter.steps == [("safety", 0.5), ("generation", 0.5), ("generation", 0.5)]
    assert meter.tokens == [("qwen-7b", 40, 7), ("qwen-7b", 40, 7)]
    assert meter.errors == []


async def test_with_tracing_on_the_inner_tracer_records_the_same_steps() -> None:
    recording = RecordingTracer(PiiRedactor())
    meter = RecordingMeter()
    tracer = ObservedTracer(recording, meter)
    async with tracer.turn("turn", conversation=WEB, input="010-1234-5678 로 연락 주세요") as turn:
        with turn.span("routing") as span:
            span.annotate({"route": "answer"})
        await TracedLLM(ScriptedLLM(), tracer, step="rewrite_llm").complete(_request())
        turn.annotate({"route": "answer"})
    (recorded,) = recording.turns
    assert turn.trace_id == recorded.trace_id
    assert [span.name for span in recorded.spans()] == ["routing", "rewrite_llm"]
    assert recorded.find("routing").metadata == {"route": "answer"}
    assert recorded.find("rewrite_llm").completion_tokens == 7
    assert recorded.root.input == "[전화번호] 로 연락 주세요"
    assert [step for step, _ in meter.steps] == ["routing", "rewrite_llm"]


async def test_a_broken_tracer_never_reaches_the_turn(caplog: pytest.LogCaptureFixture) -> None:
    meter = RecordingMeter()
    tracer = ObservedTracer(BrokenTracer(), meter)
    caplog.set_level(logging.WARNING, logger="assistant.tracing.observed")
    async with tracer.turn("turn", conversation=WEB) as turn:
        with turn.span("safety") as span:
            span.annotate({"flags": []})
        turn.annotate({"route": "answer"})
        turn.set_output("답변")
        assert turn.trace_id is None
    tracer.score("0" * 32, "helpful", 1.0)
    await tracer.aclose()
    assert meter.steps and meter.steps[0][0] == "safety"
    assert meter.errors == ["tracing.RuntimeError"] * 3
    assert "broke" not in caplog.text  # logged by type only
    assert caplog.text.count("RuntimeError") == 3


class FailingSpanTurn:
    """A turn whose spans fail to open and whose annotations fail."""

    trace_id = "f" * 32
    session_id = "web-x"
    captures_content = True

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "span",
        input: object = None,
        metadata: Metadata | None = None,
        version: str | None = None,
        current: bool = True,
    ) -> AbstractContextManager[SpanHandle]:
        raise TypeError("span broke")

    def set_output(self, output: object) -> None:
        raise TypeError("output broke")

    def annotate(self, metadata: Metadata) -> None:
        raise TypeError("annotate broke")


class FailingSpansTracer(NoopTracer):
    def turn(self, *args: object, **kwargs: object) -> AbstractAsyncContextManager[TurnTrace]:  # type: ignore[override]
        return _Opened(FailingSpanTurn())


class _Opened:
    def __init__(self, turn: FailingSpanTurn) -> None:
        self._turn = turn

    async def __aenter__(self) -> FailingSpanTurn:
        return self._turn

    async def __aexit__(self, *exc: object) -> None:
        raise KeyError("exit broke")


async def test_failing_spans_and_a_failing_close_are_swallowed_and_still_metered() -> None:
    meter = RecordingMeter()
    tracer = ObservedTracer(FailingSpansTracer(), meter)
    async with tracer.turn("turn", conversation=WEB) as turn:
        assert turn.trace_id == "f" * 32
        with turn.span("redaction") as span:
            span.annotate({"found": {"phone": 1}})
        turn.annotate({"route": "x"})
    assert [step for step, _ in meter.steps] == ["redaction"]
    assert meter.errors == ["tracing.TypeError", "tracing.TypeError", "tracing.KeyError"]


async def test_the_traced_codes_own_errors_pass_through_and_are_recorded_by_type() -> None:
    recording = RecordingTracer(PiiRedactor())
    meter = RecordingMeter()
    tracer = ObservedTracer(recording, meter)
    with pytest.raises(ValueError, match="010-1234-5678"):
        async with tracer.turn("turn", conversation=WEB) as turn:
            with turn.span("routing"):
                raise ValueError("bad 010-1234-5678")
    (recorded,) = recording.turns
    assert recorded.find("routing").error == "ValueError"
    assert recorded.root.error == "ValueError"
    assert [step for step, _ in meter.steps] == ["routing"]
    assert meter.errors == []  # not a tracing error
    assert tracer.current_turn() is None


async def test_a_failing_meter_never_reaches_the_turn() -> None:
    class BrokenMeter(RecordingMeter):
        def observe_step(self, step: str, seconds: float) -> None:
            raise RuntimeError("prometheus broke")

    tracer = ObservedTracer(NoopTracer(), BrokenMeter())
    async with tracer.turn("turn", conversation=WEB) as turn:
        with turn.span("safety"):
            pass
