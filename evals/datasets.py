"""Dataset files of the eval harness (JSONL), validated at the boundary with pydantic."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.errors import SourceError


class ExpectedSource(BaseModel):
    """Where the answer lives: ``source`` is a source name or document title, ``section`` a heading or id."""

    model_config = ConfigDict(frozen=True)

    source: str = Field(min_length=1)
    section: str = Field(min_length=1)


class RetrievalCase(BaseModel):
    """Retrieval case: ``{"id", "question", "expected": [{"source", "section"}]}``."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1)
    question: str = Field(min_length=1)
    expected: tuple[ExpectedSource, ...] = Field(min_length=1)


def load_retrieval_cases(path: Path) -> list[RetrievalCase]:
    """Read a retrieval JSONL file; a bad line raises ``SourceError`` naming the file and line."""
    cases: list[RetrievalCase] = []
    with path.open(encoding="utf-8") as handle:
        for number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            try:
                cases.append(RetrievalCase.model_validate_json(line))
            except ValidationError as exc:
                raise SourceError(str(path), exc.errors()[0]["msg"], row=number) from exc
    return cases
