"""Kiwi morphological analysis behind our own types; the only module that imports ``kiwipiepy``."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any, Literal, NamedTuple

from kiwipiepy import Kiwi

KiwiModelType = Literal["none", "largest", "cong", "cong-global"]

_IRREGULAR_SUFFIXES = ("-I", "-R")
"""Kiwi marks (ir)regular conjugation on verb-like tags: ``VV-R``, ``VA-I``."""


class Morpheme(NamedTuple):
    """One morpheme. ``tag`` is Kiwi's POS tag without the conjugation suffix (``VV-R`` → ``VV``);
    ``start``/``end`` are character offsets into the analysed text."""

    form: str
    tag: str
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class AnalyzedSentence:
    """A sentence as ``[start, end)`` offsets into the analysed text, with its kept morphemes."""

    start: int
    end: int
    morphemes: tuple[Morpheme, ...]


class KiwiAnalyzer:
    """Owns one ``kiwipiepy.Kiwi``; create it once and share it (the model takes ~650 MB and seconds).

    Batch calls fan out over ``num_workers`` C++ threads; a single text runs in the calling thread.
    The Kiwi instance is created on first use (behind a lock), so building services stays fast.
    Concurrent calls from several threads are safe (checked against sequential results).

    ``tags`` filters which morphemes are returned, by base tag: ``None`` keeps all, an empty set
    none (sentence splitting only). Filtering inside the loop keeps per-token Python work small.
    """

    def __init__(self, *, num_workers: int, model_type: KiwiModelType = "none") -> None:
        if num_workers < 1:
            raise ValueError("num_workers must be at least 1")
        self._num_workers = num_workers
        self._model_type = model_type
        self._lock = threading.Lock()
        self._kiwi: Any = None

    @property
    def analyzer_id(self) -> str:
        """Names the tokenisation: the Kiwi release (major.minor) and language model."""
        major_minor = ".".join(version("kiwipiepy").split(".")[:2])
        return f"kiwi{major_minor}-{self._model_type}"

    @property
    def num_workers(self) -> int:
        return self._num_workers

    def warm_up(self) -> None:
        """Load the model now instead of on the first analysis."""
        self._get().tokenize("")

    def morphemes(self, texts: Sequence[str], *, tags: Iterable[str] | None = None) -> list[list[Morpheme]]:
        """Morphemes of each text, in order."""
        kiwi = self._get()
        keep = _expand_tags(tags)
        if len(texts) == 1:
            return [_convert(kiwi.tokenize(texts[0]), keep)]
        return [_convert(tokens, keep) for tokens in kiwi.tokenize(list(texts))]

    def sentences(
        self, texts: Sequence[str], *, tags: Iterable[str] | None = None
    ) -> list[list[AnalyzedSentence]]:
        """Sentences of each text, each with its kept morphemes (one analysis pass does both)."""
        kiwi = self._get()
        keep = _expand_tags(tags)
        if len(texts) == 1:
            results: Iterable[Any] = [
                kiwi.split_into_sents(texts[0], return_tokens=True, return_sub_sents=False)
            ]
        else:
            results = kiwi.split_into_sents(list(texts), return_tokens=True, return_sub_sents=False)
        return [
            [AnalyzedSentence(s.start, s.end, tuple(_convert(s.tokens, keep))) for s in sents]
            for sents in results
        ]

    def _get(self) -> Any:
        kiwi = self._kiwi
        if kiwi is None:
            with self._lock:
                if self._kiwi is None:
                    self._kiwi = Kiwi(num_workers=self._num_workers, model_type=self._model_type)
                kiwi = self._kiwi
        return kiwi


def _expand_tags(tags: Iterable[str] | None) -> dict[str, str] | None:
    """Raw Kiwi tag → base tag, for the kept base tags and their conjugation variants."""
    if tags is None:
        return None
    return {tag + suffix: tag for tag in tags for suffix in ("", *_IRREGULAR_SUFFIXES)}


def _convert(tokens: Iterable[Any], keep: dict[str, str] | None) -> list[Morpheme]:
    if keep is None:
        return [Morpheme(t.form, _base_tag(t.tag), t.start, t.start + t.len) for t in tokens]
    if not keep:
        return []
    return [
        Morpheme(t.form, base, t.start, t.start + t.len)
        for t in tokens
        if (base := keep.get(t.tag)) is not None
    ]


def _base_tag(tag: str) -> str:
    return tag[:-2] if tag.endswith(_IRREGULAR_SUFFIXES) else tag
