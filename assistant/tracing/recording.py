"""RecordingTracer: an in-process tracer that keeps turn trees in memory, for tests of traced code.

It applies the same privacy rules as ``LangfuseTracer`` (keyed-hash ids, per-channel capture,
redaction), so a dialogue test can assert what a trace would carry without an SDK or a receiver.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from assistant.core.events import Channel, ConversationKey
from assistant.tracing.ports import Metadata, SpanKind, TextRedactor, TurnTrace
from assistant.tracing.privacy import CapturePolicy, ContentFilter, Pseudonymizer


@dataclass
class RecordedSpan:
    """One step as it would be exported (after the privacy rules)."""

    name: str
    kind: SpanKind
    input: object = None
    output: object = None
    metadata: dict[str, object] = field(default_factory=dict)
    version: str | None = None
    model: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    first_token: bool = False
    error: str | None = None
    ended: bool = False
    children: list[RecordedSpan] = field(default_factory=list)

    def walk(self) -> Iterator[RecordedSpan]:
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class RecordedTurn:
    """One turn trace: its root span plus the pseudonymous ids it would carry."""

    trace_id: str
    channel: Channel
    session_id: str
    user_id: str | None
    captures_content: bool
    root: RecordedSpan

    def spans(self) -> list[RecordedSpan]:
        """Every step below the root, depth first."""
        return [span for child in self.root.children for span in child.walk()]

    def find(self, name: str) -> RecordedSpan:
        matches = [span for span in self.spans() if span.name == name]
        if len(matches) != 1:
            raise AssertionError(f"expected one span named {name!r}, found {len(matches)}")
        return matches[0]


@dataclass(frozen=True, slots=True)
class RecordedScore:
    trace_id: str
    name: str
    value: float | str
    comment: str | None


class _RecordingSpan:
    def __init__(self, span: RecordedSpan, content: ContentFilter) -> None:
        self._span = span
        self._content = content

    def set_output(self, output: object) -> None:
        exported, sizes = self._content.content("output", output)
        self._span.output = exported
        self._span.metadata.update(sizes)

    def annotate(self, metadata: Metadata) -> None:
        self._span.metadata.update(self._content.metadata(metadata))

    def set_generation(
        self, *, model: str, prompt_tokens: int | None = None, completion_tokens: int | None = None
    ) -> None:
        self._span.model = model
        if prompt_tokens is not None:
            self._span.prompt_tokens = prompt_tokens
        if completion_tokens is not None:
            self._span.completion_tokens = completion_tokens

    def mark_first_token(self) -> None:
        self._span.first_token = True


class _RecordingTurn:
    def __init__(
        self, record: RecordedTurn, content: ContentFilter, parent: ContextVar[RecordedSpan]
    ) -> None:
        self._record = record
        self._content = content
        self._parent = parent
        self._root = _RecordingSpan(record.root, content)

    @property
    def trace_id(self) -> str | None:
        return self._record.trace_id

    @property
    def session_id(self) -> str:
        return self._record.session_id

    @property
    def captures_content(self) -> bool:
        return self._content.capture

    @contextmanager
    def span(
        self,
        name: str,
        *,
        kind: SpanKind = "span",
        input: object = None,
        metadata: Metadata | None = None,
        version: str | None = None,
        current: bool = True,
    ) -> Iterator[_RecordingSpan]:
        exported, sizes = self._content.content("input", input)
        span = RecordedSpan(
            name=name,
            kind=kind,
            input=exported,
            metadata={**self._content.metadata(metadata), **sizes},
            version=version,
        )
        self._parent.get().children.append(span)
        token = self._parent.set(span) if current else None
        try:
            yield _RecordingSpan(span, self._content)
        except BaseException as exc:
            span.error = type(exc).__name__
            raise
        finally:
            span.ended = True
            if token is not None:
                self._parent.reset(token)

    def set_output(self, output: object) -> None:
        self._root.set_output(output)

    def annotate(self, metadata: Metadata) -> None:
        self._root.annotate(metadata)


class RecordingTracer:
    """Keeps every turn in ``turns`` and every score in ``scores``; ``closed`` after ``aclose``."""

    def __init__(
        self,
        redactor: TextRedactor,
        *,
        salt: str = "recording-tracer-salt",
        capture: CapturePolicy | None = None,
    ) -> None:
        self._redactor = redactor
        self._pseudonymizer = Pseudonymizer(salt)
        self._capture = capture or CapturePolicy()
        self._ids = itertools.count(1)
        self._turn: ContextVar[_RecordingTurn | None] = ContextVar("dasan_recording_turn", default=None)
        self._parent: ContextVar[RecordedSpan] = ContextVar("dasan_recording_parent")
        self.turns: list[RecordedTurn] = []
        self.scores: list[RecordedScore] = []
        self.closed = False

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
        exported, sizes = content.content("input", input)
        root = RecordedSpan(
            name=name,
            kind="span",
            input=exported,
            metadata={"channel": channel, "content_captured": capture, **content.metadata(metadata), **sizes},
        )
        record = RecordedTurn(
            trace_id=f"{next(self._ids):032x}",
            channel=channel,
            session_id=self._pseudonymizer.session_id(conversation),
            user_id=self._pseudonymizer.user_id(channel, user) if user else None,
            captures_content=capture,
            root=root,
        )
        self.turns.append(record)
        turn = _RecordingTurn(record, content, self._parent)
        turn_token = self._turn.set(turn)
        parent_token = self._parent.set(root)
        try:
            yield turn
        except BaseException as exc:
            root.error = type(exc).__name__
            raise
        finally:
            root.ended = True
            self._parent.reset(parent_token)
            self._turn.reset(turn_token)

    def current_turn(self) -> TurnTrace | None:
        return self._turn.get()

    def score(self, trace_id: str, name: str, value: float | str, comment: str | None = None) -> None:
        note = self._redactor.redact_text(comment) if comment else None
        self.scores.append(RecordedScore(trace_id, name, value, note))

    async def aclose(self) -> None:
        self.closed = True
