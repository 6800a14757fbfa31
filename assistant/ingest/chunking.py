"""Korean sentence-aware chunking: documents become index chunks, optionally with their BM25 terms."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from assistant.core.knowledge import Chunk, Document, Section, chunk_id_for
from assistant.retrieval.kiwi_analyzer import AnalyzedSentence, Morpheme
from assistant.retrieval.ports import TermCounts

HEADING_MAX_CHARS = 40
"""A line this short that does not end like a sentence is treated as a sub-heading."""

_SENTENCE_END = re.compile(r"(?:[.!?。…:;]|다|요)[\"'”’)\]」』>]*$")
_BULLET = re.compile(
    r"^(?:[-–—•·∙◦▪■□○●◎◇◆※*+]|\(?\d{1,3}[.)]|[가-하ㄱ-ㅎ][.)]|[\u2460-\u2473\u3260-\u327b])"
)
_TRAILING_MARKER = re.compile(r"\s([\u2460-\u2473\u3260-\u327b\u24d0-\u24e9])\s*$")
"""Kiwi leaves a circled list marker ("… 지원한다. ②") on the sentence before the one it opens."""


class SentenceAnalyzer(Protocol):
    """Splits texts into sentences with their morphemes (``KiwiAnalyzer``)."""

    def sentences(
        self, texts: Sequence[str], *, tags: Iterable[str] | None = None
    ) -> list[list[AnalyzedSentence]]: ...

    def morphemes(
        self, texts: Sequence[str], *, tags: Iterable[str] | None = None
    ) -> list[list[Morpheme]]: ...


class TermCounter(Protocol):
    """Turns morphemes into sparse term counts (``KiwiSparseEncoder``)."""

    @property
    def content_tags(self) -> frozenset[str]: ...

    def count_terms(self, segments: Iterable[Sequence[Morpheme]]) -> TermCounts: ...


@dataclass(frozen=True, slots=True)
class AnalyzedChunk:
    """A chunk and the term counts of its ``indexed_text``, from the same analysis that split it."""

    chunk: Chunk
    terms: TermCounts


@dataclass(frozen=True, slots=True)
class TextUnit:
    """What the packer moves whole: a sentence, a piece of an over-long one, or a line.

    ``joiner`` separates it from the previous unit inside one chunk (a line break, or the space
    between two sentences of a line). ``origin`` is where ``text`` starts in the analysed line, the
    frame of ``morphemes``' offsets.
    """

    text: str
    joiner: str = "\n"
    heading: bool = False
    morphemes: tuple[Morpheme, ...] = ()
    origin: int = 0


class KoreanChunker:
    """Packs whole sentences into chunks of at most ``max_chars`` characters of body text.

    Consecutive chunks of a section share trailing sentences of at most ``overlap_chars``; a chunk
    that would end on a sub-heading leaves it to the next chunk, which then starts without overlap.
    A sentence longer than ``max_chars`` is cut at a space near the limit. Line breaks are kept and
    runs of whitespace inside a line collapse to one space. A ``record`` section is kept exactly as
    it is (stripped) unless it exceeds ``max_chars``. Sections never share a chunk. Deterministic.
    """

    def __init__(self, analyzer: SentenceAnalyzer, *, max_chars: int = 500, overlap_chars: int = 80) -> None:
        if max_chars < 1 or not 0 <= overlap_chars < max_chars:
            raise ValueError("need max_chars >= 1 and 0 <= overlap_chars < max_chars")
        self._analyzer = analyzer
        self._max_chars = max_chars
        self._overlap_chars = overlap_chars

    def chunk(self, document: Document) -> list[Chunk]:
        return self.chunk_batch([document])[0]

    def chunk_batch(self, documents: Sequence[Document]) -> list[list[Chunk]]:
        """Chunks of each document; one multi-threaded analysis call for the whole batch."""
        return [[a.chunk for a in chunks] for chunks in self._run(documents, None)]

    def chunk_and_count(
        self, documents: Sequence[Document], counter: TermCounter
    ) -> list[list[AnalyzedChunk]]:
        """Like ``chunk_batch``, plus each chunk's term counts without tokenising its text again."""
        return self._run(documents, counter)

    def _run(self, documents: Sequence[Document], counter: TermCounter | None) -> list[list[AnalyzedChunk]]:
        batch = _Batch(counting=counter is not None)
        plans = [
            [
                batch.plan(document, section, record=document.kind == "record", max_chars=self._max_chars)
                for section in document.sections
                if section.text.strip()
            ]
            for document in documents
        ]
        tags: frozenset[str] = counter.content_tags if counter is not None else frozenset()
        sentences = self._analyzer.sentences(batch.lines, tags=tags) if batch.lines else []
        wholes = self._analyzer.morphemes(batch.wholes, tags=tags) if batch.wholes else []

        out: list[list[AnalyzedChunk]] = []
        for document, doc_plans in zip(documents, plans, strict=True):
            bodies: list[tuple[_SectionPlan, str, list[tuple[Morpheme, ...]]]] = []
            for plan in doc_plans:
                if plan.record_text is not None:
                    morphs = [tuple(wholes[plan.record_index])] if plan.record_index >= 0 else []
                    bodies.append((plan, plan.record_text, morphs))
                    continue
                units = [
                    piece
                    for i in range(plan.line_start, plan.line_end)
                    for unit in _line_units(batch.lines[i], sentences[i])
                    for piece in _hard_split(unit, self._max_chars)
                ]
                for group in pack_units(units, max_chars=self._max_chars, overlap_chars=self._overlap_chars):
                    bodies.append((plan, render(group), [u.morphemes for u in group]))
            metadata = dict(document.metadata)
            chunks: list[AnalyzedChunk] = []
            for ordinal, (plan, body, morphs) in enumerate(bodies):
                chunk = Chunk(
                    chunk_id=chunk_id_for(document.document_id, ordinal),
                    document_id=document.document_id,
                    ordinal=ordinal,
                    source=document.source,
                    title=document.title,
                    section=plan.section.heading,
                    text=body,
                    url=document.url,
                    category=document.category,
                    updated_at=document.updated_at,
                    metadata=metadata,
                )
                terms: TermCounts = {}
                if counter is not None:
                    head = [tuple(wholes[plan.head_index])] if plan.head_index >= 0 else []
                    terms = counter.count_terms(head + morphs)
                chunks.append(AnalyzedChunk(chunk, terms))
            out.append(chunks)
        return out


@dataclass(slots=True)
class _SectionPlan:
    """Where one section's analysis results sit in the batch. Indexes are -1 when absent."""

    section: Section
    head_index: int = -1
    record_text: str | None = None
    record_index: int = -1
    line_start: int = 0
    line_end: int = 0


@dataclass(slots=True)
class _Batch:
    """Collects the texts of a batch so Kiwi analyses them in two multi-threaded calls.

    ``lines`` are split into sentences; ``wholes`` (chunk heads and short records) are only
    analysed when counting terms.
    """

    counting: bool
    lines: list[str] = field(default_factory=list)
    wholes: list[str] = field(default_factory=list)

    def plan(self, document: Document, section: Section, *, record: bool, max_chars: int) -> _SectionPlan:
        plan = _SectionPlan(section)
        # The same head that Chunk.indexed_text puts on its first line.
        head = " > ".join(part for part in (document.title, section.heading) if part)
        if head and self.counting:
            plan.head_index = self._whole(head)
        text = section.text.strip()
        if record and len(text) <= max_chars:
            plan.record_text = text
            if self.counting:
                plan.record_index = self._whole(text)
            return plan
        plan.line_start = len(self.lines)
        self.lines.extend(line for line in (" ".join(raw.split()) for raw in text.splitlines()) if line)
        plan.line_end = len(self.lines)
        return plan

    def _whole(self, text: str) -> int:
        self.wholes.append(text)
        return len(self.wholes) - 1


def pack_units(
    units: Sequence[TextUnit], *, max_chars: int, overlap_chars: int
) -> list[tuple[TextUnit, ...]]:
    """Greedy packing of units (each at most ``max_chars`` long) into chunks; see ``KoreanChunker``."""
    groups: list[tuple[TextUnit, ...]] = []
    current: list[TextUnit] = []
    for unit in units:
        if current and _length([*current, unit]) > max_chars:
            emit, carry = _split_trailing_headings(current)
            if carry and _length([*carry, unit]) > max_chars:
                emit, carry = current, []
            groups.append(tuple(emit))
            overlap = [] if carry or unit.heading else _overlap(emit, overlap_chars)
            current = overlap + carry
            if _length([*current, unit]) > max_chars:
                current = carry
        current.append(unit)
    if current:
        groups.append(tuple(current))
    return groups


def render(units: Sequence[TextUnit]) -> str:
    """The chunk text of packed units: the first unit's joiner is dropped."""
    return units[0].text + "".join(u.joiner + u.text for u in units[1:])


def _length(units: Sequence[TextUnit]) -> int:
    return sum(len(u.text) for u in units) + sum(len(u.joiner) for u in units[1:])


def _split_trailing_headings(units: list[TextUnit]) -> tuple[list[TextUnit], list[TextUnit]]:
    cut = len(units)
    while cut > 0 and units[cut - 1].heading:
        cut -= 1
    if cut == 0:
        return units, []
    return units[:cut], units[cut:]


def _overlap(units: list[TextUnit], overlap_chars: int) -> list[TextUnit]:
    """The longest run of trailing units (never all of them) that fits in ``overlap_chars``."""
    start = len(units)
    while start > 1 and _length(units[start - 1 :]) <= overlap_chars:
        start -= 1
    return list(units[start:])


def _looks_like_heading(line: str) -> bool:
    return len(line) <= HEADING_MAX_CHARS and not _SENTENCE_END.search(line) and not _BULLET.match(line)


def _line_units(line: str, sentences: Sequence[AnalyzedSentence]) -> list[TextUnit]:
    """A line's sentences as units that together cover the whole line."""
    if not sentences:
        return [TextUnit(line, heading=_looks_like_heading(line))]
    starts = [0]
    for sentence in sentences[1:]:
        if sentence.start > starts[-1]:
            starts.append(sentence.start)
    starts.append(len(line))
    for i in range(1, len(starts) - 1):
        marker = _TRAILING_MARKER.search(line, starts[i - 1], starts[i])
        if marker is not None and marker.start(1) > starts[i - 1]:
            starts[i] = marker.start(1)
    units: list[TextUnit] = []
    joiner = "\n"
    spans = list(itertools.pairwise(starts))
    line_morphemes = [m for s in sentences for m in s.morphemes]
    for a, b in spans:
        text = line[a:b].rstrip()
        morphemes = tuple(m for m in line_morphemes if a <= m.start < b)
        heading = len(spans) == 1 and _looks_like_heading(line)
        units.append(TextUnit(text, joiner, heading, morphemes, a))
        joiner = line[a + len(text) : b]
    return units


def _hard_split(unit: TextUnit, max_chars: int) -> list[TextUnit]:
    """Cuts an over-long unit at the last space in the second half of each window (else mid-word)."""
    text = unit.text
    if len(text) <= max_chars:
        return [unit]
    pieces: list[TextUnit] = []
    offset = 0
    joiner = unit.joiner
    while len(text) - offset > max_chars:
        limit = offset + max_chars
        cut = text.rfind(" ", offset + max_chars // 2, limit + 1)
        resume = cut + 1 if cut > offset else limit
        cut = cut if cut > offset else limit
        pieces.append(_piece(unit, offset, cut, joiner))
        joiner = text[cut:resume]
        offset = resume
    pieces.append(_piece(unit, offset, len(text), joiner))
    return pieces


def _piece(unit: TextUnit, start: int, end: int, joiner: str) -> TextUnit:
    lo, hi = unit.origin + start, unit.origin + end
    morphemes = tuple(m for m in unit.morphemes if lo <= m.start < hi)
    return TextUnit(unit.text[start:end], joiner, False, morphemes, lo)
