"""Extractive answers: the source sentences that best match the question, copied verbatim and cited."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.context import PackedSource
from assistant.answering.numbers import quantities
from assistant.answering.text import KoreanText, Term, TermSet

_MIN_SENTENCE_CHARS = 8
_TERMINALS = ".!?"


@dataclass(frozen=True, slots=True)
class ExtractedSentence:
    """A sentence of source ``n``, already carrying its ``[n]`` marker."""

    text: str
    n: int
    score: float


class ExtractiveAnswerer:
    """Picks up to ``max_sentences`` sentences from the packed sources by query-term overlap.

    A sentence scores half the weighted share of the question's terms (names 2, nouns 1, verbs 0.25,
    numbers of the question 2) found in its source's title and section (what the source is about), plus
    half the share found in the sentence itself, − ``rank_penalty`` per retrieval rank: the source that
    is about the question leads, with its most relevant sentence. The others come from the same source
    first (a coherent answer), then from other sources when they score at least
    ``keep_ratio`` of the best; each must share a term with the question. A question that asks for a
    kind of number ("얼마" → an amount in 원, "몇 살" → an age, "전화번호" → a phone number, "며칠" → days)
    adds ``answer_bonus`` to the sentences that state one, and such a sentence of the leading source is
    taken first even when it shares no term with the question ("1통에 200원입니다"). Sentences keep their
    source order. A table row (no sentence punctuation) is shown with its title, so "6,000원" is never cited
    without saying what it is the fee for.
    """

    def __init__(
        self,
        text: KoreanText,
        *,
        max_sentences: int = 3,
        rank_penalty: float = 0.08,
        keep_ratio: float = 0.9,
        answer_bonus: float = 0.25,
    ) -> None:
        if max_sentences < 1:
            raise ValueError("max_sentences must be at least 1")
        self._text = text
        self._max = max_sentences
        self._rank_penalty = rank_penalty
        self._keep = keep_ratio
        self._answer_bonus = answer_bonus

    def answer(
        self, question: str, sources: Sequence[PackedSource], *, max_sentences: int | None = None
    ) -> list[ExtractedSentence]:
        limit = min(max_sentences or self._max, self._max)
        terms = self._text.terms(question)
        numbers = {q.key for q in quantities(question)}
        wanted = _expected_kinds(question)
        candidates: list[_Candidate] = []
        for rank, source in enumerate(sources):
            topic = _share(terms, numbers, self._text.term_set(source.heading), source.heading)
            for order, sentence in enumerate(self._sentences(source)):
                alone = _share(terms, numbers, self._text.term_set(sentence), sentence)
                answers = bool(wanted) and _answers_kind(sentence, wanted)
                score = 0.5 * topic + 0.5 * alone - self._rank_penalty * rank
                score += self._answer_bonus if answers else 0.0
                candidates.append(_Candidate(score, alone, answers, source.n, order, sentence))
        if not candidates:
            return []
        best = max(candidates, key=lambda c: c.score)
        chosen = [best]
        same = sorted(
            (c for c in candidates if c.n == best.n and c is not best and (c.overlap > 0 or c.answers)),
            key=lambda c: (not c.answers, -c.score),
        )
        others = [
            c for c in candidates if c.n != best.n and c.overlap > 0 and c.score >= self._keep * best.score
        ]
        for candidate in [*same, *sorted(others, key=lambda c: -c.score)]:
            if len(chosen) >= limit:
                break
            chosen.append(candidate)
        chosen.sort(key=lambda c: (c.n != best.n, c.n, c.order))
        return [ExtractedSentence(cite(c.text, c.n), c.n, round(c.score, 4)) for c in chosen]

    def _sentences(self, source: PackedSource) -> list[str]:
        body = source.text.strip()
        if not any(mark in body for mark in _TERMINALS) and "\n" not in body:
            return [f"{source.chunk.title} ({body})" if source.chunk.title else body]
        return [s for s in self._text.sentences(body) if len(s) >= _MIN_SENTENCE_CHARS]


@dataclass(frozen=True, slots=True)
class _Candidate:
    score: float
    overlap: float
    answers: bool
    n: int
    order: int
    text: str


def _share(terms: Sequence[Term], numbers: set[str], found: TermSet, raw: str) -> float:
    """Weighted share of the question's terms (names 2, nouns 1, verbs 0.25) and numbers (2 each)
    present in ``found`` (numbers: in ``raw``)."""
    total = hit = 0.0
    for term in terms:
        weight = 2.0 if term.kind in ("name", "foreign") else 0.25 if term.kind == "verb" else 1.0
        total += weight
        if found.contains(term):
            hit += weight
    if numbers:
        present = {q.key for q in quantities(raw)}
        total += 2.0 * len(numbers)
        hit += 2.0 * len(numbers & present)
    return hit / total if total else 0.0


_ANSWER_KINDS: tuple[tuple[re.Pattern[str], frozenset[str]], ...] = (
    (re.compile(r"얼마|요금|수수료|비용|가격|과태료|벌금|금액"), frozenset({"원"})),
    (re.compile(r"몇\s*살|나이|몇\s*세|살부터|세부터|살까지|세까지"), frozenset({"세"})),
    (re.compile(r"전화|번호|연락처"), frozenset({"tel", "phone"})),
    (re.compile(r"며칠|언제까지|기한|몇\s*일|몇\s*개월|몇\s*년"), frozenset({"일", "개월", "년"})),
    (re.compile(r"몇\s*시|시간"), frozenset({"시", "시간"})),
)
"""What kind of number a question asks for, by its wording."""


def _expected_kinds(question: str) -> frozenset[str]:
    return frozenset().union(*(kinds for pattern, kinds in _ANSWER_KINDS if pattern.search(question)))


def _answers_kind(sentence: str, kinds: frozenset[str]) -> bool:
    """Whether the sentence states a number of a wanted kind; a bare number of three or more digits
    ("국민연금공단(1355)", "109") counts as a phone number."""
    for quantity in quantities(sentence):
        if quantity.unit in kinds:
            return True
        if "phone" in kinds and not quantity.unit and len(quantity.key) >= 3 and quantity.key.isdigit():
            return True
    return False


def cite(sentence: str, n: int) -> str:
    """``sentence`` with ``[n]`` before its final punctuation: "…400원입니다 [1]."."""
    body = sentence.strip()
    if body and body[-1] in _TERMINALS:
        return f"{body[:-1].rstrip()} [{n}]{body[-1]}"
    return f"{body} [{n}]"
