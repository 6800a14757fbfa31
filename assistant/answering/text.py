"""Korean text for answering: content terms with kinds, sentences, and ``[n]`` citation markers."""

from __future__ import annotations

import re
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, Literal, TypeVar

from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer, Morpheme

T = TypeVar("T")

TermKind = Literal["name", "noun", "verb", "foreign"]
"""``name``: a proper noun (Kiwi NNP); ``foreign``: Latin letters (BTS, ESTA); ``noun``: common nouns and
roots; ``verb``: verb and adjective stems (as lemmas, "버리다")."""

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\])+")
_TRAILING_MARKERS = re.compile(r"(?<=[.!?])\s*((?:\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]\s*)+)$")
_SPACES = re.compile(r"\s+")

_TAG_KIND: dict[str, TermKind] = {
    "NNP": "name",
    "SL": "foreign",
    "NNG": "noun",
    "XR": "noun",
    "VV": "verb",
    "VA": "verb",
}
_FUNCTION_STEMS = frozenset(
    {"하", "되", "있", "없", "같", "않", "어떻", "이렇", "그렇", "저렇", "이", "아니"}
)
"""Stems that carry grammar, not topic (the same list the sparse encoder drops, plus the copula)."""
_NEGATIONS = frozenset(
    {("않", "VX"), ("못", "MAG"), ("안", "MAG"), ("아니", "VCN"), ("없", "VA"), ("말", "VX")}
)
"""Morphemes that negate a clause: 않다, 못, 안, 아니다, 없다, (하지) 말다 (not "없이", an adverb)."""
_RESTRICTIVE = frozenset(
    {
        ("만", "JX"),
        ("뿐", "JX"),
        ("반드시", "MAG"),
        ("항상", "MAG"),
        ("무조건", "MAG"),
        ("오직", "MAG"),
        ("언제나", "MAG"),
        ("모든", "MM"),
    }
)
"""Words that make a claim exclusive or absolute ("주민센터에서만", "누구나", "반드시"): a sentence may use
one only where its source does."""
_GENERIC_NOUNS = frozenset({"얼마", "방법", "경우", "정도", "관련", "문의", "질문", "궁금", "때문", "가능"})
"""Nouns that ask or hedge rather than name a topic: they neither show a question is in scope nor
that a sentence restates its source."""


@dataclass(frozen=True, slots=True)
class Term:
    """A content term. ``form`` is the morpheme (a lemma ending in 다 for verbs, lower-cased for Latin)."""

    form: str
    kind: TermKind

    @property
    def probe(self) -> str:
        """What to look for in raw text: the stem of a verb, the form otherwise."""
        return self.form[:-1] if self.kind == "verb" else self.form


@dataclass(frozen=True, slots=True)
class ClauseMarks:
    """``negations``: negating morphemes, not counting embedded questions ("없는지");
    ``restrictive``: exclusive or absolute words present (see ``_RESTRICTIVE``)."""

    negations: int
    restrictive: frozenset[str]


@dataclass(frozen=True, slots=True)
class TermSet:
    """The terms of one text plus its normalised text, for presence tests."""

    forms: frozenset[str]
    text: str

    def contains(self, term: Term) -> bool:
        """A term is present when the analysis found it, or (two characters or more) the text holds it:
        the second test catches compounds that Kiwi segments differently in the two texts."""
        if term.form in self.forms:
            return True
        probe = term.probe
        return len(probe) >= 2 and probe in self.text


def citation_numbers(text: str) -> tuple[int, ...]:
    """Every ``[n]`` (and ``[n, m]``) number in ``text``, in order, repeats dropped."""
    found: list[int] = []
    for match in _MARKER.finditer(text):
        for part in match.group(1).split(","):
            n = int(part)
            if n not in found:
                found.append(n)
    return tuple(found)


def strip_citations(text: str) -> str:
    """``text`` without its ``[n]`` markers and with whitespace collapsed."""
    return _SPACES.sub(" ", _MARKER.sub(" ", text)).strip()


def normalise(text: str) -> str:
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip().casefold()


class KoreanText:
    """Terms and sentences of Korean text on one shared ``KiwiAnalyzer``.

    Analyses of source texts repeat across requests (the same chunks come back), so every analysis keeps
    its last ``cache_size`` results. Calls are CPU-bound but short (under a few milliseconds for a
    500-character chunk); callers run them inline.
    """

    def __init__(self, analyzer: KiwiAnalyzer, *, cache_size: int = 1024) -> None:
        self._analyzer = analyzer
        self._terms: _Lru[tuple[Term, ...]] = _Lru(cache_size)
        self._term_sets: _Lru[TermSet] = _Lru(cache_size)
        self._sentences: _Lru[tuple[str, ...]] = _Lru(cache_size)
        self._marks: _Lru[ClauseMarks] = _Lru(cache_size)

    def terms(self, text: str) -> list[Term]:
        """Content terms of ``text`` in order, repeats dropped; citation markers are ignored."""
        return list(self._terms.get_or_make(text, self._make_terms))

    def marks(self, text: str) -> ClauseMarks:
        """Negations and restrictive words of ``text`` (see ``ClauseMarks``)."""
        return self._marks.get_or_make(text, self._make_marks)

    def term_set(self, text: str) -> TermSet:
        return self._term_sets.get_or_make(
            text, lambda t: TermSet(forms=frozenset(term.form for term in self.terms(t)), text=normalise(t))
        )

    def sentences(self, text: str) -> list[str]:
        """Sentences of ``text`` (Kiwi), each keeping the ``[n]`` markers written right after it.

        Kiwi may start a sentence with the markers of the previous one ("…예요. [1] 다음…"); they are
        moved back when that sentence has none of its own, so every sentence carries its citations. A
        model that writes markers first ("[1] …예요. [2] …예요.") keeps them where it wrote them.
        """
        return list(self._sentences.get_or_make(text, self._make_sentences))

    def _make_terms(self, text: str) -> tuple[Term, ...]:
        clean = strip_citations(text)
        if not clean:
            return ()
        lines = [line for line in clean.splitlines() if line.strip()]
        seen: dict[str, Term] = {}
        for morphemes in self._analyzer.morphemes(lines, tags=_TAG_KIND.keys()):
            for term in _terms_of(morphemes):
                seen.setdefault(term.form, term)
        return tuple(seen.values())

    def _make_marks(self, text: str) -> ClauseMarks:
        clean = strip_citations(text)
        if not clean:
            return ClauseMarks(0, frozenset())
        morphemes = self._analyzer.morphemes([clean])[0]
        negations = 0
        restrictive: set[str] = set()
        for i, m in enumerate(morphemes):
            after = morphemes[i + 1 : i + 3]
            if (m.form, m.tag) in _NEGATIONS and not _embedded_question(after):
                negations += 1
            elif (m.form, m.tag) in _RESTRICTIVE:
                restrictive.add(m.form)
            elif m.form == "누구" and after and after[0].form == "나":
                restrictive.add("누구나")
        return ClauseMarks(negations, frozenset(restrictive))

    def _make_sentences(self, text: str) -> tuple[str, ...]:
        out: list[str] = []
        for line in text.splitlines():
            if not line.strip():
                continue
            spans = self._analyzer.sentences([line], tags=())[0]
            pieces = [line[s.start : s.end] for s in spans] or [line]
            # Text between Kiwi's spans (rare: stray symbols) stays with the sentence before it.
            if spans:
                pieces[-1] = line[spans[-1].start :]
            for piece in pieces:
                body = piece
                leading = _LEADING_MARKERS.match(body)
                if leading and out and not _MARKER.search(out[-1]):
                    out[-1] = f"{out[-1]}{leading.group(0)}".strip()
                    body = body[leading.end() :]
                if body.strip():
                    out.append(body.strip())
        for i in range(len(out) - 1):
            trailing = _TRAILING_MARKERS.search(out[i])
            if trailing and _MARKER.search(out[i][: trailing.start()]) and not _MARKER.search(out[i + 1]):
                out[i + 1] = f"{trailing.group(1).strip()} {out[i + 1]}"
                out[i] = out[i][: trailing.start()].rstrip()
        return tuple(out)


class _Lru(Generic[T]):
    """A small least-recently-used cache keyed by text."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._items: OrderedDict[str, T] = OrderedDict()

    def get_or_make(self, key: str, make: Callable[[str], T]) -> T:
        found = self._items.get(key)
        if found is not None:
            self._items.move_to_end(key)
            return found
        made = make(key)
        self._items[key] = made
        if len(self._items) > self._size:
            self._items.popitem(last=False)
        return made


def _embedded_question(after: list[Morpheme]) -> bool:
    """ "(이상 반응이) 없는지" asks rather than denies: a negation followed by ETM + 지."""
    return len(after) == 2 and after[0].tag == "ETM" and after[1].form == "지"


def _terms_of(morphemes: Iterable[Morpheme]) -> list[Term]:
    out: list[Term] = []
    for m in morphemes:
        kind = _TAG_KIND.get(m.tag)
        if kind is None:
            continue
        if kind == "verb":
            if m.form in _FUNCTION_STEMS:
                continue
            out.append(Term(m.form + "다", "verb"))
        elif kind == "foreign":
            out.append(Term(unicodedata.normalize("NFKC", m.form).casefold(), "foreign"))
        elif m.form not in _GENERIC_NOUNS:
            out.append(Term(m.form, kind))
    return out
