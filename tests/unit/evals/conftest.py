"""Test doubles for the eval harness's subjects."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import pytest

from assistant.core.errors import RetrievalError
from assistant.core.knowledge import Chunk, ChunkId, DocumentId, ScoredChunk
from assistant.core.replies import Citation
from assistant.retrieval.ports import SearchMode
from evals.subjects import AnswerObservation


def chunk(section: str, *, source: str = "sample", title: str | None = None) -> Chunk:
    return Chunk(
        chunk_id=ChunkId(f"c-{section}"),
        document_id=DocumentId(f"{source}#{section}"),
        ordinal=0,
        source=source,
        title=title or f"{section} 제목",
        section="",
        text=f"{section} 본문",
    )


class InMemoryRetriever:
    """Returns the configured ranking per question; raises for questions listed in ``failing``."""

    def __init__(self, ranking: Mapping[str, list[str]], *, failing: set[str] | None = None) -> None:
        self._ranking = ranking
        self._failing = failing or set()
        self.modes: list[SearchMode | None] = []
        self.in_flight = 0
        self.max_in_flight = 0

    @property
    def collection(self) -> str:
        return "eval-test"

    async def retrieve(
        self,
        query: str,
        *,
        k: int = 5,
        filters: Mapping[str, str] | None = None,
        mode: SearchMode | None = None,
    ) -> list[ScoredChunk]:
        self.modes.append(mode)
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            for _ in range(3):
                await asyncio.sleep(0)  # yield, so concurrent calls overlap
            if query in self._failing:
                raise RetrievalError(f"index broke on {query}")
            sections = self._ranking.get(query, [])
            return [ScoredChunk(chunk(s), 1.0 / (i + 1)) for i, s in enumerate(sections[:k])]
        finally:
            self.in_flight -= 1


class ScriptedAnswerer:
    """Replays one answer per question and asserts every scripted question was asked."""

    def __init__(self, answers: Mapping[str, AnswerObservation]) -> None:
        self._answers = dict(answers)
        self.asked: list[tuple[str, bool]] = []

    async def answer(self, question: str, *, spoken: bool = False) -> AnswerObservation:
        self.asked.append((question, spoken))
        return self._answers[question]

    def assert_used_up(self) -> None:
        assert {q for q, _ in self.asked} == set(self._answers)


def citation(n: int, section: str = "faq-x", source: str = "sample") -> Citation:
    return Citation(
        n=n, chunk_id=ChunkId(f"c-{section}"), title=f"{section} 제목", source=source, section=section
    )


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def answered() -> AnswerObservation:
    return AnswerObservation(text="수수료는 400원이에요 [1].", mode="extractive", citations=(citation(1),))
