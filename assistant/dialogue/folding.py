"""Folds Korean text for rule matching: compact, lower-case, jamo-level, typo-tolerant, with offsets.

Rule patterns and user text go through the same fold, so a rule written once as ``쓰러졌`` also
matches ``쓰러 졌``, ``쓰러젔`` and ``쓰러졋``:

* NFKC (full-width digits and letters become ASCII), then lower case.
* Spaces, punctuation and symbols are dropped, so spacing variants meet. Between two digits a
  dropped run becomes one space (or stays ``,``/``.`` when it is exactly that), so ``1,119원`` does
  not read as ``119`` and ``010 1234`` does not read as one number.
* Each Hangul syllable becomes its conjoining jamo (initial, vowel, optional final). A pattern
  syllable written without a final consonant therefore matches the text's syllable with one:
  ``쉬`` matches ``쉰``, ``불나`` matches ``불났``.
* Cheap typo tolerance on jamo: final consonants fold to their pronounced class
  (ㄲㅋ→ㄱ; ㅅㅆㅈㅊㅌㅎ→ㄷ; ㅍ→ㅂ), ㅐ/ㅔ, ㅒ/ㅖ and ㅙ/ㅚ/ㅞ merge, and after ㅈㅉㅊ the
  y-vowels merge with their plain ones (``졌``/``젔``).

``FoldedText.offsets`` maps every folded character back to its index in the original string.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

_SYLLABLE_FIRST = 0xAC00
_SYLLABLE_LAST = 0xD7A3
_INITIAL_BASE = 0x1100
_VOWEL_BASE = 0x1161
_FINAL_BASE = 0x11A7  # final index 0 means "no final consonant"

# Vowel indices: 0 ㅏ 1 ㅐ 2 ㅑ 3 ㅒ 4 ㅓ 5 ㅔ 6 ㅕ 7 ㅖ 8 ㅗ 9 ㅘ 10 ㅙ 11 ㅚ 12 ㅛ 13 ㅜ ...
_VOWEL_FOLD = {1: 5, 3: 7, 10: 15, 11: 15}
_PALATAL_INITIALS = frozenset({12, 13, 14})  # ㅈ ㅉ ㅊ
_PALATAL_VOWEL_FOLD = {2: 0, 6: 4, 7: 5, 12: 8, 17: 13}  # ㅑ→ㅏ ㅕ→ㅓ ㅖ→ㅔ ㅛ→ㅗ ㅠ→ㅜ
# Final indices: 1 ㄱ 2 ㄲ 7 ㄷ 17 ㅂ 19 ㅅ 20 ㅆ 22 ㅈ 23 ㅊ 24 ㅋ 25 ㅌ 26 ㅍ 27 ㅎ
_FINAL_FOLD = {2: 1, 24: 1, 19: 7, 20: 7, 22: 7, 23: 7, 25: 7, 27: 7, 26: 17}


@dataclass(frozen=True, slots=True)
class FoldedText:
    """Folded text plus, for each of its characters, the index of the original character."""

    text: str
    offsets: tuple[int, ...]
    source: str

    def original(self, start: int, end: int) -> str:
        """The original substring that folded characters ``start:end`` came from."""
        if start >= end:
            return ""
        return self.source[self.offsets[start] : self.offsets[end - 1] + 1]


def is_syllable(char: str) -> bool:
    """Whether ``char`` is a precomposed Hangul syllable (가..힣)."""
    return _SYLLABLE_FIRST <= ord(char) <= _SYLLABLE_LAST


def fold_syllable(char: str) -> str:
    """One Hangul syllable as folded conjoining jamo (two or three characters)."""
    index = ord(char) - _SYLLABLE_FIRST
    initial, rest = divmod(index, 21 * 28)
    vowel, final = divmod(rest, 28)
    vowel = _VOWEL_FOLD.get(vowel, vowel)
    if initial in _PALATAL_INITIALS:
        vowel = _PALATAL_VOWEL_FOLD.get(vowel, vowel)
    final = _FINAL_FOLD.get(final, final)
    jamo = chr(_INITIAL_BASE + initial) + chr(_VOWEL_BASE + vowel)
    return jamo + chr(_FINAL_BASE + final) if final else jamo


def _is_dropped(char: str) -> bool:
    return unicodedata.category(char)[0] in "ZPSC"


def fold(text: str) -> FoldedText:
    """Fold ``text`` for matching (see the module docstring)."""
    out: list[str] = []
    offsets: list[int] = []
    pending: list[tuple[int, str]] = []  # the dropped run since the last kept character
    for index, raw in enumerate(text):
        for char in unicodedata.normalize("NFKC", raw).lower():
            if _is_dropped(char):
                pending.append((index, char))
                continue
            if pending and char.isdigit() and out and out[-1].isdigit():
                run = "".join(c for _, c in pending)
                out.append(run if run in {",", "."} else " ")
                offsets.append(pending[0][0])
            pending.clear()
            folded = fold_syllable(char) if is_syllable(char) else char
            out.append(folded)
            offsets.extend([index] * len(folded))
    return FoldedText(text="".join(out), offsets=tuple(offsets), source=text)


def fold_pattern(pattern: str) -> str:
    """Rewrite a regex written in plain Hangul so it matches folded text.

    Each syllable becomes a non-capturing group of its folded jamo, so quantifiers and alternation
    keep working on whole syllables. Hangul inside a character class cannot be folded (a syllable
    is several jamo), so it is rejected with ``ValueError``; write ``(났|낫)`` instead.
    """
    out: list[str] = []
    in_class = False
    escaped = False
    for char in pattern:
        if escaped:
            out.append(char)
            escaped = False
        elif char == "\\":
            out.append(char)
            escaped = True
        elif in_class:
            if is_syllable(char):
                raise ValueError(f"Hangul inside a character class cannot be folded: {pattern!r}")
            in_class = char != "]"
            out.append(char)
        elif char == "[":
            in_class = True
            out.append(char)
        elif is_syllable(char):
            out.append(f"(?:{fold_syllable(char)})")
        else:
            out.append(char.lower())
    return "".join(out)
