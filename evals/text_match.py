"""Finding facts in Korean answer text: spacing- and digit-grouping-insensitive, digit-bounded."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence

from evals.datasets import Fact

_DIGIT_GROUP = re.compile(r"(?<=\d),(?=\d{3})")
_SPACE = re.compile(r"\s+")


def squash(text: str) -> str:
    """NFC, lower case, no whitespace, no thousands separators ("8,000 원" → "8000원")."""
    text = unicodedata.normalize("NFC", text).lower()
    return _SPACE.sub("", _DIGIT_GROUP.sub("", text))


def contains(text: str, phrase: str) -> bool:
    """Whether ``phrase`` occurs in ``text`` once both are squashed. A phrase that starts or ends with a
    digit must not continue a longer number ("4,000원" is not in "14,000원")."""
    needle = squash(phrase)
    if not needle:
        return False
    pattern = re.escape(needle)
    if needle[0].isdigit():
        pattern = r"(?<![\d.])" + pattern
    if needle[-1].isdigit():
        pattern += r"(?![\d])"
    return re.search(pattern, squash(text)) is not None


def fact_found(text: str, fact: Fact) -> bool:
    """A fact is a phrase, or a tuple of acceptable spellings of one phrase."""
    spellings = (fact,) if isinstance(fact, str) else fact
    return any(contains(text, spelling) for spelling in spellings)


def describe(fact: Fact) -> str:
    return fact if isinstance(fact, str) else " | ".join(fact)


def found_facts(text: str, facts: Sequence[Fact]) -> tuple[list[Fact], list[Fact]]:
    """(found, missing) facts, in order."""
    found = [f for f in facts if fact_found(text, f)]
    missing = [f for f in facts if not fact_found(text, f)]
    return found, missing
