"""LangfuseTracer: turn traces exported to a self-hosted Langfuse over OTLP. The only module that
imports ``langfuse`` (and the OpenTelemetry SDK it runs on).

Spans are queued in memory and exported by the SDK's background ``BatchSpanProcessor`` thread: a turn
never waits on Langfuse, and a slow or absent Langfuse costs dropped spans, not latency. Only
``aclose`` (once, in the app's lifespan) flushes; it blocks up to ``LANGFUSE_TIMEOUT`` per batch, so it
runs in a worker thread.

Decisions:
- The tracer owns its OpenTelemetry ``TracerProvider`` instead of letting the SDK install a global
  one, so nothing else in the process is traced by accident and tests can build several tracers.
- The SDK keeps one client per public key in a process-wide registry. A second tracer with the same
  key would silently reuse the first one's exporter, so building it is refused while the first is
  open, and ``aclose`` removes the closed client from that registry.
- An exception leaving a span is recorded by type only; the SDK would otherwise export its message
  and stack trace, which can contain a citizen's words.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractContextManager, asynccontextmanager
from contextvars import ContextVar
from types import TracebackType
from typing import Any, Literal

from langfuse import Langfuse, propagate_attributes
from langfuse._client.resource_manager import LangfuseResourceManager
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter
from opentelemetry.sdk.trace.sampling import TraceIdRatioBased

from assistant.core.clock import Clock, SystemClock
from assistant.core.errors import ConfigurationError
from assistant.core.events import ConversationKey
from assistant.tracing.langfuse_options import LangfuseOptions
from assistant.tracing.ports import Metadata, SpanKind, TextRedactor, TurnTrace
from assistant.tracing.privacy import CapturePolicy, ContentFilter, Pseudonymizer

_Level = Literal["DEBUG", "DEFAULT", "WARNING", "ERROR"]


def _failure(exc: BaseException) -> tuple[_Level, str]:
    """How an exception leaving a span is recorded: its type only (messages can carry PII)."""
    level: _Level = "ERROR" if isinstance(exc, Exception) else "WARNING"
    return level, type(exc).__name__


class _LangfuseSpan:
    """Collects what a step records and writes it to its observation once, when the step ends."""

    def __init__(self, observation: Any, content: ContentFilter, clock: Clock) -> None:
        self._observation = observation
        self._content = content
        self._clock = clock
        self._update: dict[str, Any] = {}
        self._metadata: dict[str, object] = {}

    def set_output(self, output: object) -> None:
        exported, sizes = self._content.content("output", output)
        if exported is not None:
            self._update["output"] = exported
        self._metadata.update(sizes)

    def annotate(self, metadata: Metadata) -> None:
        self._metadata.update(self._content.metadata(metadata))

    def set_generation(
        self, *, model: str, prompt_tokens: int | None = None, completion_tokens: int | None = None
    ) -> None:
        self._update["model"] = model
        usage = {
            key: count
            for key, count in (("input", prompt_tokens), ("output", completion_tokens))
            if count is not None
        }
        if usage:
            self._update["usage_details"] = usage

    def mark_first_token(self) -> None:
        self._update.setdefault("completion_start_time", self._clock.now())

    def finish(self, exc: BaseException | None) -> None:
        if exc is not None:
            self._update["level"], self._update["status_message"] = _failure(exc)
        if self._metadata:
            self._update["metadata"] = self._metadata
        if self._update:
            self._observation.update(**self._update)


class _SpanScope:
    """The context manager ``span()`` returns: opens the observation, finishes it, never leaks messages."""

    def __init__(self, turn: _LangfuseTurn, name: str, options: dict[str, Any], current: bool) -> None:
        self._turn = turn
        self._name = name
        self._options = options
        self._current = current
        self._scope: AbstractContextManager[Any] | None = None
        self._observation: Any = None
        self._span: _LangfuseSpan | None = None

    def __enter__(self) -> _LangfuseSpan:
        client = self._turn.client
        if self._current:
            self._scope = client.start_as_current_observation(name=self._name, **self._options)
            self._observation = self._scope.__enter__()
        else:
            self._observation = client.start_observation(name=self._name, **self._options)
        self._span = _LangfuseSpan(self._observation, self._turn.content, self._turn.clock)
        return self._span

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._span is not None
        self._span.finish(exc)
        if self._scope is not None:
            self._scope.__exit__(None, None, None)
        else:
            self._observation.end()


class _LangfuseTurn:
    """One open turn: its root observation and its privacy rules."""

    def __init__(
        self, client: Langfuse, root: Any, content: ContentFilter, session_id: str, clock: Clock
    ) -> None:
        self.client = client
        self.content = content
        self.clock = clock
        self._root = _LangfuseSpan(root, content, clock)
        self._trace_id: str = root.trace_id
        self._session_id = session_id

    @property
    def trace_id(self) -> str | None:
        return self._trace_id

    @property
    def session_id(self) -> str:
        return self._session_id

    @property
    def captures_content(self) -> bool:
        return self.content.capture

    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "span",
        input: object = None,
        metadata: Metadata | None = None,
        version: str | None = None,
        current: bool = True,
    ) -> _SpanScope:
        exported, sizes = self.content.content("input", input)
        structure = {**self.content.metadata(metadata), **sizes}
        options: dict[str, Any] = {"as_type": kind}
        if exported is not None:
            options["input"] = exported
        if structure:
            options["metadata"] = structure
        if version is not None:
            options["version"] = version
        return _SpanScope(self, name, options, current)

    def set_output(self, output: object) -> None:
        self._root.set_output(output)

    def annotate(self, metadata: Metadata) -> None:
        self._root.annotate(metadata)

    def finish(self, exc: BaseException | None) -> None:
        self._root.finish(exc)


class LangfuseTracer:
    """Traces turns to Langfuse. Build it with ``build_tracer``; close it once with ``aclose``.

    ``span_exporter`` replaces the OTLP exporter (tests count exports and flushes with it).
    """

    def __init__(
        self,
        options: LangfuseOptions,
        *,
        redactor: TextRedactor,
        pseudonymizer: Pseudonymizer,
        capture: CapturePolicy | None = None,
        clock: Clock | None = None,
        span_exporter: SpanExporter | None = None,
    ) -> None:
        if options.public_key in LangfuseResourceManager._instances:
            raise ConfigurationError(
                "a Langfuse tracer for this LANGFUSE_PUBLIC_KEY is already open in this process; "
                "close it (aclose) before building another"
            )
        self._options = options
        self._redactor = redactor
        self._pseudonymizer = pseudonymizer
        self._capture = capture or CapturePolicy()
        self._clock = clock or SystemClock()
        sampler = TraceIdRatioBased(options.sample_rate) if options.sample_rate < 1.0 else None
        self._provider = TracerProvider(sampler=sampler)
        self._client = Langfuse(
            public_key=options.public_key,
            secret_key=options.secret_key,
            base_url=options.base_url,
            timeout=options.timeout_s,
            flush_at=options.flush_at,
            flush_interval=options.flush_interval_s,
            environment=options.environment,
            release=options.release,
            sample_rate=options.sample_rate,
            tracer_provider=self._provider,
            span_exporter=span_exporter,
            media_upload_thread_count=1,
        )
        self._current: ContextVar[_LangfuseTurn | None] = ContextVar("dasan_langfuse_turn", default=None)
        self._closed = False

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
        channel = conversation.channel
        capture = self._capture.captures(channel) if capture_content is None else capture_content
        content = ContentFilter(self._redactor, capture=capture)
        session_id = self._pseudonymizer.session_id(conversation)
        user_id = self._pseudonymizer.user_id(channel, user) if user else None
        exported, sizes = content.content("input", input)
        structure = {"channel": channel, "content_captured": capture, **content.metadata(metadata), **sizes}
        error: BaseException | None = None
        with (
            self._client.start_as_current_observation(
                name=name, as_type="span", input=exported, metadata=structure
            ) as root,
            propagate_attributes(
                session_id=session_id,
                user_id=user_id,
                trace_name=name,
                tags=[channel],
                metadata={"channel": channel},
            ),
        ):
            turn = _LangfuseTurn(self._client, root, content, session_id, self._clock)
            token = self._current.set(turn)
            try:
                yield turn
            except BaseException as exc:  # recorded by type, re-raised outside the span
                error = exc
            finally:
                turn.finish(error)
                try:
                    self._current.reset(token)
                except ValueError:  # a generator finalised from another context: nothing to restore
                    self._current.set(None)
        if error is not None:
            raise error

    def current_turn(self) -> TurnTrace | None:
        return self._current.get()

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        note = self._redactor.redact_text(comment) if comment else None
        if isinstance(value, str):
            self._client.create_score(
                name=name, value=value, trace_id=trace_id, data_type="CATEGORICAL", comment=note
            )
        else:
            self._client.create_score(
                name=name,
                value=float(value),
                trace_id=trace_id,
                data_type="BOOLEAN" if isinstance(value, bool) else "NUMERIC",
                comment=note,
            )

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    def _shutdown(self) -> None:
        self._client.shutdown()
        self._provider.shutdown()
        registry = LangfuseResourceManager._instances
        with LangfuseResourceManager._lock:
            if registry.get(self._options.public_key) is self._client._resources:
                del registry[self._options.public_key]
