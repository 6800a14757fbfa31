"""The LLM port and its request/response types (ours, not the vendor's)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

Role = Literal["system", "user", "assistant"]


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: Role
    content: str


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One chat completion. ``json_schema`` asks for structured output (vLLM guided decoding,
    llama.cpp grammar) via the OpenAI ``response_format`` json_schema form. ``timeout`` bounds the
    whole call including retries (the deadline)."""

    messages: tuple[ChatMessage, ...]
    max_tokens: int = 512
    temperature: float = 0.0
    stop: tuple[str, ...] = ()
    json_schema: Mapping[str, Any] | None = None
    schema_name: str = "output"
    timeout: timedelta = timedelta(seconds=30)
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Completion:
    """The final result of a completion or a stream."""

    text: str
    model: str
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)


@dataclass(frozen=True, slots=True)
class TokenDelta:
    """A piece of streamed text."""

    text: str


@dataclass(frozen=True, slots=True)
class LLMHealth:
    ok: bool
    detail: str


class LLMClient(Protocol):
    """A chat model behind an OpenAI-compatible API. Errors are ``assistant.core.errors.LLMError``."""

    @property
    def model(self) -> str: ...

    async def complete(self, request: ChatRequest) -> Completion: ...

    def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        """Yields deltas, then exactly one ``Completion`` (with usage when the server reports it)."""
        ...

    async def health(self) -> LLMHealth: ...
