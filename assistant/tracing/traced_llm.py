"""TracedLLM: an ``LLMClient`` that records each call as a generation of the current turn trace."""

from __future__ import annotations

from collections.abc import AsyncIterator

from assistant.llm.ports import ChatRequest, Completion, LLMClient, LLMHealth, TokenDelta
from assistant.tracing.ports import SpanHandle, Tracer

DEFAULT_STEP = "generation"


class TracedLLM:
    """Wraps an ``LLMClient``. Inside a turn, each ``complete``/``stream`` becomes a ``generation``
    observation: model, prompt id and version (``ChatRequest.metadata["prompt_id"/"prompt_version"]``,
    which rendered prompts always set), token usage, latency and, for streams, time to first token.
    The span is named by ``metadata["step"]`` (default ``generation``), so a rewrite call can read as
    ``rewrite``; ``step`` names every call of this client that sets none (the composition root gives
    the rewriter's and the verifier's clients their own names). Messages and the answer are content:
    redacted, or omitted on channels that do not capture. Outside a turn it only delegates."""

    def __init__(self, inner: LLMClient, tracer: Tracer, *, step: str = DEFAULT_STEP) -> None:
        self._inner = inner
        self._tracer = tracer
        self._step = step

    @property
    def model(self) -> str:
        return self._inner.model

    async def complete(self, request: ChatRequest) -> Completion:
        turn = self._tracer.current_turn()
        if turn is None:
            return await self._inner.complete(request)
        with turn.span(
            request.metadata.get("step") or self._step,
            kind="generation",
            input=_messages(request),
            metadata=_request_metadata(request),
            version=request.metadata.get("prompt_version"),
        ) as span:
            span.set_generation(model=self._inner.model)
            completion = await self._inner.complete(request)
            _record(span, completion)
            return completion

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        turn = self._tracer.current_turn()
        if turn is None:
            async for item in self._inner.stream(request):
                yield item
            return
        # current=False: this generator may be resumed or closed from another context
        with turn.span(
            request.metadata.get("step") or self._step,
            kind="generation",
            input=_messages(request),
            metadata={**_request_metadata(request), "stream": True},
            version=request.metadata.get("prompt_version"),
            current=False,
        ) as span:
            span.set_generation(model=self._inner.model)
            first = True
            async for item in self._inner.stream(request):
                if isinstance(item, Completion):
                    _record(span, item)
                elif first:
                    span.mark_first_token()
                    first = False
                yield item

    async def health(self) -> LLMHealth:
        return await self._inner.health()


def _messages(request: ChatRequest) -> list[dict[str, str]]:
    return [{"role": message.role, "content": message.content} for message in request.messages]


def _request_metadata(request: ChatRequest) -> dict[str, object]:
    metadata: dict[str, object] = {
        "prompt_id": request.metadata.get("prompt_id"),
        "prompt_version": request.metadata.get("prompt_version"),
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "messages": len(request.messages),
    }
    if request.json_schema is not None:
        metadata["schema"] = request.schema_name
    return metadata


def _record(span: SpanHandle, completion: Completion) -> None:
    usage = completion.usage
    reported = usage.prompt_tokens > 0 or usage.completion_tokens > 0
    span.set_generation(
        model=completion.model,
        prompt_tokens=usage.prompt_tokens if reported else None,
        completion_tokens=usage.completion_tokens if reported else None,
    )
    span.set_output(completion.text)
    span.annotate({"finish_reason": completion.finish_reason})
