"""Retrieval confidence: does the knowledge cover the question at all? Low confidence → abstain."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from assistant.answering.text import KoreanText, Term, TermKind
from assistant.core.knowledge import ScoredChunk


@dataclass(frozen=True, slots=True)
class ConfidencePolicy:
    """How confidence is computed and where abstention starts. Tuned on ``retrieval_sample.jsonl`` (in
    scope) against ``out_of_scope.jsonl``; see ``benchmarks/bench_answers.py --tune`` and the README.

    ``score = coverage − name_penalty × missing_names + dense_weight × (dense_cosine − dense_centre)``

    - ``coverage``: weighted share of the question's content terms found in the top ``depth`` chunks
      (names and Latin words weigh ``name_weight``, nouns 1, verbs ``verb_weight``: a verb is often
      paraphrased, a proper noun that the knowledge never mentions — another city, a company, a
      celebrity — is the strongest sign the question is out of scope);
    - ``missing_names``: proper nouns / Latin words (two characters or more) absent from those chunks;
    - ``dense_cosine``: the best e5 cosine between the question and any chunk (dense search, k=1); without
      an embedder the lexical part alone is compared with ``lexical_threshold``.
    """

    threshold: float = 0.6
    lexical_threshold: float = 0.5
    depth: int = 3
    name_weight: float = 2.0
    verb_weight: float = 0.25
    name_penalty: float = 0.5
    dense_weight: float = 3.0
    dense_centre: float = 0.85


@dataclass(frozen=True, slots=True)
class Confidence:
    """The verdict and its parts, for logs, traces and tuning."""

    score: float
    coverage: float
    missing_names: tuple[str, ...]
    dense_cosine: float | None
    threshold: float

    @property
    def sufficient(self) -> bool:
        return self.score >= self.threshold


class RetrievalConfidence:
    """Scores retrieved chunks against the question (see ``ConfidencePolicy``)."""

    def __init__(self, text: KoreanText, policy: ConfidencePolicy) -> None:
        self._text = text
        self._policy = policy

    @property
    def policy(self) -> ConfidencePolicy:
        return self._policy

    def assess(self, question: str, hits: Sequence[ScoredChunk], dense_cosine: float | None) -> Confidence:
        policy = self._policy
        threshold = policy.threshold if dense_cosine is not None else policy.lexical_threshold
        terms = self._text.terms(question)
        if not hits:
            return Confidence(-1.0, 0.0, (), dense_cosine, threshold)
        sets = [self._text.term_set(hit.chunk.indexed_text) for hit in hits[: policy.depth]]
        total = found = 0.0
        missing: list[str] = []
        for term in terms:
            weight = self._weight(term.kind)
            total += weight
            if any(s.contains(term) for s in sets):
                found += weight
            elif term.kind in ("name", "foreign") and len(term.form) >= 2:
                missing.append(term.form)
        coverage = found / total if total else 0.0
        score = coverage - policy.name_penalty * len(missing)
        if dense_cosine is not None:
            score += policy.dense_weight * (dense_cosine - policy.dense_centre)
        return Confidence(round(score, 4), round(coverage, 4), tuple(missing), dense_cosine, threshold)

    def _weight(self, kind: TermKind) -> float:
        match kind:
            case "name" | "foreign":
                return self._policy.name_weight
            case "verb":
                return self._policy.verb_weight
            case "noun":
                return 1.0


def key_terms(text: KoreanText, question: str) -> list[Term]:
    """Nouns, names and Latin words of a question: what a follow-up question inherits."""
    return [t for t in text.terms(question) if t.kind != "verb"]
