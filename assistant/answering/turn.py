"""One question's working state inside the pipeline: timings, the deadline, the packed sources."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta

from assistant.answering.answer import Answer, AnswerLatency
from assistant.answering.confidence import Confidence
from assistant.answering.context import PackedSource
from assistant.answering.text import citation_numbers
from assistant.core.knowledge import ScoredChunk
from assistant.core.replies import AnswerMode, Citation

Timer = Callable[[], float]
"""Monotonic seconds (``time.perf_counter``); injected so tests can control the deadline."""


@dataclass
class Turn:
    """Mutable per-question state; ``finish`` freezes it into an ``Answer``."""

    question: str
    spoken: bool
    timer: Timer
    started: float
    deadline: float
    query: str
    rewritten_query: str | None = None
    hits: Sequence[ScoredChunk] = ()
    packed: Sequence[PackedSource] = ()
    confidence: Confidence | None = None
    retrieve_ms: float = 0.0
    generate_ms: float = 0.0
    verify_ms: float = 0.0
    prompt_version: str | None = None

    @property
    def sources(self) -> dict[int, PackedSource]:
        return {source.n: source for source in self.packed}

    def remaining(self) -> timedelta:
        return timedelta(seconds=max(0.0, self.deadline - self.timer()))

    def since(self, mark: float) -> float:
        """Milliseconds from ``mark`` to now."""
        return (self.timer() - mark) * 1000

    def finish(self, text: str, mode: AnswerMode, *, reason: str | None = None) -> Answer:
        by_n = self.sources
        cited = sorted({n for n in citation_numbers(text) if n in by_n}) if mode != "abstain" else []
        citations: tuple[Citation, ...] = tuple(by_n[n].citation for n in cited)
        return Answer(
            text=text,
            mode=mode,
            citations=citations,
            latency_ms=AnswerLatency(
                retrieve=self.retrieve_ms,
                generate=self.generate_ms,
                verify=self.verify_ms,
                total=self.since(self.started),
            ),
            prompt_version=self.prompt_version,
            rewritten_query=self.rewritten_query,
            fallback_reason=reason,
            sources=tuple(ScoredChunk(s.chunk, s.score) for s in self.packed),
        )
