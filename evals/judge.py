"""The optional LLM judge: grades an answer 1–5 with the Korean rubric prompt ``answer_judge``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import timedelta

from assistant.core.errors import LLMError
from assistant.llm.prompt import Prompt
from evals.datasets import Fact
from evals.results import Score
from evals.subjects import AnswerObservation, JudgeModel
from evals.text_match import describe

JUDGE_PROMPT_ID = "answer_judge"
PASSING_GRADE = 4
"""A grade of 4 ("correct and grounded, minor gaps") or 5 passes."""


class AnswerJudge:
    """Asks a model to grade one answer. The score is ``(grade - 1) / 4``; an unusable verdict or a model
    error is a failed score with the reason, never an exception."""

    def __init__(
        self, model: JudgeModel, prompt: Prompt, *, timeout: timedelta = timedelta(seconds=60)
    ) -> None:
        if prompt.prompt_id != JUDGE_PROMPT_ID:
            raise ValueError(f"the judge needs the {JUDGE_PROMPT_ID!r} prompt, got {prompt.prompt_id!r}")
        self._model = model
        self._prompt = prompt
        self._timeout = timeout

    def describe(self) -> str:
        return f"{self._model.model} with {self._prompt.prompt_id}@{self._prompt.version}"

    async def judge(self, question: str, answer: AnswerObservation, reference: Sequence[Fact]) -> Score:
        texts = {s.chunk.chunk_id: s.chunk.text for s in answer.sources}
        sources = [{"n": c.n, "title": c.title, "text": texts.get(c.chunk_id, "")} for c in answer.citations]
        rendered = self._prompt.render(
            {
                "question": question,
                "answer": answer.text,
                "sources": sources,
                "reference": [describe(f) for f in reference],
            }
        )
        try:
            completion = await self._model.complete(rendered.to_request(timeout=self._timeout))
        except LLMError as exc:
            return Score("judge", 0.0, False, f"judge model failed: {exc}")
        return parse_verdict(completion.text)


def parse_verdict(text: str) -> Score:
    """``{"reason": str, "score": 1..5}`` → a score; anything else fails with what was wrong."""
    try:
        payload = json.loads(text)
    except json.JSONDecodeError:
        return Score("judge", 0.0, False, f"judge output is not JSON: {text[:120]!r}")
    grade = payload.get("score") if isinstance(payload, dict) else None
    if not isinstance(grade, int) or isinstance(grade, bool) or not 1 <= grade <= 5:
        return Score("judge", 0.0, False, f"judge output has no 1-5 score: {text[:120]!r}")
    reason = str(payload.get("reason", "")).strip()
    return Score("judge", (grade - 1) / 4, grade >= PASSING_GRADE, f"{grade}/5: {reason}")
