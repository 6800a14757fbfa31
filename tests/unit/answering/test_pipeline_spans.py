"""The answer pipeline's steps in the current turn trace: retrieval and generation from the wrapped ports,
``rewrite`` and ``verification`` from the pipeline itself (checked, kept, dropped, mode), and nothing
at all outside a turn."""

from __future__ import annotations

from datetime import timedelta

import pytest

from assistant.answering.answer import Answer, AnswerDelta, HistoryTurn
from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.context import ContextPacker
from assistant.answering.extractive import ExtractiveAnswerer
from assistant.answering.generation import AnswerPrompts, GroundedGenerator
from assistant.answering.pipeline import AnswerPipeline, AnswerPolicy
from assistant.answering.rewrite import QueryRewriter
from assistant.answering.text import KoreanText
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.core.events import ConversationKey
from assistant.dialogue.pii import PiiRedactor
from assistant.llm.prompt_library import PromptLibrary
from assistant.tracing.recording import RecordedTurn, RecordingTracer
from assistant.tracing.traced_llm import TracedLLM
from assistant.tracing.traced_retriever import TracedRetriever
from tests.fakes.scripted_llm import Says, ScriptedLLM
from tests.unit.answering.conftest import InMemoryRetriever

pytestmark = pytest.mark.anyio

QUESTION = "주민센터에서 등본 떼면 수수료가 얼마예요?"
GOOD = "주민센터 창구에서 등본을 떼면 1통에 400원이에요 [1]."
BAD = "인터넷으로 떼면 1통에 100원이에요 [1]."
DEADLINE = timedelta(seconds=30)
WEB = ConversationKey("web", "s1")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def tracer() -> RecordingTracer:
    return RecordingTracer(PiiRedactor())


def build(
    tracer: RecordingTracer,
    text: KoreanText,
    prompts: PromptLibrary,
    retriever: InMemoryRetriever,
    llm: ScriptedLLM,
    rewrite_llm: ScriptedLLM | None = None,
) -> AnswerPipeline:
    """As ``build_answer_pipeline`` wires it: the ports wrapped, the tracer given to the pipeline."""
    return AnswerPipeline(
        retriever=TracedRetriever(retriever, tracer),
        text=text,
        confidence=RetrievalConfidence(text, ConfidencePolicy()),
        packer=ContextPacker(token_budget=1200, max_sources=5),
        verifier=SentenceVerifier(text, VerifierPolicy()),
        extractive=ExtractiveAnswerer(text),
        rewriter=QueryRewriter(
            text,
            llm=TracedLLM(rewrite_llm, tracer, step="rewrite_llm") if rewrite_llm else None,
            prompt=prompts.get("query_rewrite") if rewrite_llm else None,
        ),
        generator=GroundedGenerator(
            TracedLLM(llm, tracer),
            AnswerPrompts(text=prompts.get("grounded_answer"), spoken=prompts.get("spoken_answer")),
        ),
        policy=AnswerPolicy(top_k=5, verify_reserve=timedelta(0)),
        tracer=tracer,
    )


def children(turn: RecordedTurn) -> list[str]:
    return [span.name for span in turn.root.children]


async def test_a_verified_answer_traces_retrieval_generation_and_verification(
    tracer: RecordingTracer, text: KoreanText, prompts: PromptLibrary, retriever: InMemoryRetriever
) -> None:
    pipeline = build(tracer, text, prompts, retriever, ScriptedLLM(Says(GOOD), model="qwen-7b"))
    async with tracer.turn("turn", conversation=WEB):
        answer = await pipeline.answer(QUESTION, deadline=DEADLINE)

    assert answer.mode == "llm"
    (turn,) = tracer.turns
    assert children(turn) == ["retrieval", "generation", "verification"]
    assert turn.find("retrieval").metadata["hits"][0]["chunk_id"] == "chunk-office"
    generation = turn.find("generation")
    assert generation.model == "qwen-7b" and generation.version == answer.prompt_version
    assert generation.metadata["prompt_id"] == "grounded_answer"
    verification = turn.find("verification")
    assert verification.kind == "guardrail" and verification.ended
    assert {k: verification.metadata[k] for k in ("checked", "kept", "dropped", "extractive", "mode")} == {
        "checked": 1,
        "kept": 1,
        "dropped": 0,
        "extractive": 0,
        "mode": "llm",
    }
    assert verification.metadata["fallback_reason"] is None


async def test_a_stream_records_the_dropped_sentence_and_the_extractive_completion(
    tracer: RecordingTracer, text: KoreanText, prompts: PromptLibrary, retriever: InMemoryRetriever
) -> None:
    llm = ScriptedLLM(Says(f"{GOOD} {BAD} 이 문장은 보여지면 안 돼요 [1]."))
    pipeline = build(tracer, text, prompts, retriever, llm)
    async with tracer.turn("turn", conversation=WEB):
        items = [item async for item in pipeline.stream(QUESTION, deadline=DEADLINE)]

    final = items[-1]
    assert isinstance(final, Answer) and final.mode == "extractive"
    assert final.text == "".join(item.text for item in items if isinstance(item, AnswerDelta))
    (turn,) = tracer.turns
    assert children(turn) == ["retrieval", "generation", "verification"]
    assert turn.find("generation").first_token
    verification = turn.find("verification").metadata
    assert (verification["checked"], verification["kept"], verification["dropped"]) == (2, 1, 1)
    assert verification["mode"] == "extractive" and verification["fallback_reason"] == "unsupported"
    assert verification["extractive"] >= 1
    assert "100원" not in str(verification)  # the reason's details quote the model: kind only


async def test_a_follow_up_traces_the_rewrite_and_its_model_call_inside_it(
    tracer: RecordingTracer, text: KoreanText, prompts: PromptLibrary, retriever: InMemoryRetriever
) -> None:
    rewrite = ScriptedLLM(Says('{"query": "기초연금 신청 장소"}'))
    answer_llm = ScriptedLLM(Says("기초연금은 주소지 주민센터나 국민연금공단 지사에서 신청할 수 있어요 [1]."))
    pipeline = build(tracer, text, prompts, retriever, answer_llm, rewrite_llm=rewrite)
    history = (
        HistoryTurn("user", "기초연금은 누가 받을 수 있어요?"),
        HistoryTurn("assistant", "어르신이요 [1]."),
    )
    async with tracer.turn("turn", conversation=WEB):
        await pipeline.answer("그럼 신청은 어디서 해요?", history=history, deadline=DEADLINE)

    (turn,) = tracer.turns
    assert children(turn) == ["rewrite", "retrieval", "generation", "verification"]
    step = turn.find("rewrite")
    assert step.input == "그럼 신청은 어디서 해요?" and step.output == "기초연금 신청 장소"
    assert step.metadata["by"] == "llm" and step.metadata["prompt_version"]
    assert [child.name for child in step.children] == ["rewrite_llm"]
    assert step.children[0].kind == "generation"


async def test_outside_a_turn_nothing_is_recorded(
    tracer: RecordingTracer, text: KoreanText, prompts: PromptLibrary, retriever: InMemoryRetriever
) -> None:
    answer = await build(tracer, text, prompts, retriever, ScriptedLLM(Says(GOOD))).answer(
        QUESTION, deadline=DEADLINE
    )
    assert answer.mode == "llm" and tracer.turns == []
