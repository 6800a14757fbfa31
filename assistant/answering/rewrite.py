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


RewriteBy = Literal["llm", "rule", "standalone"]
"""``llm``: the model's query; ``rule``: the previous question's nouns, then the follow-up;
``standalone``: the question as asked (the rule inherited nothing, or the pipeline judged it a new topic,
see ``TopicShift``)."""


@dataclass(frozen=True, slots=True)
class Rewrite:
    """The query to search with; ``by`` says who wrote it. ``inherited``: the terms the rule put before
    the question (empty: nothing was inherited)."""

    query: str
    by: RewriteBy
    prompt_version: str | None = None
    inherited: tuple[str, ...] = ()


class QueryRewriter:
    """Rewrites a follow-up with the ``query_rewrite`` prompt (JSON ``{"query"}``), and falls back to
    the rule — the previous user question's nouns and names, then the follow-up — when there is no
    model, it fails or times out, or its query shares no term with the conversation (a weak model
    answering instead of rewriting). The rule's ``Rewrite`` names the terms it ``inherited``: the
    pipeline keeps them only when the knowledge says the question continues the previous topic
    (``assistant.answering.topic.TopicShift``), so "여권은 어디서 만들어요?" after a 따릉이 question is
    searched as asked while "반납은요?" becomes "따릉이 반납은요?"."""

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
        return self.rule(question, history)

    def rule(self, question: str, history: Sequence[HistoryTurn]) -> Rewrite:
        """The previous user question's nouns and names that the follow-up does not repeat, then the
        follow-up. Whether they belong there (a follow-up) or not (a new topic) is not decided here:
        ``TopicShift`` asks the knowledge, in the pipeline."""
        previous = next((turn.text for turn in reversed(history) if turn.role == "user"), "")
        if not previous:
            return Rewrite(question, "standalone")
        asked = {t.form for t in self._text.terms(question)}
        inherited = [t.form for t in key_terms(self._text, previous) if t.form not in asked]
        inherited = inherited[:_MAX_INHERITED_TERMS]
        if not inherited:
            return Rewrite(question, "standalone")
        return Rewrite(" ".join([*inherited, question]).strip(), "rule", inherited=tuple(inherited))

    def by_rule(self, question: str, history: Sequence[HistoryTurn]) -> str:
        """The rule's query (``rule(...).query``)."""
        return self.rule(question, history).query

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
