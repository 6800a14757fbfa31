"""The tracing port: a turn trace with step spans, in our own types (no vendor SDK types).

One ``Tracer.turn`` is one trace: the user's turn from input to reply. Inside it, ``TurnTrace.span``
opens a step (safety, redaction, routing, rewrite, retrieval, generation, verification) as a child of
whatever span is current, so nesting follows the code. Spans carry:

- ``input``/``output``: *content* (user text, prompts, answers, queries). Exported only when the turn
  captures content, and then only after PII redaction; otherwise omitted, and only their size is kept.
- ``metadata``: structure (ids, counts, flags, scores, timings). Always exported; string values are
  redacted too, so a stray phone number in metadata never leaves the process.

``Tracer.current_turn()`` is how port wrappers (``TracedLLM``, ``TracedRetriever``) find the active
turn; outside a turn, or with tracing disabled, it is ``None`` and they only delegate.
"""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import AbstractAsyncContextManager, AbstractContextManager
from typing import Literal, Protocol

from assistant.core.events import ConversationKey

SpanKind = Literal["span", "generation", "retriever", "guardrail"]
"""What a step is: Langfuse shows generations with model and usage, retrievers and guardrails apart."""

Metadata = Mapping[str, object]
"""JSON-able structure: str, int, float, bool, None, and lists or mappings of those."""


class TextRedactor(Protocol):
    """Replaces PII in text (``assistant.dialogue.pii.PiiRedactor`` is the implementation)."""

    def redact_text(self, text: str) -> str: ...


class SpanHandle(Protocol):
    """An open step. Everything it records is filtered by the turn's privacy rules."""

    def set_output(self, output: object) -> None:
        """The step's result (content: redacted, or omitted with only its size kept)."""
        ...

    def annotate(self, metadata: Metadata) -> None:
        """Adds structural metadata (merged with what the step opened with)."""
        ...

    def set_generation(
        self, *, model: str, prompt_tokens: int | None = None, completion_tokens: int | None = None
    ) -> None:
        """Model and token usage of a ``generation`` step."""
        ...

    def mark_first_token(self) -> None:
        """The first streamed token arrived (time to first token of a ``generation``)."""
        ...


class TurnTrace(Protocol):
    """One traced turn. Use its spans only from the task that opened the turn (or tasks it spawned)."""

    @property
    def trace_id(self) -> str | None:
        """The trace's id (for ``Tracer.score``); None when tracing is disabled."""
        ...

    @property
    def session_id(self) -> str:
        """The pseudonymous session id the trace carries (a keyed hash of the conversation key)."""
        ...

    @property
    def captures_content(self) -> bool: ...

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "span",
        input: object = None,
        metadata: Metadata | None = None,
        version: str | None = None,
        current: bool = True,
    ) -> AbstractContextManager[SpanHandle]:
        """Opens a step as a child of the current span; an exception leaving it marks it failed
        (by exception type only: messages can hold PII) and propagates. ``current=False`` makes a
        span that does not become the parent of spans opened inside it: use it in async generators,
        whose steps may be resumed from another context."""
        ...

    def set_output(self, output: object) -> None:
        """The turn's final reply (content)."""
        ...

    def annotate(self, metadata: Metadata) -> None:
        """Structural facts about the whole turn (route, action, abstained, handoff)."""
        ...


class Tracer(Protocol):
    """Starts turn traces and records feedback scores. Export happens in the background: nothing here
    waits on the tracing backend except ``aclose``, which the app calls once, at shutdown."""

    def turn(
        self,
        name: str,
        *,
        conversation: ConversationKey,
        user: str | None = None,
        capture_content: bool | None = None,
        input: object = None,
        metadata: Metadata | None = None,
    ) -> AbstractAsyncContextManager[TurnTrace]:
        """Opens a turn (a new trace). ``conversation`` becomes the session id and ``user`` (the
        channel's user id: a Kakao user key, a caller's number) the user id, both as keyed hashes; the
        channel is exported as is. ``capture_content`` None follows the channel's configured policy."""
        ...

    def current_turn(self) -> TurnTrace | None:
        """The turn open in this context, or None (always None when tracing is disabled)."""
        ...

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        """Attaches a score (copilot feedback, an eval verdict) to a trace; ``comment`` is redacted."""
        ...

    async def aclose(self) -> None:
        """Exports what is pending and stops background work; blocks up to the export timeout."""
        ...
