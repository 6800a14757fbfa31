"""OpenAICompatLLM: the one adapter for OpenAI-compatible chat servers (vLLM, llama_cpp.server)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self, assert_never

import httpx2
import openai
from openai.types.chat import ChatCompletionChunk, ChatCompletionMessageParam
from openai.types.completion_usage import CompletionUsage

from assistant.core.errors import (
    LLMBadRequest,
    LLMContextLength,
    LLMError,
    LLMStreamInterrupted,
    LLMTimeout,
    LLMUnavailable,
)
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMHealth, TokenDelta, Usage

_CONTEXT_LENGTH_MARKERS = (
    "maximum context length",  # vLLM: "This model's maximum context length is 4096 tokens. However, ..."
    "context window",  # llama_cpp.server: "Requested tokens (5000) exceed context window of 512"
    "context size",  # llama.cpp's own server: "the request exceeds the available context size"
    "context_length_exceeded",  # the OpenAI error code
)
_MAX_DETAIL = 300

JsonSchemaStyle = Literal["json_schema", "json_object"]
"""How a schema is asked for: OpenAI's ``{"type": "json_schema", "json_schema": {...}}`` (vLLM, llama.cpp's
own server) or ``{"type": "json_object", "schema": {...}}`` (llama-cpp-python's server, which answers
HTTP 500 to the json_schema form as of 0.3.36)."""


class OpenAICompatLLM:
    """Talks to one OpenAI-compatible server through the official ``openai`` SDK.

    ``base_url`` ends in ``/v1``. ``timeout`` caps one HTTP attempt (and each wait for a stream chunk);
    the request's own ``ChatRequest.timeout`` caps it further, so a retrying wrapper can shrink it to
    what is left of its deadline. The SDK's retries are off: retries live in ``ResilientLLM``. With an
    empty ``model`` the first id that ``/v1/models`` lists is used (looked up once). Streams ask for
    usage (``stream_options.include_usage``); a server that ignores it (llama-cpp-python) yields a final
    ``Completion`` with zero usage.
    """

    def __init__(
        self,
        *,
        base_url: str,
        model: str,
        api_key: str | None,
        timeout: timedelta,
        connect_timeout: timedelta,
        http_client: httpx2.AsyncClient | None = None,
        json_schema_style: JsonSchemaStyle = "json_schema",
    ) -> None:
        self._base_url = base_url.rstrip("/")
        self._json_schema_style = json_schema_style
        self._model = model
        self._timeout = timeout
        self._connect_timeout = connect_timeout
        self._owns_http = http_client is None
        self._http = http_client or httpx2.AsyncClient(
            timeout=httpx2.Timeout(timeout.total_seconds(), connect=connect_timeout.total_seconds())
        )
        # vLLM and llama_cpp.server ignore the key unless started with one; the SDK insists on a value.
        self._sdk = openai.AsyncOpenAI(
            base_url=self._base_url, api_key=api_key or "EMPTY", max_retries=0, http_client=self._http
        )
        self._model_lock = asyncio.Lock()

    @property
    def model(self) -> str:
        """The configured or discovered model id ('' until discovery has run)."""
        return self._model

    async def complete(self, request: ChatRequest) -> Completion:
        budget = self._budget(request)
        try:
            async with asyncio.timeout(budget.total_seconds()):
                model = await self._resolve_model()
                response = await self._sdk.chat.completions.create(
                    **self._arguments(request, model), timeout=self._http_timeout(budget)
                )
        except TimeoutError as exc:
            raise LLMTimeout(f"no completion within {budget.total_seconds():.3g}s") from exc
        except openai.OpenAIError as exc:
            raise translate_error(exc) from exc
        except httpx2.HTTPError as exc:
            raise LLMUnavailable(f"transport failed: {type(exc).__name__}") from exc
        if not response.choices:
            raise LLMUnavailable("the server returned no choices")
        choice = response.choices[0]
        return Completion(
            text=choice.message.content or "",
            model=response.model or model,
            finish_reason=choice.finish_reason,
            usage=_usage(response.usage),
        )

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        budget = self._budget(request)
        deadline = asyncio.get_running_loop().time() + budget.total_seconds()
        try:
            async with asyncio.timeout_at(deadline):
                model = await self._resolve_model()
                chunks = await self._sdk.chat.completions.create(
                    **self._arguments(request, model),
                    stream=True,
                    stream_options={"include_usage": True},
                    timeout=self._http_timeout(budget),
                )
        except TimeoutError as exc:
            raise LLMTimeout(f"no stream within {budget.total_seconds():.3g}s") from exc
        except openai.OpenAIError as exc:
            raise translate_error(exc) from exc
        except httpx2.HTTPError as exc:
            raise LLMUnavailable(f"transport failed: {type(exc).__name__}") from exc

        parts: list[str] = []
        finish_reason: str | None = None
        usage = Usage()
        served_by = model
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        chunk: ChatCompletionChunk = await anext(chunks)
                except StopAsyncIteration:
                    break
                served_by = chunk.model or served_by
                if chunk.usage is not None:
                    usage = _usage(chunk.usage)
                for choice in chunk.choices[:1]:
                    finish_reason = choice.finish_reason or finish_reason
                    piece = choice.delta.content
                    if piece:
                        parts.append(piece)
                        yield TokenDelta(piece)
        except TimeoutError as exc:
            raise LLMTimeout(f"stream did not finish within {budget.total_seconds():.3g}s") from exc
        except openai.OpenAIError as exc:
            raise _interrupted(translate_error(exc)) from exc
        except httpx2.HTTPError as exc:
            raise LLMStreamInterrupted(f"stream broke: {type(exc).__name__}") from exc
        finally:
            await chunks.close()
        if finish_reason is None:
            raise LLMStreamInterrupted("the stream ended without a finish_reason")
        yield Completion(text="".join(parts), model=served_by, finish_reason=finish_reason, usage=usage)

    async def health(self) -> LLMHealth:
        """``GET /health`` (vLLM); where that is missing (llama_cpp.server), ``GET /v1/models``."""
        root = self._base_url.removesuffix("/v1")
        timeout = self._http_timeout(self._timeout)
        try:
            response = await self._http.get(f"{root}/health", timeout=timeout)
            if response.status_code == 200:
                return LLMHealth(ok=True, detail=f"{root}/health: ok")
            if response.status_code not in (404, 405):
                return LLMHealth(ok=False, detail=f"{root}/health: HTTP {response.status_code}")
            response = await self._http.get(f"{self._base_url}/models", timeout=timeout)
            payload = response.json() if response.status_code == 200 else None
        except httpx2.HTTPError as exc:
            return LLMHealth(ok=False, detail=f"{root}: {type(exc).__name__}")
        except ValueError:
            return LLMHealth(ok=False, detail=f"{self._base_url}/models: not JSON")
        if response.status_code != 200:
            return LLMHealth(ok=False, detail=f"{self._base_url}/models: HTTP {response.status_code}")
        ids = _model_ids(payload)
        if not ids:
            return LLMHealth(ok=False, detail=f"{self._base_url}/models: no models")
        return LLMHealth(ok=True, detail=f"{self._base_url}/models: {', '.join(ids)}")

    async def aclose(self) -> None:
        """Close the HTTP client if this adapter created it."""
        if self._owns_http:
            await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    def _budget(self, request: ChatRequest) -> timedelta:
        return min(self._timeout, request.timeout)

    def _http_timeout(self, budget: timedelta) -> httpx2.Timeout:
        seconds = budget.total_seconds()
        return httpx2.Timeout(seconds, connect=min(seconds, self._connect_timeout.total_seconds()))

    async def _resolve_model(self) -> str:
        if self._model:
            return self._model
        async with self._model_lock:
            if not self._model:
                page = await self._sdk.models.list()
                if not page.data:
                    raise LLMUnavailable("the server lists no models", retryable=False)
                self._model = page.data[0].id
        return self._model

    def _arguments(self, request: ChatRequest, model: str) -> dict[str, Any]:
        messages = [_message(m) for m in request.messages]
        arguments: dict[str, Any] = {
            "model": model,
            "messages": messages,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            arguments["stop"] = list(request.stop)
        if request.json_schema is not None:
            arguments["response_format"] = self._response_format(request.schema_name, request.json_schema)
        return arguments

    def _response_format(self, name: str, schema: Mapping[str, Any]) -> dict[str, Any]:
        match self._json_schema_style:
            case "json_schema":
                return {
                    "type": "json_schema",
                    "json_schema": {"name": name, "schema": dict(schema), "strict": True},
                }
            case "json_object":
                return {"type": "json_object", "schema": dict(schema)}
            case unknown:
                assert_never(unknown)


def translate_error(exc: openai.OpenAIError) -> LLMError:
    """Map an SDK exception to ours; timeouts, connection failures, 408, 429 and 5xx are retryable."""
    match exc:
        case openai.APITimeoutError():
            return LLMTimeout("the LLM server did not answer in time")
        case openai.APIConnectionError():
            return LLMUnavailable(f"cannot reach the LLM server: {_cause(exc)}")
        case openai.APIStatusError(status_code=status):
            detail = _server_message(exc)
            if 400 <= status < 500 and _is_context_length(detail, exc.body):
                return LLMContextLength(detail)
            if status == 408:
                return LLMTimeout(f"HTTP 408: {detail}")
            if status == 429:
                return LLMUnavailable(f"HTTP 429: {detail}", retry_after=_retry_after(exc.response))
            if status >= 500:
                return LLMUnavailable(f"HTTP {status}: {detail}")
            return LLMBadRequest(f"HTTP {status}: {detail}", status=status)
        case openai.APIError():
            # An error event inside a 200 stream: the server failed while generating.
            detail = _server_message(exc)
            if _is_context_length(detail, exc.body):
                return LLMContextLength(detail)
            code = exc.body.get("code") if isinstance(exc.body, Mapping) else None
            if isinstance(code, int) and 400 <= code < 500:
                return LLMBadRequest(detail, status=code)
            return LLMUnavailable(f"the server reported an error: {detail}")
        case _:
            return LLMError(f"{type(exc).__name__}: {str(exc)[:_MAX_DETAIL]}")


def _message(message: ChatMessage) -> ChatCompletionMessageParam:
    match message.role:
        case "system":
            return {"role": "system", "content": message.content}
        case "user":
            return {"role": "user", "content": message.content}
        case "assistant":
            return {"role": "assistant", "content": message.content}
        case unknown:
            assert_never(unknown)


def _interrupted(error: LLMError) -> LLMError:
    """A connection or timeout failure while reading a stream breaks the stream."""
    if type(error) is LLMUnavailable:
        return LLMStreamInterrupted(f"stream broke: {error}")
    return error


def _server_message(exc: openai.APIError) -> str:
    body = exc.body
    if isinstance(body, Mapping):
        message = body.get("message")
        if isinstance(message, str) and message:
            return message[:_MAX_DETAIL]
    return exc.message[:_MAX_DETAIL]


def _is_context_length(message: str, body: object) -> bool:
    text = message.lower()
    if isinstance(body, Mapping):
        text += " " + str(body.get("code", "")).lower()
    return any(marker in text for marker in _CONTEXT_LENGTH_MARKERS)


def _retry_after(response: httpx2.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    try:
        seconds = float(value) if value is not None else None
    except ValueError:
        return None  # an HTTP-date: rare for model servers; fall back to our own backoff
    return timedelta(seconds=seconds) if seconds is not None and seconds >= 0 else None


def _cause(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return type(cause).__name__ if cause is not None else type(exc).__name__


def _usage(usage: CompletionUsage | None) -> Usage:
    if usage is None:
        return Usage()
    return Usage(prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0)


def _model_ids(payload: object) -> list[str]:
    if not isinstance(payload, Mapping):
        return []
    data = payload.get("data")
    if not isinstance(data, list):
        return []
    return [str(item["id"]) for item in data if isinstance(item, Mapping) and "id" in item]
