"""Follow-up questions become standalone search queries: by the model, or by a deterministic rule."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from assistant.answering.answer import HistoryTurn
from assistant.answering.confidence import key_terms
from assistant.answering.text import KoreanText, strip_citations
from assistant.core.errors import LLMError
from assistant.llm.ports import LLMClient
from assistant.llm.prompt import Prompt

_log = logging.getLogger(__name__)
_MAX_QUERY_CHARS = 100
_MAX_INHERITED_TERMS = 6


@dataclass(frozen=True, slots=True)
class Rewrite:
    """The query to search with; ``by`` says who wrote it."""

    query: str
    by: Literal["llm", "rule"]
    prompt_version: str | None = None


class QueryRewriter:
    """Rewrites a follow-up with the ``query_rewrite`` prompt (JSON ``{"query"}``), and falls back to
    the rule — the previous user question's nouns and names, then the follow-up — when there is no
    model, it fails or times out, or its query shares no term with the conversation (a weak model
    answering instead of rewriting)."""

    def __init__(
        self,
        text: KoreanText,
        *,
        llm: LLMClient | None,
        prompt: Prompt | None,
        timeout: timedelta = timedelta(seconds=5),
    ) -> None:
        self._text = text
        self._llm = llm if prompt is not None else None
        self._prompt = prompt
        self._timeout = timeout

    async def rewrite(self, question: str, history: Sequence[HistoryTurn], *, budget: timedelta) -> Rewrite:
        timeout = min(self._timeout, budget)
        if self._llm is not None and timeout > timedelta(0):
            written = await self._ask(question, history, timeout)
            if written is not None:
                return written
        return Rewrite(self.by_rule(question, history), "rule")

    def by_rule(self, question: str, history: Sequence[HistoryTurn]) -> str:
        previous = next((turn.text for turn in reversed(history) if turn.role == "user"), "")
        if not previous:
            return question
        asked = {t.form for t in self._text.terms(question)}
        inherited = [t.form for t in key_terms(self._text, previous) if t.form not in asked]
        return " ".join([*inherited[:_MAX_INHERITED_TERMS], question]).strip()

    async def _ask(self, question: str, history: Sequence[HistoryTurn], limit: timedelta) -> Rewrite | None:
        assert self._llm is not None and self._prompt is not None
        rendered = self._prompt.render(
            {
                "question": question,
                "history": [{"role": t.role, "text": strip_citations(t.text)} for t in history],
            }
        )
        try:
            async with asyncio.timeout(limit.total_seconds()):
                completion = await self._llm.complete(rendered.to_request(timeout=limit))
            query = str(json.loads(completion.text).get("query", "")).strip()
        except (LLMError, TimeoutError, ValueError, AttributeError) as exc:
            _log.info("query rewrite fell back to the rule: %s", type(exc).__name__)
            return None
        if not query or len(query) > _MAX_QUERY_CHARS or not self._grounded(query, question, history):
            _log.info("query rewrite fell back to the rule: unusable query %r", query[:_MAX_QUERY_CHARS])
            return None
        return Rewrite(query, "llm", rendered.version)

    def _grounded(self, query: str, question: str, history: Sequence[HistoryTurn]) -> bool:
        known = {t.form for text in (question, *(t.text for t in history)) for t in self._text.terms(text)}
        return any(t.form in known for t in self._text.terms(query))
