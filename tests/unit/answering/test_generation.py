"""GroundedGenerator.complete: the whole answer is streamed and joined, and a deadline or a cancellation
closes the model's stream, which is what stops llama.cpp (tests/integration/test_abandoned_generation.py)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from assistant.answering.generation import AnswerPrompts, GenerationFailed, GroundedGenerator
from assistant.answering.turn import Turn
from assistant.core.errors import LLMUnavailable
from assistant.llm.ports import ChatRequest, Completion, TokenDelta
from assistant.llm.prompt_library import PromptLibrary
from tests.fakes.scripted_llm import Fails, Hangs, Says, ScriptedLLM, Step

pytestmark = pytest.mark.anyio

ANSWER = "주민센터 창구에서 등본을 떼면 1통에 400원이에요 [1]."


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


class StartSignalling(ScriptedLLM):
    """A ``ScriptedLLM`` that sets ``started`` once a stream has begun."""

    def __init__(self, *steps: Step) -> None:
        super().__init__(*steps)
        self.started = asyncio.Event()

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        self.started.set()
        async for item in super().stream(request):
            yield item


def generator(llm: ScriptedLLM, prompts: PromptLibrary) -> GroundedGenerator:
    return GroundedGenerator(
        llm, AnswerPrompts(text=prompts.get("grounded_answer"), spoken=prompts.get("spoken_answer"))
    )


def turn() -> Turn:
    return Turn(
        question="등본 수수료는?", spoken=False, timer=time.perf_counter, started=0, deadline=0, query=""
    )


async def test_complete_joins_the_streamed_answer_and_closes_the_stream(prompts: PromptLibrary) -> None:
    llm = ScriptedLLM(Says(ANSWER, piece_chars=4))
    current = turn()

    text = await generator(llm, prompts).complete(current, [], timedelta(seconds=5))

    assert text == ANSWER
    assert len(llm.streamed) > 1  # it came as a stream, not one completion
    assert llm.closed_streams == 1
    (request,) = llm.requests
    assert request.timeout == timedelta(seconds=5)
    assert current.prompt_version == request.metadata["prompt_version"]
    llm.assert_used_up()


async def test_the_deadline_closes_the_stream_so_the_model_can_stop(prompts: PromptLibrary) -> None:
    llm = ScriptedLLM(Hangs())
    started = time.monotonic()

    with pytest.raises(GenerationFailed) as failed:
        await generator(llm, prompts).complete(turn(), [], timedelta(milliseconds=50))

    assert failed.value.reason == "deadline"
    assert time.monotonic() - started < 1.0
    assert (llm.cancelled, llm.closed_streams) == (1, 1)


async def test_a_cancelled_caller_closes_the_stream_too(prompts: PromptLibrary) -> None:
    llm = StartSignalling(Hangs())
    task = asyncio.ensure_future(generator(llm, prompts).complete(turn(), [], timedelta(seconds=30)))
    await llm.started.wait()

    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task

    assert (llm.cancelled, llm.closed_streams) == (1, 1)


@pytest.mark.parametrize("after", ["", "주민센터 창구에서"])
async def test_a_model_error_is_a_generation_failure_and_partial_text_is_dropped(
    prompts: PromptLibrary, after: str
) -> None:
    llm = ScriptedLLM(Fails(LLMUnavailable("503"), after=after))

    with pytest.raises(GenerationFailed) as failed:
        await generator(llm, prompts).complete(turn(), [], timedelta(seconds=5))

    assert failed.value.reason == "llm_error:LLMUnavailable"
    assert llm.closed_streams == 1
