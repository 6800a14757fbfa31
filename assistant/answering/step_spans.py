"""The answer pipeline's own steps as spans of the current turn trace: ``rewrite`` and ``verification``.

Retrieval and generation are traced by the wrapped ports (``TracedRetriever``, ``TracedLLM``); these
are the steps only the pipeline knows. Without a tracer or outside a turn nothing is recorded.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, ExitStack

from assistant.answering.answer import Answer
from assistant.tracing.noop import NoopSpan
from assistant.tracing.ports import Metadata, SpanHandle, Tracer


def step_span(
    tracer: Tracer | None, name: str, *, input: object = None, metadata: Metadata | None = None
) -> AbstractContextManager[SpanHandle]:
    """A span of the current turn, or a no-op one."""
    turn = tracer.current_turn() if tracer is not None else None
    if turn is None:
        return NoopSpan()
    return turn.span(name, input=input, metadata=metadata)


class VerificationSpan:
    """The verification phase of one answer: opened at the first sentence check (or, when nothing was
    generated, at the end), closed with the answer. It records how many generated sentences were
    checked, kept and dropped (the first one that fails ends the generation), how many extractive
    sentences completed the answer, the answer's mode and why it fell back, and the time spent
    checking. In a stream, checks run as sentences arrive, so the span overlaps the generation.

    It never becomes the current span (``current=False``): the pipeline's stream is an async
    generator, resumed wherever its consumer runs."""

    def __init__(self, tracer: Tracer | None) -> None:
        self._turn = tracer.current_turn() if tracer is not None else None
        self._stack = ExitStack()
        self._span: SpanHandle | None = None
        self.checked = 0
        self.kept = 0

    def checking(self) -> None:
        """A sentence is about to be checked."""
        self._open()
        self.checked += 1

    def check_passed(self) -> None:
        self.kept += 1

    def finish(self, answer: Answer, *, extractive: int, verify_ms: float) -> None:
        """Records the outcome and closes the span."""
        span = self._open()
        if span is not None:
            span.annotate(
                {
                    "checked": self.checked,
                    "kept": self.kept,
                    "dropped": self.checked - self.kept,
                    "extractive": extractive,
                    "mode": answer.mode,
                    "fallback_reason": reason_kind(answer.fallback_reason),
                    "verify_ms": round(verify_ms, 1),
                    "citations": len(answer.citations),
                }
            )
        self.close()

    def close(self) -> None:
        """Closes the span (also when the answer failed; then only what was checked is recorded)."""
        self._stack.close()

    def _open(self) -> SpanHandle | None:
        if self._turn is not None and self._span is None:
            self._span = self._stack.enter_context(
                self._turn.span("verification", kind="guardrail", current=False)
            )
        return self._span


def reason_kind(reason: str | None) -> str | None:
    """A fallback reason's kind (``unsupported``, ``no_answer``, ...): its details can quote the
    generated text, and metadata is exported even on channels that do not capture content."""
    return reason.split(":", 1)[0].strip() if reason else None
