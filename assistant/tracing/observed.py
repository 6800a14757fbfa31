"""ObservedTracer: the tracer the app hands out. A tracing failure never reaches a turn, and every step's
duration and token usage reach a ``StepMeter`` (the Prometheus metrics) whether tracing is on or off.

Decisions:
- **Never fail a turn.** An exception raised by the inner tracer (opening or closing a turn or a span,
  recording into one, scoring, closing) is logged by type, counted as an error, and swallowed; the turn
  goes on with a no-op span in its place. Exceptions of the traced code itself pass through untouched.
- **One source of step names.** Metrics time the very spans the trace shows (``safety``, ``redaction``,
  ``routing``, ``rewrite``, ``retrieval``, ``generation``, ``verification``, ...), so the two cannot drift.
  With tracing off (``NoopTracer`` inside) ``current_turn`` still returns a turn, so ``TracedLLM`` and
  ``TracedRetriever`` keep opening (metered, unexported) spans.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AbstractContextManager, asynccontextmanager
from contextvars import ContextVar, Token
from types import TracebackType
from typing import Protocol

from assistant.core.events import ConversationKey
from assistant.tracing.noop import NoopSpan, NoopTurn
from assistant.tracing.ports import Metadata, SpanHandle, SpanKind, Tracer, TurnTrace

_log = logging.getLogger(__name__)


class StepMeter(Protocol):
    """Where step timings go (``assistant.app.metrics.Metrics`` satisfies it)."""

    def observe_step(self, step: str, seconds: float) -> None: ...

    def record_tokens(self, model: str, *, prompt: int, completion: int) -> None: ...

    def record_error(self, error: BaseException | str) -> None: ...


class _Guard:
    """Runs the inner tracer's calls; a failure is logged by type, counted, and swallowed."""

    def __init__(self, meter: StepMeter | None) -> None:
        self.meter = meter

    def failed(self, where: str, exc: BaseException) -> None:
        _log.warning("tracing failed in %s: %s (the turn goes on)", where, type(exc).__name__)
        self.count(f"tracing.{type(exc).__name__}")

    def count(self, error: str) -> None:
        if self.meter is None:
            return
        try:
            self.meter.record_error(error)
        except Exception as exc:  # metrics must not fail a turn either
            _log.warning("metrics failed: %s", type(exc).__name__)

    def meter_step(self, step: str, seconds: float, usage: tuple[str, int, int] | None) -> None:
        if self.meter is None:
            return
        try:
            self.meter.observe_step(step, seconds)
            if usage is not None:
                model, prompt, completion = usage
                self.meter.record_tokens(model, prompt=prompt, completion=completion)
        except Exception as exc:
            _log.warning("metrics failed: %s", type(exc).__name__)


class _ObservedSpan:
    """Delegates to the inner span, guarded; remembers the generation's model and usage for metrics."""

    def __init__(self, inner: SpanHandle, guard: _Guard) -> None:
        self._inner = inner
        self._guard = guard
        self.model: str | None = None
        self.prompt_tokens: int | None = None
        self.completion_tokens: int | None = None

    def set_output(self, output: object) -> None:
        try:
            self._inner.set_output(output)
        except Exception as exc:
            self._guard.failed("span.set_output", exc)

    def annotate(self, metadata: Metadata) -> None:
        try:
            self._inner.annotate(metadata)
        except Exception as exc:
            self._guard.failed("span.annotate", exc)

    def set_generation(
        self, *, model: str, prompt_tokens: int | None = None, completion_tokens: int | None = None
    ) -> None:
        self.model = model
        if prompt_tokens is not None:
            self.prompt_tokens = prompt_tokens
        if completion_tokens is not None:
            self.completion_tokens = completion_tokens
        try:
            self._inner.set_generation(
                model=model, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens
            )
        except Exception as exc:
            self._guard.failed("span.set_generation", exc)

    def mark_first_token(self) -> None:
        try:
            self._inner.mark_first_token()
        except Exception as exc:
            self._guard.failed("span.mark_first_token", exc)

    def usage(self) -> tuple[str, int, int] | None:
        if self.model is None or (self.prompt_tokens is None and self.completion_tokens is None):
            return None
        return self.model, self.prompt_tokens or 0, self.completion_tokens or 0


class _ObservedScope:
    """The context manager ``span()`` returns: times the step, opens and closes the inner span guarded."""

    def __init__(
        self, open_inner: Callable[[], AbstractContextManager[SpanHandle]], name: str, owner: ObservedTracer
    ) -> None:
        self._open_inner = open_inner
        self._name = name
        self._owner = owner
        self._inner: AbstractContextManager[SpanHandle] | None = None
        self._span: _ObservedSpan | None = None
        self._started = 0.0

    def __enter__(self) -> _ObservedSpan:
        guard = self._owner.guard
        handle: SpanHandle
        try:
            self._inner = self._open_inner()
            handle = self._inner.__enter__()
        except Exception as exc:
            guard.failed(f"span {self._name}", exc)
            self._inner, handle = None, NoopSpan()
        self._span = _ObservedSpan(handle, guard)
        self._started = self._owner.timer()
        return self._span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        seconds = self._owner.timer() - self._started
        guard = self._owner.guard
        if self._inner is not None:
            try:
                self._inner.__exit__(exc_type, exc, tb)
            except Exception as raised:
                if raised is not exc:
                    guard.failed(f"span {self._name}", raised)
        assert self._span is not None
        guard.meter_step(self._name, seconds, self._span.usage())


class _ObservedTurn:
    """The inner turn, guarded; its spans are metered."""

    def __init__(self, inner: TurnTrace, owner: ObservedTracer) -> None:
        self._inner = inner
        self._owner = owner

    @property
    def trace_id(self) -> str | None:
        try:
            return self._inner.trace_id
        except Exception as exc:
            self._owner.guard.failed("turn.trace_id", exc)
            return None

    @property
    def session_id(self) -> str:
        try:
            return self._inner.session_id
        except Exception as exc:
            self._owner.guard.failed("turn.session_id", exc)
            return ""

    @property
    def captures_content(self) -> bool:
        try:
            return self._inner.captures_content
        except Exception as exc:
            self._owner.guard.failed("turn.captures_content", exc)
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
    ) -> _ObservedScope:
        def open_inner() -> AbstractContextManager[SpanHandle]:
            return self._inner.span(
                name, kind=kind, input=input, metadata=metadata, version=version, current=current
            )

        return _ObservedScope(open_inner, name, self._owner)

    def set_output(self, output: object) -> None:
        try:
            self._inner.set_output(output)
        except Exception as exc:
            self._owner.guard.failed("turn.set_output", exc)

    def annotate(self, metadata: Metadata) -> None:
        try:
            self._inner.annotate(metadata)
        except Exception as exc:
            self._owner.guard.failed("turn.annotate", exc)


class ObservedTracer:
    """Wraps the process's tracer (see the module docstring). ``inner`` is the Langfuse or no-op tracer;
    ``meter`` receives step timings, token usage and tracing errors."""

    def __init__(
        self, inner: Tracer, meter: StepMeter | None = None, *, timer: Callable[[], float] = time.perf_counter
    ) -> None:
        self._inner = inner
        self.guard = _Guard(meter)
        self.timer = timer
        self._current: ContextVar[_ObservedTurn | None] = ContextVar("dasan_observed_turn", default=None)

    @property
    def inner(self) -> Tracer:
        return self._inner

    @asynccontextmanager
    async def turn(
        self,
        name: str,
        *,
        conversation: ConversationKey,
        user: str | None = None,
        capture_content: bool | None = None,
        input: object = None,
        metadata: Metadata | None = None,
    ) -> AsyncIterator[TurnTrace]:
        scope: AbstractAsyncContextManager[TurnTrace] | None = None
        inner: TurnTrace
        try:
            scope = self._inner.turn(
                name,
                conversation=conversation,
                user=user,
                capture_content=capture_content,
                input=input,
                metadata=metadata,
            )
            inner = await scope.__aenter__()
        except Exception as exc:
            self.guard.failed("turn", exc)
            scope, inner = None, NoopTurn()
        turn = _ObservedTurn(inner, self)
        token = self._current.set(turn)
        try:
            yield turn
        except BaseException as exc:
            _reset(self._current, token)
            await self._close(scope, exc)
            raise
        _reset(self._current, token)
        await self._close(scope, None)

    async def _close(
        self, scope: AbstractAsyncContextManager[TurnTrace] | None, exc: BaseException | None
    ) -> None:
        if scope is None:
            return
        try:
            if exc is None:
                await scope.__aexit__(None, None, None)
            else:
                await scope.__aexit__(type(exc), exc, exc.__traceback__)
        except Exception as raised:
            if raised is not exc:
                self.guard.failed("turn", raised)

    def current_turn(self) -> TurnTrace | None:
        return self._current.get()

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        try:
            self._inner.score(trace_id, name, value, comment)
        except Exception as exc:
            self.guard.failed("score", exc)

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except Exception as exc:
            self.guard.failed("aclose", exc)


def _reset(var: ContextVar[_ObservedTurn | None], token: Token[_ObservedTurn | None]) -> None:
    """Resets ``var``; a generator finalised from another context cannot, and needs not to."""
    try:
        var.reset(token)
    except ValueError:
        var.set(None)
