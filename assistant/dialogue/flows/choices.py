"""Matching an answer to one of several choices: by its words, an alias, its number ("2번", "두 번째")."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

_ORDINALS = ("첫", "두", "세", "네", "다섯", "여섯", "일곱", "여덟", "아홉", "열")
_TRAILING = re.compile(
    r"(?:짜리(?:로|요|이요)?|으로요|으로|로요|로|이에요|이요|예요|에요|입니다|할게요|할께요|요)$"
)
_DROPPED = re.compile(r"[\s.,!?~'\"()\[\]·/+*-]")


def fold(text: str) -> str:
    """Compact form for comparisons: NFKC, lower case, no spaces or punctuation, no digit grouping."""
    text = unicodedata.normalize("NFKC", text).lower()
    text = re.sub(r"(?<=\d),(?=\d{3})", "", text)
    return _DROPPED.sub("", text)


def fold_answer(text: str) -> str:
    """``fold`` without a trailing particle or copula: "강남구요" → "강남구", "2번이요" → "2번"."""
    folded = fold(text)
    stripped = _TRAILING.sub("", folded)
    return stripped or folded


@dataclass(frozen=True, slots=True)
class Choice:
    """A choice and the words that pick it."""

    value: str
    aliases: tuple[str, ...] = ()

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(w for w in (fold(self.value), *(fold(a) for a in self.aliases)) if w)


def ordinal_index(text: str, count: int) -> int | None:
    """``"2"``, ``"2번"``, ``"두 번째"``, ``"마지막"`` → a 0-based index below ``count``."""
    answer = fold_answer(text)
    if answer in {"마지막", "마지막거", "마지막것"}:
        return count - 1 if count else None
    if (digits := re.fullmatch(r"(\d{1,2})(?:번째|번|째)?(?:거|것)?", answer)) is not None:
        index = int(digits.group(1)) - 1
    elif (
        word := re.fullmatch(r"(첫|두|세|네|다섯|여섯|일곱|여덟|아홉|열)번?째(?:거|것)?", answer)
    ) is not None:
        index = _ORDINALS.index(word.group(1))
    else:
        return None
    return index if 0 <= index < count else None


def match_choice(text: str, choices: Sequence[Choice]) -> Choice | None:
    """The one choice ``text`` picks: its words or an alias exactly, its number, or the one whose words
    the text contains (or that contains the text); ``None`` when no single choice fits."""
    answer = fold_answer(text)
    if not answer:
        return None
    exact = [c for c in choices if answer in c.words or fold(text) in c.words]
    if len(exact) == 1:
        return exact[0]
    index = ordinal_index(text, len(choices))
    if index is not None:
        return choices[index]
    folded = fold(text)
    contained = [c for c in choices if any(len(w) >= 2 and w in folded for w in c.words)]
    if len(contained) == 1:
        return contained[0]
    if len(contained) > 1:
        longest = max(contained, key=lambda c: max(len(w) for w in c.words if w in folded))
        best = max(len(w) for w in longest.words if w in folded)
        if sum(1 for c in contained if any(len(w) == best and w in folded for w in c.words)) == 1:
            return longest
        return None
    containing = [c for c in choices if len(answer) >= 2 and any(answer in w for w in c.words)]
    return containing[0] if len(containing) == 1 else None
