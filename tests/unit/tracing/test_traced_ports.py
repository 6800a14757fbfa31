"""TracedLLM and TracedRetriever record into the current turn, and only delegate outside one."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping

import pytest

from assistant.core.errors import LLMTimeout
from assistant.core.events import ConversationKey
from assistant.core.knowledge import Chunk, ChunkId, DocumentId, ScoredChunk
from assistant.dialogue.pii import PiiRedactor
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMHealth, TokenDelta, Usage
from assistant.retrieval.ports import SearchMode
from assistant.tracing.noop import NoopTracer
from assistant.tracing.recording import RecordingTracer
from assistant.tracing.traced_llm import TracedLLM
from assistant.tracing.traced_retriever import TracedRetriever

pytestmark = pytest.mark.anyio

WEB = ConversationKey("web", "s1")
PHONE = ConversationKey("phone", "CA1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class ScriptedLLM:
    """Replays ``completions`` (or raises ``error``); counts calls."""

    def __init__(self, *completions: Completion, error: Exception | None = None) -> None:
        self._completions = list(completions)
        self._error = error
        self.calls = 0

    @property
    def model(self) -> str:
        return "configured-model"

    async def complete(self, request: ChatRequest) -> Completion:
        self.calls += 1
        if self._error is not None:
            raise self._error
        return self._completions.pop(0)

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        self.calls += 1
        completion = self._completions.pop(0)
        for word in completion.text.split():
            yield TokenDelta(word)
        if self._error is not None:
            raise self._error
        yield completion

    async def health(self) -> LLMHealth:
        return LLMHealth(True, "ok")


class InMemoryRetriever:
    def __init__(self, hits: list[ScoredChunk]) -> None:
        self._hits = hits

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        return self._hits[:k]


def _request(**metadata: str) -> ChatRequest:
    return ChatRequest(
        messages=(ChatMessage("user", "제 번호 010-1234-5678 로 연락주세요"),),
        metadata={"prompt_id": "answer", "prompt_version": "v1", **metadata},
    )


def _hit(n: int) -> ScoredChunk:
    chunk = Chunk(ChunkId(f"c{n}"), DocumentId(f"d{n}"), 0, "src", f"제목 {n}", "", "본문")
    return ScoredChunk(chunk, 1.0 / n)


ANSWER = Completion("답변입니다", "served-model", "stop", Usage(prompt_tokens=11, completion_tokens=3))


async def test_a_completion_is_a_generation_with_model_prompt_and_usage() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(ANSWER), tracer)
    async with tracer.turn("turn", conversation=WEB):
        assert await llm.complete(_request()) == ANSWER
    generation = tracer.turns[0].find("generation")
    assert generation.kind == "generation"
    assert (generation.model, generation.prompt_tokens, generation.completion_tokens) == (
        "served-model",
        11,
        3,
    )
    assert generation.version == "v1"
    assert generation.metadata["prompt_id"] == "answer"
    assert generation.metadata["finish_reason"] == "stop"
    assert generation.input == [{"role": "user", "content": "제 번호 [전화번호] 로 연락주세요"}]
    assert generation.output == "답변입니다"
    assert not generation.first_token


async def test_a_stream_marks_the_first_token_and_records_the_final_usage() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(ANSWER), tracer)
    async with tracer.turn("turn", conversation=WEB):
        items = [item async for item in llm.stream(_request(step="rewrite"))]
    assert items[-1] == ANSWER
    rewrite = tracer.turns[0].find("rewrite")
    assert rewrite.first_token and rewrite.ended
    assert (rewrite.model, rewrite.prompt_tokens, rewrite.completion_tokens) == ("served-model", 11, 3)
    assert rewrite.metadata["stream"] is True


async def test_unreported_usage_is_left_unset_and_the_configured_model_kept_until_known() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(Completion("답", "served-model")), tracer)
    async with tracer.turn("turn", conversation=WEB):
        await llm.complete(_request())
    generation = tracer.turns[0].find("generation")
    assert (generation.prompt_tokens, generation.completion_tokens) == (None, None)
    assert generation.model == "served-model"


async def test_a_failed_call_is_recorded_by_type_and_raised() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(error=LLMTimeout("deadline")), tracer)
    with pytest.raises(LLMTimeout):
        async with tracer.turn("turn", conversation=WEB):
            await llm.complete(_request())
    turn = tracer.turns[0]
    assert turn.find("generation").error == "LLMTimeout"
    assert turn.find("generation").model == "configured-model"
    assert turn.root.error == "LLMTimeout"


async def test_phone_turns_keep_sizes_not_words() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(ANSWER), tracer)
    async with tracer.turn("turn", conversation=PHONE):
        await llm.complete(_request())
    generation = tracer.turns[0].find("generation")
    assert generation.input is None and generation.output is None
    assert generation.metadata["input_chars"] == len("user") + len("제 번호 010-1234-5678 로 연락주세요")
    assert generation.metadata["output_chars"] == len("답변입니다")


async def test_retrieval_records_the_query_and_top_hits() -> None:
    tracer = RecordingTracer(PiiRedactor())
    retriever = TracedRetriever(InMemoryRetriever([_hit(n) for n in range(1, 8)]), tracer, top=2)
    async with tracer.turn("turn", conversation=WEB):
        hits = await retriever.retrieve("여권 재발급", k=6, filters={"source": "easylaw"}, mode="hybrid")
    assert len(hits) == 6
    retrieval = tracer.turns[0].find("retrieval")
    assert retrieval.kind == "retriever"
    assert retrieval.input == "여권 재발급"
    assert retrieval.metadata["k"] == 6 and retrieval.metadata["mode"] == "hybrid"
    assert retrieval.metadata["filters"] == {"source": "easylaw"}
    assert retrieval.metadata["hit_count"] == 6
    assert retrieval.metadata["hits"] == [
        {"chunk_id": "c1", "document_id": "d1", "title": "제목 1", "score": 1.0},
        {"chunk_id": "c2", "document_id": "d2", "title": "제목 2", "score": 0.5},
    ]


async def test_steps_nest_under_the_span_that_is_current() -> None:
    tracer = RecordingTracer(PiiRedactor())
    llm = TracedLLM(ScriptedLLM(ANSWER, ANSWER), tracer)
    async with tracer.turn("turn", conversation=WEB) as turn:
        with turn.span("rewrite"):
            await llm.complete(_request())
        async for _ in llm.stream(_request()):
            pass
    [rewrite, generation] = tracer.turns[0].root.children
    assert rewrite.name == "rewrite" and [c.name for c in rewrite.children] == ["generation"]
    assert generation.name == "generation" and generation.children == []


async def test_outside_a_turn_the_wrappers_only_delegate() -> None:
    tracer = RecordingTracer(PiiRedactor())
    inner = ScriptedLLM(ANSWER, ANSWER)
    llm = TracedLLM(inner, tracer)
    assert await llm.complete(_request()) == ANSWER
    assert [item async for item in llm.stream(_request())][-1] == ANSWER
    assert await TracedRetriever(InMemoryRetriever([_hit(1)]), tracer).retrieve("q") == [_hit(1)]
    assert inner.calls == 2 and tracer.turns == []
    assert llm.model == "configured-model" and (await llm.health()).ok


async def test_the_noop_tracer_does_nothing_and_never_fails() -> None:
    tracer = NoopTracer()
    inner = ScriptedLLM(ANSWER, ANSWER)
    llm = TracedLLM(inner, tracer)
    async with tracer.turn("turn", conversation=PHONE, user="+821012345678", input="x") as turn:
        assert tracer.current_turn() is None
        assert turn.trace_id is None and not turn.captures_content
        with turn.span("safety", input="x", metadata={"a": 1}) as span:
            span.set_output("y")
            span.annotate({"b": 2})
            span.set_generation(model="m", prompt_tokens=1, completion_tokens=2)
            span.mark_first_token()
        assert await llm.complete(_request()) == ANSWER
        assert [item async for item in llm.stream(_request())][-1] == ANSWER
        turn.set_output("done")
        turn.annotate({"route": "answer"})
    tracer.score("t", "helpful", 1.0, "comment")
    await tracer.aclose()
    assert inner.calls == 2
    assert tracer.turn("t", conversation=WEB) is tracer.turn("u", conversation=PHONE)  # nothing allocated


async def test_scores_are_recorded_with_redacted_comments() -> None:
    tracer = RecordingTracer(PiiRedactor())
    async with tracer.turn("turn", conversation=WEB) as turn:
        trace_id = turn.trace_id
    assert trace_id is not None
    tracer.score(trace_id, "copilot_helpful", 0.0, comment="고객 010-1234-5678 불만")
    assert tracer.scores[0].comment == "고객 [전화번호] 불만"
    assert tracer.scores[0].trace_id == trace_id
