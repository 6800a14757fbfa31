"""Restatement checks: a sentence must keep the negation and the exclusivity of the sentence it restates."""

from __future__ import annotations

from collections import OrderedDict

from assistant.answering.text import ClauseMarks, KoreanText, TermSet


class Polarity:
    """Compares a claim with its closest source sentence (the one sharing most of its content terms).

    Negation is compared by parity, so "붙이지 않고 내놓으면 수거되지 않아요" restates a doubly negated
    source while "붙이지 않아도 수거해 가요" does not. Restrictive words ("에서만", "누구나", "반드시") must
    all appear in that source sentence too: "주민센터에서만" is not "어느 주민센터에서나". Source analyses are
    cached by text.
    """

    def __init__(self, text: KoreanText, *, cache_size: int = 256) -> None:
        self._text = text
        self._cache: OrderedDict[str, list[tuple[TermSet, ClauseMarks]]] = OrderedDict()
        self._cache_size = cache_size

    def disagreement(self, claim: str, source: str) -> str | None:
        """Why the claim does not restate its closest source sentence, or None when it does."""
        sentences = self._sentences(source)
        if not sentences:
            return "the source is empty"
        terms = self._text.terms(claim)
        best = max(sentences, key=lambda item: sum(1 for t in terms if item[0].contains(t)))[1]
        mine = self._text.marks(claim)
        if mine.negations % 2 != best.negations % 2:
            return "negation differs from the source"
        extra = sorted(mine.restrictive - best.restrictive)
        if extra:
            return f"restrictive words not in the source: {', '.join(extra)}"
        return None

    def _sentences(self, source: str) -> list[tuple[TermSet, ClauseMarks]]:
        cached = self._cache.get(source)
        if cached is not None:
            self._cache.move_to_end(source)
            return cached
        built = [
            (self._text.term_set(sentence), self._text.marks(sentence))
            for sentence in self._text.sentences(source)
        ]
        self._cache[source] = built
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
        return built
