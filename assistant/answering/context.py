"""Context packing: the retrieved chunks, numbered [1]…[n], deduplicated and cut to a token budget."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.core.knowledge import Chunk, ScoredChunk
from assistant.core.replies import Citation

CHARS_PER_TOKEN = 1.5
"""Korean text runs about 1.2–1.8 characters per token on Qwen2.5's and similar BPE vocabularies (Hangul
syllables are often one token each, spaces and particles merge); 1.5 errs towards overestimating."""


def estimate_tokens(text: str) -> int:
    """A tokenizer-free estimate: ``ceil(len / CHARS_PER_TOKEN)``."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


@dataclass(frozen=True, slots=True)
class PackedSource:
    """Source ``n`` of the prompt. ``text`` may be a sentence-aligned cut of the chunk's text."""

    n: int
    chunk: Chunk
    text: str
    score: float

    @property
    def citation(self) -> Citation:
        c = self.chunk
        return Citation(
            n=self.n, chunk_id=c.chunk_id, title=c.title, source=c.source, url=c.url, section=c.section
        )

    @property
    def heading(self) -> str:
        return " - ".join(part for part in (self.chunk.title, self.chunk.section) if part)

    def prompt_item(self) -> dict[str, object]:
        """The ``{n, title, section, text}`` item the grounded-answer prompts take."""
        return {"n": self.n, "title": self.chunk.title, "section": self.chunk.section, "text": self.text}


class ContextPacker:
    """Chooses which hits go into the prompt, in rank order, within ``token_budget``.

    A source costs its heading plus its text (estimated with ``estimate_tokens``). Hits whose chunk id or
    whitespace-normalised text was already packed are skipped. A chunk that does not fit whole is cut at
    the last sentence end that fits (or, failing that, at the budget) when at least ``min_cut_tokens``
    remain; the first source is always kept, cut if need be, so a long top chunk never empties the prompt.
    """

    def __init__(self, *, token_budget: int, max_sources: int, min_cut_tokens: int = 60) -> None:
        if token_budget < 1 or max_sources < 1:
            raise ValueError("token_budget and max_sources must be at least 1")
        self._budget = token_budget
        self._max_sources = max_sources
        self._min_cut = min_cut_tokens

    @property
    def token_budget(self) -> int:
        return self._budget

    def pack(self, hits: Sequence[ScoredChunk]) -> list[PackedSource]:
        packed: list[PackedSource] = []
        seen_ids: set[str] = set()
        seen_texts: set[str] = set()
        left = self._budget
        for hit in hits:
            if len(packed) >= self._max_sources or left <= 0:
                break
            chunk = hit.chunk
            key = " ".join(chunk.text.split())
            if chunk.chunk_id in seen_ids or key in seen_texts or not key:
                continue
            cost = estimate_tokens(chunk.title) + estimate_tokens(chunk.section) + estimate_tokens(chunk.text)
            text = chunk.text
            if cost > left:
                room = left - (cost - estimate_tokens(chunk.text))
                if packed and room < self._min_cut:
                    continue  # a smaller chunk further down may still fit
                text = _cut(chunk.text, max(room, self._min_cut))
                cost = cost - estimate_tokens(chunk.text) + estimate_tokens(text)
            seen_ids.add(chunk.chunk_id)
            seen_texts.add(key)
            packed.append(PackedSource(n=len(packed) + 1, chunk=chunk, text=text, score=hit.score))
            left -= cost
        return packed


def _cut(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` within ``tokens`` that ends a sentence, else a hard cut."""
    limit = int(tokens * CHARS_PER_TOKEN)
    if len(text) <= limit:
        return text
    head = text[:limit]
    end = max(head.rfind(mark) + len(mark) for mark in (". ", "다.", "요.", "\n"))
    if end > limit // 3:
        return head[:end].rstrip()
    return head.rstrip() + "…"
