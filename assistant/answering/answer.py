"""What the answer pipeline returns: the answer, its streamed deltas, and the turns it reads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from assistant.core.knowledge import ScoredChunk
from assistant.core.replies import AnswerMode, Citation

TurnRole = Literal["user", "assistant"]


@dataclass(frozen=True, slots=True)
class HistoryTurn:
    """An earlier turn of the conversation, oldest first."""

    role: TurnRole
    text: str


@dataclass(frozen=True, slots=True)
class AnswerLatency:
    """Milliseconds spent retrieving (rewrite and confidence included), generating, verifying, in all."""

    retrieve: float = 0.0
    generate: float = 0.0
    verify: float = 0.0
    total: float = 0.0

    def as_dict(self) -> dict[str, float]:
        return {
            "retrieve": round(self.retrieve, 1),
            "generate": round(self.generate, 1),
            "verify": round(self.verify, 1),
            "total": round(self.total, 1),
        }


@dataclass(frozen=True, slots=True)
class Answer:
    """A grounded answer.

    ``mode``: ``llm`` when every sentence was generated and verified against the source it cites;
    ``extractive`` when at least one sentence was copied from a source instead (no model, a failure, a
    deadline, or a generated sentence that failed verification); ``abstain`` when the knowledge does not
    cover the question. ``citations`` are the sources the text cites, by ``n``; ``sources`` every chunk
    that was packed into the prompt (for evals and traces); ``fallback_reason`` why the answer is not an
    ``llm`` one (``no_llm``, ``deadline``, ``llm_error:LLMTimeout``, ``unsupported:…``, ``low_confidence``).
    """

    text: str
    mode: AnswerMode
    citations: tuple[Citation, ...]
    latency_ms: AnswerLatency
    prompt_version: str | None = None
    rewritten_query: str | None = None
    fallback_reason: str | None = None
    sources: tuple[ScoredChunk, ...] = ()


@dataclass(frozen=True, slots=True)
class AnswerDelta:
    """A verified piece of answer text; a stream's deltas concatenate to the final ``Answer.text``."""

    text: str
