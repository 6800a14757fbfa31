"""Tracer contract: the real LangfuseTracer (real SDK, OTLP over HTTP) against a local Langfuse receiver,
and the RecordingTracer, drive the same traced turn and must produce the same span tree.

Wire-level assertions: one trace per turn, the step spans as children of the turn, generation attributes
(model, prompt version, usage), keyed-hash session and user ids, PII redacted, content omitted when the
channel does not capture, and a request path that never waits on export.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from assistant.core.errors import ConfigurationError
from assistant.core.events import ConversationKey
from assistant.core.knowledge import Chunk, ChunkId, DocumentId, ScoredChunk
from assistant.dialogue.pii import PiiRedactor
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMHealth, TokenDelta, Usage
from assistant.retrieval.ports import SearchMode
from assistant.tracing.factory import build_tracer
from assistant.tracing.langfuse_options import LangfuseOptions
from assistant.tracing.langfuse_tracer import LangfuseTracer
from assistant.tracing.noop import NoopTracer
from assistant.tracing.ports import Tracer
from assistant.tracing.privacy import CapturePolicy, Pseudonymizer
from assistant.tracing.recording import RecordedTurn, RecordingTracer
from assistant.tracing.traced_llm import TracedLLM
from assistant.tracing.traced_retriever import TracedRetriever
from tests.fakes.otlp_receiver import FakeLangfuseReceiver, ReceivedSpan

pytestmark = pytest.mark.anyio

SALT = "contract-test-salt-0123456789"
RRN = "900101-1234567"
PHONE = "010-1234-5678"
CALLER = "+821055556666"
USER_TEXT = f"주민번호 {RRN}, 연락처 {PHONE} 로 여권 재발급 안내 부탁드려요"
STEPS = ("safety", "redaction", "routing", "rewrite", "retrieval", "generation", "verification")
PROMPT_VERSION = "3f2a9c1d"
_keys = itertools.count(1)


# --- scripted ports ----------------------------------------------------------------------------


class ScriptedLLM:
    """Answers every request with ``text`` and fixed usage; streams it word by word."""

    def __init__(
        self, text: str = "여권은 구청 민원실에서 재발급합니다 [1]", model: str = "qwen2.5-7b"
    ) -> None:
        self._text = text
        self._model = model
        self.calls = 0

    @property
    def model(self) -> str:
        return self._model

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        return Completion(self._text, self._model, "stop", Usage(prompt_tokens=42, completion_tokens=9))

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        self.calls += 1
        for word in self._text.split(" "):
            yield TokenDelta(word + " ")
        yield Completion(self._text, self._model, "stop", Usage(prompt_tokens=42, completion_tokens=9))

    async def health(self) -> LLMHealth:
        return LLMHealth(True, "scripted")


class InMemoryRetriever:
    def __init__(self, hits: Sequence[ScoredChunk]) -> None:
        self._hits = list(hits)
        self.queries: list[str] = []

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        self.queries.append(query)
        return self._hits[:k]


def _hit(n: int, score: float) -> ScoredChunk:
    chunk = Chunk(
        chunk_id=ChunkId(f"chunk-{n}"),
        document_id=DocumentId(f"doc-{n}"),
        ordinal=0,
        source="easylaw",
        title=f"여권 안내 {n}",
        section="재발급",
        text="여권 재발급은 ...",
    )
    return ScoredChunk(chunk, score)


HITS = [_hit(1, 0.91), _hit(2, 0.74), _hit(3, 0.52)]


def _request() -> ChatRequest:
    return ChatRequest(
        messages=(ChatMessage("system", "근거로만 답하세요"), ChatMessage("user", USER_TEXT)),
        max_tokens=128,
        metadata={"prompt_id": "answer", "prompt_version": PROMPT_VERSION},
    )


async def run_turn(
    tracer: Tracer, key: ConversationKey, *, user: str | None = CALLER, stream: bool = False
) -> str | None:
    """One turn through every step, the LLM and retriever wrapped as the composition root will."""
    llm = TracedLLM(ScriptedLLM(), tracer)
    retriever = TracedRetriever(InMemoryRetriever(HITS), tracer)
    async with tracer.turn("turn", conversation=key, user=user, input=USER_TEXT) as turn:
        with turn.span("safety", kind="guardrail", input=USER_TEXT) as span:
            span.annotate({"flags": []})
        with turn.span("redaction") as span:
            span.annotate({"found": ["rrn", "phone"]})
        with turn.span("routing") as span:
            span.annotate({"route": "answer"})
        with turn.span("rewrite", input=USER_TEXT) as span:
            span.set_output("여권 재발급 방법")
        await retriever.retrieve("여권 재발급 방법", k=3)
        if stream:
            async for _ in llm.stream(_request()):
                pass
        else:
            await llm.complete(_request())
        with turn.span("verification") as span:
            span.annotate({"verified": True, "citations": 1})
        turn.set_output(f"안내드립니다. 문의: {PHONE}")
        turn.annotate({"route": "answer", "action": "continue"})
        return turn.trace_id


# --- the wire ----------------------------------------------------------------------------------


@dataclass
class RecordingSpanExporter(SpanExporter):
    """Counts exports and the threads they run on (a flush runs on the caller's thread)."""

    def __post_init__(self) -> None:
        self.exports: list[tuple[str, int]] = []
        self.flushes = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        self.exports.append((threading.current_thread().name, len(spans)))
        return SpanExportResult.SUCCESS

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        self.flushes += 1
        return True

    def shutdown(self) -> None:
        return None


def _env(receiver: FakeLangfuseReceiver, **extra: str) -> dict[str, str]:
    return {
        "LANGFUSE_PUBLIC_KEY": f"pk-lf-contract-{next(_keys)}",
        "LANGFUSE_SECRET_KEY": "sk-lf-contract",
        "LANGFUSE_BASE_URL": receiver.base_url,
        **extra,
    }


@pytest.fixture
def receiver() -> Iterator[FakeLangfuseReceiver]:
    with FakeLangfuseReceiver() as running:
        yield running


def _langfuse(receiver: FakeLangfuseReceiver, **env: str) -> Tracer:
    tracer = build_tracer(_env(receiver, **env), redactor=PiiRedactor(), hash_salt=SALT)
    assert isinstance(tracer, LangfuseTracer)
    return tracer


def _tree(spans: Sequence[ReceivedSpan]) -> dict[str, str | None]:
    by_id = {span.span_id: span.name for span in spans}
    return {span.name: by_id.get(span.parent_span_id or "") for span in spans}


def _recorded_tree(turn: RecordedTurn) -> dict[str, str | None]:
    tree: dict[str, str | None] = {turn.root.name: None}

    def visit(parent: str, children: list[Any]) -> None:
        for child in children:
            tree[child.name] = parent
            visit(child.name, child.children)

    visit(turn.root.name, turn.root.children)
    return tree


def _all_text(spans: Sequence[ReceivedSpan]) -> str:
    return json.dumps([dict(span.attributes) for span in spans], ensure_ascii=False)


EXPECTED_TREE = {"turn": None, **{step: "turn" for step in STEPS}}


# --- contract ----------------------------------------------------------------------------------


async def test_a_turn_is_one_trace_with_every_step_as_a_child(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    trace_id = await run_turn(tracer, ConversationKey("web", "sess-1"))
    await tracer.aclose()

    spans = receiver.wait_for_spans(len(EXPECTED_TREE))
    assert _tree(spans) == EXPECTED_TREE
    assert {span.trace_id for span in spans} == {trace_id}
    root = next(span for span in spans if span.parent_span_id is None)
    assert root.attributes["langfuse.trace.name"] == "turn"
    assert root.json_attribute("langfuse.observation.metadata.route") == "answer"
    assert root.json_attribute("langfuse.observation.metadata.channel") == "web"
    assert {span.attributes["langfuse.observation.type"] for span in spans if span.name == "safety"} == {
        "guardrail"
    }
    assert all(span.scope == "langfuse-sdk" for span in spans)
    assert receiver.requests[0].headers["content-encoding"] == "gzip"
    assert receiver.requests[0].headers["authorization"].startswith("Basic ")


async def test_the_recording_tracer_builds_the_same_tree() -> None:
    tracer = RecordingTracer(PiiRedactor(), salt=SALT)
    await run_turn(tracer, ConversationKey("web", "sess-1"))
    [turn] = tracer.turns
    assert _recorded_tree(turn) == EXPECTED_TREE
    assert all(span.ended for span in turn.spans())


@pytest.mark.parametrize("stream", [False, True], ids=["complete", "stream"])
async def test_generation_carries_model_prompt_version_usage_and_latency(
    receiver: FakeLangfuseReceiver, stream: bool
) -> None:
    tracer = _langfuse(receiver)
    await run_turn(tracer, ConversationKey("web", "sess-2"), stream=stream)
    await tracer.aclose()

    spans = receiver.wait_for_spans(len(EXPECTED_TREE))
    assert _tree(spans) == EXPECTED_TREE
    generation = next(span for span in spans if span.name == "generation")
    attributes = generation.attributes
    assert attributes["langfuse.observation.type"] == "generation"
    assert attributes["langfuse.observation.model.name"] == "qwen2.5-7b"
    assert attributes["langfuse.version"] == PROMPT_VERSION
    assert generation.json_attribute("langfuse.observation.usage_details") == {"input": 42, "output": 9}
    assert generation.json_attribute("langfuse.observation.metadata.prompt_id") == "answer"
    assert generation.json_attribute("langfuse.observation.metadata.prompt_version") == PROMPT_VERSION
    assert generation.end_ns > generation.start_ns
    assert ("langfuse.observation.completion_start_time" in attributes) is stream
    retrieval = next(span for span in spans if span.name == "retrieval")
    assert retrieval.attributes["langfuse.observation.type"] == "retriever"
    assert retrieval.json_attribute("langfuse.observation.metadata.hits") == [
        {"chunk_id": f"chunk-{n}", "document_id": f"doc-{n}", "title": f"여권 안내 {n}", "score": score}
        for n, score in ((1, 0.91), (2, 0.74), (3, 0.52))
    ]


async def test_session_and_user_ids_are_keyed_hashes(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    key = ConversationKey("kakao", "kakao-user-key-abc")
    await run_turn(tracer, key, user="kakao-user-key-abc")
    await tracer.aclose()

    spans = receiver.wait_for_spans(len(EXPECTED_TREE))
    expected = Pseudonymizer(SALT)
    assert {span.attributes["session.id"] for span in spans} == {expected.session_id(key)}
    assert {span.attributes["user.id"] for span in spans} == {expected.user_id("kakao", "kakao-user-key-abc")}
    assert "kakao-user-key-abc" not in _all_text(spans)
    assert expected.session_id(key) != Pseudonymizer(SALT[::-1]).session_id(key)


async def test_captured_content_is_redacted_before_it_leaves(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    await run_turn(tracer, ConversationKey("web", "sess-3"))
    tracer.score("0" * 32, "helpful", 1.0, comment=f"상담원 메모: {PHONE}")
    await tracer.aclose()

    spans = receiver.wait_for_spans(len(EXPECTED_TREE))
    wire = _all_text(spans)
    assert RRN not in wire and "1234567" not in wire
    assert PHONE not in wire and "1234-5678" not in wire
    root = next(span for span in spans if span.parent_span_id is None)
    assert "[주민등록번호]" in root.attributes["langfuse.observation.input"]
    assert "[전화번호]" in root.attributes["langfuse.observation.output"]
    generation = next(span for span in spans if span.name == "generation")
    messages = generation.json_attribute("langfuse.observation.input")
    assert messages[1]["role"] == "user" and "[주민등록번호]" in messages[1]["content"]
    [score] = receiver.wait_for_scores(1)
    assert score["comment"] == "상담원 메모: [전화번호]"


async def test_phone_turns_export_structure_but_no_content(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    await run_turn(tracer, ConversationKey("phone", "CA0123456789abcdef"))
    await tracer.aclose()

    spans = receiver.wait_for_spans(len(EXPECTED_TREE))
    assert _tree(spans) == EXPECTED_TREE
    for span in spans:
        assert "langfuse.observation.input" not in span.attributes, span.name
        assert "langfuse.observation.output" not in span.attributes, span.name
    root = next(span for span in spans if span.parent_span_id is None)
    assert root.json_attribute("langfuse.observation.metadata.input_chars") == len(USER_TEXT)
    assert root.json_attribute("langfuse.observation.metadata.content_captured") is False
    generation = next(span for span in spans if span.name == "generation")
    assert generation.json_attribute("langfuse.observation.usage_details") == {"input": 42, "output": 9}
    assert generation.json_attribute("langfuse.observation.metadata.input_chars") > 0
    assert "여권" not in _all_text([s for s in spans if s.name != "retrieval"])


async def test_capture_can_be_configured_per_channel_and_per_turn(receiver: FakeLangfuseReceiver) -> None:
    options = LangfuseOptions.from_env(_env(receiver))
    assert options is not None
    tracer = LangfuseTracer(
        options,
        redactor=PiiRedactor(),
        pseudonymizer=Pseudonymizer(SALT),
        capture=CapturePolicy.of(["phone"]),
    )
    async with tracer.turn("turn", conversation=ConversationKey("web", "w"), input="웹 입력"):
        pass
    async with tracer.turn("turn", conversation=ConversationKey("phone", "p"), input="전화 입력"):
        pass
    async with tracer.turn(
        "turn", conversation=ConversationKey("phone", "p"), input="강제 비공개", capture_content=False
    ):
        pass
    await tracer.aclose()

    spans = receiver.wait_for_spans(3)
    inputs = [span.attributes.get("langfuse.observation.input") for span in spans]
    assert sorted(inputs, key=str) == sorted([None, "전화 입력", None], key=str)


async def test_every_turn_is_its_own_trace(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    ids = [await run_turn(tracer, ConversationKey("web", "same-session")) for _ in range(3)]
    await tracer.aclose()

    spans = receiver.wait_for_spans(3 * len(EXPECTED_TREE))
    assert len(set(ids)) == 3
    assert {span.trace_id for span in spans} == set(ids)
    assert len({span.attributes["session.id"] for span in spans}) == 1


async def test_a_failing_step_is_recorded_by_type_without_its_message(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver)
    with pytest.raises(ValueError, match=PHONE):
        async with tracer.turn("turn", conversation=ConversationKey("web", "f")) as turn:
            with turn.span("routing"):
                raise ValueError(f"bad input {PHONE}")
    await tracer.aclose()

    spans = receiver.wait_for_spans(2)
    routing = next(span for span in spans if span.name == "routing")
    assert routing.attributes["langfuse.observation.level"] == "ERROR"
    assert routing.attributes["langfuse.observation.status_message"] == "ValueError"
    assert PHONE not in _all_text(spans)
    assert all(not span.event_names for span in spans)


async def test_without_keys_tracing_is_a_noop(receiver: FakeLangfuseReceiver) -> None:
    tracer = build_tracer({"LANGFUSE_BASE_URL": receiver.base_url}, redactor=PiiRedactor(), hash_salt=None)
    assert isinstance(tracer, NoopTracer)
    assert await run_turn(tracer, ConversationKey("web", "n")) is None
    tracer.score("0" * 32, "helpful", 1.0)
    await tracer.aclose()
    assert receiver.requests == []


async def test_turns_never_export_or_flush_on_the_request_path(receiver: FakeLangfuseReceiver) -> None:
    options = LangfuseOptions.from_env(_env(receiver, LANGFUSE_FLUSH_AT="1", LANGFUSE_FLUSH_INTERVAL="0.01"))
    assert options is not None
    exporter = RecordingSpanExporter()
    tracer = LangfuseTracer(
        options, redactor=PiiRedactor(), pseudonymizer=Pseudonymizer(SALT), span_exporter=exporter
    )
    loop_thread = threading.current_thread().name
    for n in range(5):
        await run_turn(tracer, ConversationKey("web", f"s{n}"))
    assert exporter.flushes == 0
    assert all(thread != loop_thread for thread, _ in exporter.exports)

    await tracer.aclose()
    assert sum(count for _, count in exporter.exports) == 5 * len(EXPECTED_TREE)


async def test_a_hung_langfuse_does_not_slow_a_turn(receiver: FakeLangfuseReceiver) -> None:
    tracer = _langfuse(receiver, LANGFUSE_FLUSH_AT="1", LANGFUSE_FLUSH_INTERVAL="0.01", LANGFUSE_TIMEOUT="5")
    receiver.hold()
    started = time.perf_counter()
    for n in range(5):
        await run_turn(tracer, ConversationKey("web", f"h{n}"))
    elapsed = time.perf_counter() - started
    assert receiver.wait_for_arrivals(1) >= 1  # an export is stuck at the receiver meanwhile
    assert receiver.spans == []
    assert elapsed < 2.0, f"5 turns took {elapsed:.2f}s while Langfuse hung (timeout 5 s)"

    receiver.release()
    await tracer.aclose()
    receiver.wait_for_spans(5 * len(EXPECTED_TREE))


async def test_a_second_open_tracer_for_the_same_key_is_refused(receiver: FakeLangfuseReceiver) -> None:
    env = _env(receiver)
    first = build_tracer(env, redactor=PiiRedactor(), hash_salt=SALT)
    with pytest.raises(ConfigurationError, match="already open"):
        build_tracer(env, redactor=PiiRedactor(), hash_salt=SALT)
    await first.aclose()


async def test_a_closed_tracer_can_be_rebuilt_with_the_same_key(receiver: FakeLangfuseReceiver) -> None:
    env = _env(receiver)
    first = build_tracer(env, redactor=PiiRedactor(), hash_salt=SALT)
    await run_turn(first, ConversationKey("web", "a"))
    await first.aclose()
    second = build_tracer(env, redactor=PiiRedactor(), hash_salt=SALT)
    await run_turn(second, ConversationKey("web", "b"))
    await second.aclose()
    spans = receiver.wait_for_spans(2 * len(EXPECTED_TREE))
    assert len({span.trace_id for span in spans}) == 2
