"""Korean sparse analysis for BM25: Kiwi content morphemes hashed to stable 32-bit term ids."""

from __future__ import annotations

import unicodedata
import zlib
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer, Morpheme
from assistant.retrieval.ports import TermCounts

ENCODER_VERSION = "kiwi-bm25-v1"
"""Bump whenever the mapping from morphemes to terms changes: old indexes then no longer match."""

_NOUN_TAGS = frozenset({"NNG", "NNP"})
_VERB_TAGS = frozenset({"VV", "VA"})
_LOWERCASED_TAGS = frozenset({"SL", "W_URL", "W_EMAIL", "W_SERIAL"})
_BASE_TAGS = _NOUN_TAGS | _LOWERCASED_TAGS | {"SN", "SH", "XR"}

_FUNCTION_STEMS = frozenset({"하", "되", "있", "없", "같", "않", "어떻", "이렇", "그렇", "저렇"})
"""Stems that carry grammar or a question, not topic: "합니다" alone is 하/VV ("신청하다" is 신청/NNG +
하/XSV), and "어떻게" starts many questions but few documents, so it would get a high IDF."""

_BIGRAM_PREFIX = "bi:"


def term_id(term: str) -> int:
    """A stable unsigned 32-bit id for a term (CRC-32 of its UTF-8 bytes; never Python's ``hash``)."""
    return zlib.crc32(term.encode("utf-8"))


@dataclass(frozen=True, slots=True)
class TermFeatures:
    """Which terms a text contributes, beyond content nouns, numbers, foreign words, hanja and roots.

    ``verbs``: verb/adjective stems as lemmas ("버리려면" → "버리다"), function stems dropped.
    ``compounds``: also adjacent noun pairs joined ("대형"+"폐기물" → "대형폐기물").
    ``noun_bigrams``: also character bigrams of nouns at least this long (0 = off).

    Lexical BM25, section level, on the easylaw golden set (76 questions, 36.6k chunks; see
    ``benchmarks/bench_text_processing.py --compare-features``), hit@1 / hit@5 / MRR@10:
    nouns etc. only .316/.566/.421; + verbs (default) .316/.592/.438; + compounds .250/.605/.403;
    + bigrams2 .316/.645/.448; + bigrams3 .250/.513/.361. On AutoRAG (114) and PublicHealthQA (77)
    every option moved hit@1 by at most one query. Verbs help; compounds hurt hit@1; bigrams2 helps
    only hit@5, by 4 of 76 questions, at about twice the postings: left off pending end-to-end tuning.
    """

    verbs: bool = True
    compounds: bool = False
    noun_bigrams: int = 0

    def __post_init__(self) -> None:
        if self.noun_bigrams < 0 or self.noun_bigrams == 1:
            raise ValueError("noun_bigrams must be 0 (off) or at least 2")

    @property
    def key(self) -> str:
        parts = ["morph"]
        if self.verbs:
            parts.append("verbs")
        if self.compounds:
            parts.append("compounds")
        if self.noun_bigrams:
            parts.append(f"bigrams{self.noun_bigrams}")
        return "+".join(parts)


class KiwiSparseEncoder:
    """The ``SparseEncoder`` port on Kiwi morphemes: particles and endings are dropped, so "장롱을",
    "장롱은" and "장롱" are the same term. Counts are raw term frequencies; see ``bm25`` for weights.
    """

    def __init__(self, analyzer: KiwiAnalyzer, *, features: TermFeatures | None = None) -> None:
        self._analyzer = analyzer
        self._features = features or TermFeatures()
        self._tags = (_BASE_TAGS | _VERB_TAGS) if self._features.verbs else _BASE_TAGS

    @property
    def encoder_id(self) -> str:
        return f"{ENCODER_VERSION}/{self._features.key}/{self._analyzer.analyzer_id}"

    @property
    def features(self) -> TermFeatures:
        return self._features

    @property
    def content_tags(self) -> frozenset[str]:
        """The morpheme tags this encoder reads; analyzers may drop every other morpheme early."""
        return self._tags

    def analyze(self, texts: Sequence[str]) -> list[TermCounts]:
        """Counts per text. Lines are analysed separately: Kiwi reads across a line break, and a
        heading line then mis-segments the next line ("방법\n대형폐기물을" → 대/형/폐기물)."""
        line_lists = [[line for line in text.splitlines() if line.strip()] for text in texts]
        flat = [line for lines in line_lists for line in lines]
        morphemes = self._analyzer.morphemes(flat, tags=self._tags) if flat else []
        out: list[TermCounts] = []
        cursor = 0
        for lines in line_lists:
            out.append(self.count_terms(morphemes[cursor : cursor + len(lines)]))
            cursor += len(lines)
        return out

    def analyze_query(self, text: str) -> TermCounts:
        return self.analyze([text])[0]

    def terms(self, text: str) -> list[str]:
        """The readable terms of one text, in order (for debugging and tests)."""
        lines = [line for line in text.splitlines() if line.strip()]
        morphemes = self._analyzer.morphemes(lines, tags=self._tags) if lines else []
        return [term for line in morphemes for term in self._terms(line)]

    def count_terms(self, segments: Iterable[Sequence[Morpheme]]) -> TermCounts:
        """Term counts over already-analysed segments (lines or sentences of one text).

        Lets a chunker that analysed sentences once reuse the morphemes instead of re-tokenising.
        """
        counts: Counter[int] = Counter()
        for morphemes in segments:
            counts.update(term_id(term) for term in self._terms(morphemes))
        return counts

    def _terms(self, morphemes: Sequence[Morpheme]) -> list[str]:
        features = self._features
        out: list[str] = []
        previous_noun: Morpheme | None = None
        for m in morphemes:
            tag = m.tag
            if tag in _NOUN_TAGS:
                out.append(m.form)
                if features.compounds and previous_noun is not None and previous_noun.end == m.start:
                    out.append(previous_noun.form + m.form)
                if features.noun_bigrams and len(m.form) >= features.noun_bigrams:
                    out.extend(_BIGRAM_PREFIX + m.form[i : i + 2] for i in range(len(m.form) - 1))
                previous_noun = m
                continue
            previous_noun = None
            if tag in _VERB_TAGS:
                if features.verbs and m.form not in _FUNCTION_STEMS:
                    out.append(m.form + "다")
            elif tag in _LOWERCASED_TAGS:
                out.append(unicodedata.normalize("NFKC", m.form).casefold())
            elif tag in _BASE_TAGS:
                out.append(m.form)
        return out
