"""FakeOpenAIServer: a scripted stand-in for vLLM's OpenAI-compatible server on a real 127.0.0.1 socket.

The wire format follows vLLM's documented OpenAI-compatible server
(https://docs.vllm.ai/en/latest/serving/openai_compatible_server.html) and the OpenAI Chat Completions
API reference it mirrors:

- ``POST /v1/chat/completions`` answers a ``chat.completion`` object with ``usage``. With
  ``"stream": true`` it answers Server-Sent Events: ``data: {chat.completion.chunk}`` lines, the first
  carrying ``delta.role``, then one ``delta.content`` per token, the last content chunk carrying
  ``finish_reason``; with ``stream_options.include_usage`` every chunk has ``"usage": null`` and one more
  chunk with empty ``choices`` carries the usage; then ``data: [DONE]``.
- Errors use vLLM's shape ``{"object": "error", "message": ..., "type": ..., "param": null, "code": N}``;
  an unknown ``model`` gets 404 as on vLLM, and ``max_model_len`` (when set) rejects prompt + max_tokens
  that do not fit with vLLM's context-length message.
- ``GET /v1/models`` lists the one served model; ``GET /health`` answers 200 (set ``health_status`` to 404
  to look like ``llama_cpp.server``, which has no /health).

Tokens are whitespace-separated words (each keeps its trailing whitespace), for streaming and for usage.

Chat completions follow a script: a queue of behaviours (``Reply``, ``JsonReply``, ``ErrorReply``) that
the test sets up with ``script(...)``; each request takes the next one. With the queue empty the server
answers at once with ``default_text`` (or, when the request asks for a JSON schema, a minimal instance
of it): the fast mode for throughput benchmarks. Every request is recorded in ``requests``.

Usage::

    with FakeOpenAIServer(model="qwen") as server:
        server.script(ErrorReply.unavailable(), Reply("안녕하세요", token_delay=timedelta(milliseconds=5)))
        llm = OpenAICompatLLM(base_url=server.base_url, ...)
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import re
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

_NO_DELAY = timedelta(0)
_TOKEN = re.compile(r"\S+\s*|\s+")


@dataclass(frozen=True, slots=True)
class Reply:
    """Answer ``text``. ``delay`` passes before the response starts (a slow server; it ends early if the
    client disconnects); ``token_delay`` passes between streamed tokens; ``drop_after`` closes the
    connection after that many content chunks of a stream, with no finish_reason and no ``[DONE]``.
    ``finish_reason=None`` makes a malformed stream that ends cleanly but never says why it stopped."""

    text: str
    finish_reason: str | None = "stop"
    delay: timedelta = _NO_DELAY
    token_delay: timedelta = _NO_DELAY
    drop_after: int | None = None


@dataclass(frozen=True, slots=True)
class JsonReply:
    """Answer ``value`` as JSON text; with ``value=None``, a minimal instance of the request's schema."""

    value: object = None
    delay: timedelta = _NO_DELAY
    token_delay: timedelta = _NO_DELAY


@dataclass(frozen=True, slots=True)
class ErrorReply:
    """Answer an HTTP error in vLLM's error shape."""

    status: int
    message: str
    type: str
    delay: timedelta = _NO_DELAY
    retry_after: timedelta | None = None

    @classmethod
    def context_length(cls, *, max_model_len: int = 4096, requested: int = 5000) -> ErrorReply:
        return cls(400, _context_length_message(max_model_len, requested), "BadRequestError")

    @classmethod
    def unavailable(cls, message: str = "The engine is overloaded. Try again later.") -> ErrorReply:
        return cls(503, message, "ServiceUnavailableError")

    @classmethod
    def rate_limited(cls, retry_after: timedelta | None = None) -> ErrorReply:
        return cls(429, "Too many requests", "RateLimitError", retry_after=retry_after)

    @classmethod
    def bad_request(cls, message: str = "Invalid request") -> ErrorReply:
        return cls(400, message, "BadRequestError")


Behaviour = Reply | JsonReply | ErrorReply


@dataclass(frozen=True, slots=True)
class RecordedRequest:
    method: str
    path: str
    headers: Mapping[str, str]
    body: Mapping[str, Any] | None = None
    received_at: float = field(default=0.0, compare=False)


class _DropConnection(Exception):
    """Raised inside a streaming body so uvicorn closes the socket mid-response."""


class _HideDrops(logging.Filter):
    """Keeps uvicorn from logging a traceback for every connection dropped on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], _DropConnection))


class FakeOpenAIServer:
    """A real HTTP server in a background thread; use it as a context manager. See the module docstring."""

    def __init__(
        self,
        *,
        model: str = "fake-vllm-model",
        default_text: str = "네, 안내해 드리겠습니다.",
        max_model_len: int | None = None,
        health_status: int = 200,
        default_token_delay: timedelta = _NO_DELAY,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.model = model
        self.default_text = default_text
        self.default_token_delay = default_token_delay
        self.max_model_len = max_model_len
        self.health_status = health_status
        self._defaults = (default_text, max_model_len, health_status)
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._script: deque[Behaviour] = deque()
        self._requests: list[RecordedRequest] = []
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._log_filter = _HideDrops()

    # -- lifecycle ---------------------------------------------------------------------------------------

    def start(self) -> None:
        """Bind and listen at once (connections queue until uvicorn accepts them), then serve in a thread."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, self._port))
        sock.listen(128)
        config = uvicorn.Config(
            self._app(),
            lifespan="off",
            log_config=None,
            log_level=None,
            access_log=False,
            timeout_graceful_shutdown=2,
        )
        self._socket = sock
        logging.getLogger("uvicorn.error").addFilter(self._log_filter)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="fake-openai-server", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)
        if self._socket is not None:
            self._socket.close()
        logging.getLogger("uvicorn.error").removeFilter(self._log_filter)
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._socket is None:
            raise RuntimeError("the server is not running")
        return int(self._socket.getsockname()[1])

    @property
    def root_url(self) -> str:
        return f"http://{self._host}:{self.port}"

    @property
    def base_url(self) -> str:
        """The OpenAI base URL, ending in ``/v1``."""
        return f"{self.root_url}/v1"

    # -- script and records ------------------------------------------------------------------------------

    def script(self, *behaviours: Behaviour) -> None:
        """Queue behaviours for the next chat completion requests, in order."""
        with self._lock:
            self._script.extend(behaviours)

    @property
    def pending(self) -> int:
        """Scripted behaviours not used yet."""
        with self._lock:
            return len(self._script)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[Mapping[str, Any]]:
        """Bodies of the chat completion requests received, oldest first."""
        return [r.body for r in self.requests if r.path == "/v1/chat/completions" and r.body is not None]

    def reset(self) -> None:
        """Forget the script and the recorded requests; restore the defaults given to the constructor."""
        with self._lock:
            self._script.clear()
            self._requests.clear()
        self.default_text, self.max_model_len, self.health_status = self._defaults

    def _next(self) -> Behaviour | None:
        with self._lock:
            return self._script.popleft() if self._script else None

    def _record(self, request: Request, body: Mapping[str, Any] | None) -> None:
        recorded = RecordedRequest(
            request.method, request.url.path, dict(request.headers), body, time.monotonic()
        )
        with self._lock:
            self._requests.append(recorded)

    # -- the ASGI app ------------------------------------------------------------------------------------

    def _app(self) -> Starlette:
        return Starlette(
            routes=[
                Route("/v1/chat/completions", self._chat, methods=["POST"]),
                Route("/v1/models", self._models, methods=["GET"]),
                Route("/health", self._health, methods=["GET"]),
            ]
        )

    async def _health(self, request: Request) -> Response:
        self._record(request, None)
        if self.health_status == 404:
            return JSONResponse({"detail": "Not Found"}, status_code=404)
        return Response(status_code=self.health_status)

    async def _models(self, request: Request) -> Response:
        self._record(request, None)
        card = {
            "id": self.model,
            "object": "model",
            "created": int(time.time()),
            "owned_by": "vllm",
            "root": self.model,
            "parent": None,
            "max_model_len": self.max_model_len or 4096,
        }
        return JSONResponse({"object": "list", "data": [card]})

    async def _chat(self, request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _error(ErrorReply.bad_request("body is not JSON"))
        self._record(request, body)
        if body.get("model") != self.model:
            message = f"The model `{body.get('model')}` does not exist."
            return _error(ErrorReply(404, message, "NotFoundError"))
        prompt_tokens = sum(len(_tokens(str(m.get("content", "")))) for m in body.get("messages", []))
        limit = body.get("max_tokens") or body.get("max_completion_tokens")
        max_tokens = int(limit) if limit is not None else None
        requested = prompt_tokens + (max_tokens or 0)
        if self.max_model_len is not None and requested > self.max_model_len:
            return _error(ErrorReply.context_length(max_model_len=self.max_model_len, requested=requested))
        behaviour = self._next() or self._default(body)
        if behaviour.delay > _NO_DELAY and await _client_left_during(request, behaviour.delay):
            return Response(status_code=499)
        match behaviour:
            case ErrorReply():
                return _error(behaviour)
            case JsonReply(value=value):
                if value is None:
                    value = example_for_schema(_requested_schema(body) or {"type": "object"})
                text = json.dumps(value, ensure_ascii=False)
                reply = Reply(text, delay=behaviour.delay, token_delay=behaviour.token_delay)
            case Reply():
                reply = behaviour
        pieces = _tokens(reply.text)
        finish_reason = reply.finish_reason
        if max_tokens is not None and len(pieces) > max_tokens:
            pieces, finish_reason = pieces[:max_tokens], "length"
        usage = {
            "prompt_tokens": prompt_tokens,
            "total_tokens": prompt_tokens + len(pieces),
            "completion_tokens": len(pieces),
        }
        answer = _Answer(self.model, pieces, finish_reason, usage)
        if not body.get("stream"):
            return JSONResponse(answer.completion())
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        events = answer.events(include_usage=include_usage, reply=reply)
        return StreamingResponse(events, media_type="text/event-stream")

    def _default(self, body: Mapping[str, Any]) -> Behaviour:
        if _requested_schema(body) is not None:
            return JsonReply()
        return Reply(self.default_text, token_delay=self.default_token_delay)


def _tokens(text: str) -> list[str]:
    return _TOKEN.findall(text)


def _context_length_message(max_model_len: int, requested: int) -> str:
    return (
        f"This model's maximum context length is {max_model_len} tokens. However, you requested "
        f"{requested} tokens in the messages, Please reduce the length of the messages."
    )


def _error(reply: ErrorReply) -> Response:
    body = {
        "object": "error",
        "message": reply.message,
        "type": reply.type,
        "param": None,
        "code": reply.status,
    }
    headers = {}
    if reply.retry_after is not None:
        headers["retry-after"] = f"{reply.retry_after.total_seconds():g}"
    return JSONResponse(body, status_code=reply.status, headers=headers)


async def _client_left_during(request: Request, delay: timedelta) -> bool:
    """Wait ``delay``; return early (True) if the client disconnects meanwhile."""
    try:
        async with asyncio.timeout(delay.total_seconds()):
            while (await request.receive())["type"] != "http.disconnect":
                pass
    except TimeoutError:
        return False
    return True


def _requested_schema(body: Mapping[str, Any]) -> Mapping[str, Any] | None:
    fmt = body.get("response_format") or {}
    if fmt.get("type") == "json_schema":
        schema = (fmt.get("json_schema") or {}).get("schema")
        return schema if isinstance(schema, Mapping) else {}
    if fmt.get("type") == "json_object":  # llama-cpp-python's form carries the schema beside the type
        schema = fmt.get("schema")
        return schema if isinstance(schema, Mapping) else {"type": "object"}
    return None


@dataclass(frozen=True, slots=True)
class _Answer:
    """One generated answer, rendered as a ``chat.completion`` or as ``chat.completion.chunk`` events."""

    model: str
    pieces: Sequence[str]
    finish_reason: str | None
    usage: Mapping[str, int]
    id: str = field(default_factory=lambda: f"chatcmpl-{uuid.uuid4().hex}")
    created: int = field(default_factory=lambda: int(time.time()))

    def _envelope(self, kind: str) -> dict[str, Any]:
        return {"id": self.id, "object": kind, "created": self.created, "model": self.model}

    def completion(self) -> dict[str, Any]:
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": "".join(self.pieces), "tool_calls": []},
            "logprobs": None,
            "finish_reason": self.finish_reason,
            "stop_reason": None,
        }
        return {**self._envelope("chat.completion"), "choices": [choice], "usage": self.usage}

    async def events(self, *, include_usage: bool, reply: Reply) -> AsyncIterator[str]:
        def chunk(delta: Mapping[str, str], finish: str | None) -> str:
            choice = {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}
            payload = {**self._envelope("chat.completion.chunk"), "choices": [choice]}
            if include_usage:
                payload["usage"] = None
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        yield chunk({"role": "assistant", "content": ""}, None)
        last = len(self.pieces) - 1
        for index, piece in enumerate(self.pieces):
            if reply.drop_after is not None and index >= reply.drop_after:
                raise _DropConnection
            if index and reply.token_delay > _NO_DELAY:
                await asyncio.sleep(reply.token_delay.total_seconds())
            yield chunk({"content": piece}, self.finish_reason if index == last else None)
        if not self.pieces:
            yield chunk({"content": ""}, self.finish_reason)
        if include_usage:
            final = {**self._envelope("chat.completion.chunk"), "choices": [], "usage": self.usage}
            yield f"data: {json.dumps(final)}\n\n"
        yield "data: [DONE]\n\n"


def example_for_schema(schema: Mapping[str, Any], root: Mapping[str, Any] | None = None) -> object:
    """A minimal JSON value that satisfies ``schema`` (the common subset guided decoding supports):
    const, enum, $ref to $defs, anyOf/oneOf/allOf, object (every property), array (``minItems`` or one
    item), string, integer, number, boolean, null."""
    root = root or schema
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "$ref" in schema:
        target: Any = root
        for part in str(schema["$ref"]).removeprefix("#/").split("/"):
            target = target[part]
        return example_for_schema(target, root)
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_for_schema(schema[key][0], root)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    match kind:
        case "object":
            properties = schema.get("properties", {})
            return {name: example_for_schema(sub, root) for name, sub in properties.items()}
        case "array":
            count = max(int(schema.get("minItems", 1)), 0)
            if "maxItems" in schema:
                count = min(count, int(schema["maxItems"]))
            return [example_for_schema(schema.get("items", {}), root) for _ in range(count)]
        case "string":
            return "예시" * max(1, -(-int(schema.get("minLength", 0)) // 2))
        case "integer":
            return int(schema.get("minimum", 0))
        case "number":
            return float(schema.get("minimum", 0))
        case "boolean":
            return True
        case _:
            return None


def main() -> None:
    """Serve the fast mode in this process until interrupted (for load benchmarks)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--port", type=int, default=8001)
    parser.add_argument("--model", default="fake-vllm-model")
    parser.add_argument("--text", default="네, 안내해 드리겠습니다.")
    parser.add_argument("--token-delay-ms", type=float, default=0.0)
    args = parser.parse_args()
    server = FakeOpenAIServer(
        model=args.model,
        default_text=args.text,
        default_token_delay=timedelta(milliseconds=args.token_delay_ms),
        port=args.port,
    )
    with server:
        print(f"fake vLLM serving {args.model} at {server.base_url}", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()


if __name__ == "__main__":
    main()
