"""Sentence verification: every generated sentence must cite packed sources that state what it says."""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta

from assistant.answering.context import PackedSource
from assistant.answering.numbers import unsupported_quantities
from assistant.answering.polarity import Polarity
from assistant.answering.ports import TextEmbedder
from assistant.answering.text import KoreanText, Term, TermSet, citation_numbers, strip_citations
from assistant.core.errors import EmbeddingError, LLMError
from assistant.llm.ports import LLMClient
from assistant.llm.prompt import Prompt

_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class VerifierPolicy:
    """Thresholds, tuned on ``evals/datasets/verifier_pairs.jsonl`` (see ``benchmarks/bench_answers.py``).

    A sentence is supported when every number in it appears in the cited source (normalised, bound to
    the same qualifier), so does every proper noun, its negation and restrictive words match the source
    sentence it restates (``Polarity``), and either its lexical
    support (weighted share of its content terms found in the source) is at least ``lexical_threshold``
    or its e5 cosine with the source is at least ``semantic_threshold`` while the lexical support is at
    least ``lexical_floor``. With ``llm_verify`` the ``answer_verification`` prompt must agree as well.
    """

    lexical_threshold: float = 0.8
    semantic_threshold: float = 0.93
    lexical_floor: float = 0.6
    verb_weight: float = 0.5
    llm_verify: bool = False
    llm_timeout: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True)
class SentenceCheck:
    """The verdict on one sentence. ``reason`` names the first failed test ("ok" when supported)."""

    sentence: str
    citations: tuple[int, ...]
    supported: bool
    reason: str
    lexical: float = 0.0
    semantic: float | None = None


class SentenceVerifier:
    """Checks sentences against the sources they cite. Safe by construction: any doubt is a failure.

    ``embedder`` (optional) adds the semantic test; source vectors are cached by text. ``llm`` and
    ``verification_prompt`` (both needed, and ``policy.llm_verify``) add the model's judgement as a
    further veto: a model can only remove a sentence, never admit one the deterministic tests refused.
    """

    def __init__(
        self,
        text: KoreanText,
        policy: VerifierPolicy,
        *,
        embedder: TextEmbedder | None = None,
        llm: LLMClient | None = None,
        verification_prompt: Prompt | None = None,
        cache_size: int = 256,
    ) -> None:
        self._text = text
        self._policy = policy
        self._polarity = Polarity(text)
        self._embedder = embedder
        self._llm = llm if policy.llm_verify and verification_prompt is not None else None
        self._prompt = verification_prompt
        self._vectors: OrderedDict[str, tuple[float, ...]] = OrderedDict()
        self._cache_size = cache_size

    @property
    def policy(self) -> VerifierPolicy:
        return self._policy

    async def check(self, sentence: str, sources: Mapping[int, PackedSource]) -> SentenceCheck:
        """Verify one answer sentence (with its ``[n]`` markers) against the packed sources."""
        cited = citation_numbers(sentence)
        if not cited:
            return SentenceCheck(sentence, cited, False, "no citation")
        unknown = [n for n in cited if n not in sources]
        if unknown:
            return SentenceCheck(sentence, cited, False, f"cites unknown source {unknown}")
        source_text = "\n".join(sources[n].text for n in cited)
        heading = " ".join(sources[n].heading for n in cited)
        verdict = await self.support(strip_citations(sentence), f"{heading}\n{source_text}")
        return SentenceCheck(
            sentence, cited, verdict.supported, verdict.reason, verdict.lexical, verdict.semantic
        )

    async def support(self, claim: str, source: str) -> SentenceCheck:
        """Whether ``source`` supports ``claim`` (plain text, no markers)."""
        missing = unsupported_quantities(claim, source)
        if missing:
            return SentenceCheck(claim, (), False, f"numbers not in source: {', '.join(missing)}")
        terms = self._text.terms(claim)
        if not terms:
            return SentenceCheck(claim, (), False, "nothing checkable in the sentence")
        present = self._text.term_set(source)
        names = [t.form for t in terms if t.kind in ("name", "foreign") and not present.contains(t)]
        if names:
            return SentenceCheck(claim, (), False, f"names not in source: {', '.join(names)}")
        lexical = self._lexical(terms, present)
        disagreement = self._polarity.disagreement(claim, source)
        if disagreement is not None:
            return SentenceCheck(claim, (), False, disagreement, lexical)
        policy = self._policy
        semantic: float | None = None
        if lexical < policy.lexical_threshold:
            if lexical < policy.lexical_floor or self._embedder is None:
                return SentenceCheck(claim, (), False, f"lexical support {lexical:.2f}", lexical)
            semantic = await self._semantic(claim, source)
            if semantic is None or semantic < policy.semantic_threshold:
                shown = "n/a" if semantic is None else f"{semantic:.3f}"
                return SentenceCheck(
                    claim, (), False, f"lexical {lexical:.2f}, semantic {shown}", lexical, semantic
                )
        if self._llm is not None and not await self._llm_agrees(claim, source):
            return SentenceCheck(claim, (), False, "the verification model disagreed", lexical, semantic)
        return SentenceCheck(claim, (), True, "ok", lexical, semantic)

    def _lexical(self, terms: list[Term], present: TermSet) -> float:
        weight = self._policy.verb_weight
        total = found = 0.0
        for term in terms:
            w = weight if term.kind == "verb" else 1.0
            total += w
            if present.contains(term):
                found += w
        return found / total if total else 0.0

    async def _semantic(self, claim: str, source: str) -> float | None:
        embedder = self._embedder
        if embedder is None:
            return None
        try:
            vector = self._vectors.get(source)
            if vector is None:
                vector = (await embedder.embed_passages([source]))[0]
                self._remember(source, vector)
            claim_vector = await embedder.embed_query(claim)
        except EmbeddingError as exc:
            _log.warning("semantic check skipped: %s", exc)
            return None
        return sum(a * b for a, b in zip(claim_vector, vector, strict=True))

    def _remember(self, source: str, vector: tuple[float, ...]) -> None:
        self._vectors[source] = vector
        if len(self._vectors) > self._cache_size:
            self._vectors.popitem(last=False)

    async def _llm_agrees(self, claim: str, source: str) -> bool:
        assert self._llm is not None and self._prompt is not None
        rendered = self._prompt.render({"sentence": claim, "source": source})
        try:
            completion = await self._llm.complete(rendered.to_request(timeout=self._policy.llm_timeout))
            verdict = json.loads(completion.text)
        except (LLMError, ValueError) as exc:
            _log.warning("LLM verification failed (%s): treating the sentence as unsupported", exc)
            return False
        return isinstance(verdict, dict) and verdict.get("supported") is True
