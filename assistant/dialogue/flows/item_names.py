"""Matching what a citizen calls an item ("소파", "장롱 하나요") to the names of a fee table ("쇼파")."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.dialogue.flows.choices import fold, fold_answer

_ALTERNATIVE_SPLIT = re.compile(r"[()/,+*·\[\]]")
_SYLLABLE_FIRST, _SYLLABLE_LAST = 0xAC00, 0xD7A3
FUZZY_THRESHOLD = 0.7


def alternatives(item: str) -> tuple[str, ...]:
    """The folded names an item goes by: "식탁(테이블)" → 식탁(테이블), 식탁, 테이블."""
    parts = [fold(item), *(fold(part) for part in _ALTERNATIVE_SPLIT.split(item))]
    return tuple(dict.fromkeys(p for p in parts if len(p) >= 2))


def jamo(text: str) -> str:
    """Hangul syllables spelled out as jamo indices, so "소파" and "쇼파" differ by one letter."""
    out: list[str] = []
    for char in text:
        code = ord(char)
        if _SYLLABLE_FIRST <= code <= _SYLLABLE_LAST:
            index = code - _SYLLABLE_FIRST
            out += [chr(0x1100 + index // 588), chr(0x1161 + (index % 588) // 28)]
            if index % 28:
                out.append(chr(0x11A7 + index % 28))
        else:
            out.append(char)
    return "".join(out)


def similarity(a: str, b: str) -> float:
    """1 − (edit distance / longer length) over jamo."""
    x, y = jamo(a), jamo(b)
    if not x or not y:
        return 0.0
    previous = list(range(len(y) + 1))
    for i, cx in enumerate(x, start=1):
        current = [i]
        for j, cy in enumerate(y, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (cx != cy)))
        previous = current
    return 1 - previous[-1] / max(len(x), len(y))


@dataclass(frozen=True, slots=True)
class NameMatch:
    """The item named, or the close candidates."""

    item: str | None
    candidates: tuple[str, ...] = ()


def match_name(text: str, items: Iterable[str], synonyms: Sequence[Sequence[str]] = ()) -> NameMatch:
    """Exact name (or a synonym of the answer) > names the text contains (the longest, unless two sit
    apart; the text as said before its synonyms) > names containing the answer > the closest spelling."""
    names = {item: alternatives(item) for item in items}
    answer, whole = fold_answer(text), fold(text)
    terms = {answer, whole} | _group_of(answer, synonyms) | _group_of(whole, synonyms)
    exact = [item for item, alts in names.items() if any(a in terms for a in alts)]
    if exact:
        return _pick(exact)
    for variants in ([whole], _variants(whole, synonyms)):
        outer: set[str] = set()
        for variant in variants:
            outer |= _outermost(variant, names)
        if outer:
            return _pick(sorted(outer))
    inside = [item for item, alts in names.items() if len(answer) >= 2 and any(answer in a for a in alts)]
    if inside:
        return _pick(sorted(inside, key=len))
    scored = sorted(
        ((max(similarity(answer, a) for a in alts), item) for item, alts in names.items() if alts),
        reverse=True,
    )
    close = [item for score, item in scored if score >= FUZZY_THRESHOLD]
    if len(close) == 1 or (close and scored[0][0] > scored[1][0]):
        return NameMatch(close[0])
    return NameMatch(None, tuple(close[:5]))


def _pick(items: Sequence[str]) -> NameMatch:
    return NameMatch(items[0]) if len(items) == 1 else NameMatch(None, tuple(items))


def _outermost(text: str, names: dict[str, tuple[str, ...]]) -> set[str]:
    """Items whose name occurs in ``text`` and is not part of a longer item name occurring there."""
    spans = [
        (item, start, start + len(alt))
        for item, alts in names.items()
        for alt in alts
        if (start := text.find(alt)) >= 0
    ]
    return {
        item
        for item, s, e in spans
        if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for _, s2, e2 in spans)
    }


def _group_of(word: str, synonyms: Sequence[Sequence[str]]) -> set[str]:
    for group in synonyms:
        words = {fold(w) for w in group} - {""}
        if word in words:
            return words
    return set()


def _variants(folded: str, synonyms: Sequence[Sequence[str]]) -> list[str]:
    """``folded`` with a synonym it contains replaced by each other word of its group."""
    out: list[str] = []
    for group in synonyms:
        words = [w for w in (fold(x) for x in group) if w]
        for word in words:
            if word in folded:
                out += [folded.replace(word, other) for other in words if other != word]
    return out
