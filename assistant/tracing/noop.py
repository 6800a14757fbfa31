"""NoopTracer: tracing disabled (no Langfuse keys). Zero work, zero allocations per turn, zero errors."""

from __future__ import annotations

from types import TracebackType

from assistant.core.events import ConversationKey
from assistant.tracing.ports import Metadata, SpanKind, TurnTrace


class NoopSpan:
    """A span that records nothing; it is its own context manager (also the fallback of a failed span)."""

    def __enter__(self) -> NoopSpan:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    def set_output(self, output: object) -> None:
        return None

    def annotate(self, metadata: Metadata) -> None:
        return None

    def set_generation(
        self, *, model: str, prompt_tokens: int | None = None, completion_tokens: int | None = None
    ) -> None:
        return None

    def mark_first_token(self) -> None:
        return None


class NoopTurn:
    """A turn that records nothing; it is its own async context manager."""

    def __init__(self) -> None:
        self._span = NoopSpan()

    async def __aenter__(self) -> TurnTrace:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        return None

    @property
    def trace_id(self) -> str | None:
        return None

    @property
    def session_id(self) -> str:
        return ""

    @property
    def captures_content(self) -> bool:
        return False

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "span",
        input: object = None,
        metadata: Metadata | None = None,
        version: str | None = None,
        current: bool = True,
    ) -> NoopSpan:
        return self._span

    def set_output(self, output: object) -> None:
        return None

    def annotate(self, metadata: Metadata) -> None:
        return None


class NoopTracer:
    """The tracer when tracing is off. ``current_turn`` is always None, so wrappers only delegate."""

    def __init__(self) -> None:
        self._turn = NoopTurn()

    def turn(
        self,
        name: str,
        *,
        conversation: ConversationKey,
        user: str | None = None,
        capture_content: bool | None = None,
        input: object = None,
        metadata: Metadata | None = None,
    ) -> NoopTurn:
        return self._turn

    def current_turn(self) -> TurnTrace | None:
        return None

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        return None

    async def aclose(self) -> None:
        return None
