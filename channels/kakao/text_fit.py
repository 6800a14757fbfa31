"""Fitting text into Kakao's speech bubbles: plain text, sentence-boundary splitting, trimming, labels.

Lengths are counted per character (Unicode code point) after NFC normalisation, so a precomposed
Hangul syllable counts once, as Kakao counts it; bytes never matter.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

ELLIPSIS = "…"

# A sentence ends at . ! ? 。 … (with closing quotes or brackets) followed by whitespace, or at a line
# break. The split keeps the punctuation and the whitespace with the sentence before it.
_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((https?://[^)\s]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|`+)(.+?)\1")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}[ \t]+", re.MULTILINE)
_BOUNDARY = re.compile(r"(?<=[.!?。…])\s+|(?<=[.!?。…][\"'”’)\]」』])\s+|\n+")


def normalise(text: str) -> str:
    """NFC, unified line breaks and no surrounding whitespace."""
    return unicodedata.normalize("NFC", text).replace("\r\n", "\n").replace("\r", "\n").strip()


def plain(text: str) -> str:
    """Markdown a speech bubble would show as literal symbols (links, emphasis, code, headings) turned
    into plain text; "1. …" and "- …" lines stay, they read as intended."""
    text = _MD_LINK.sub(r"\1 (\2)", text)
    text = _EMPHASIS.sub(r"\2", text)
    return _HEADING.sub("", text)


def sentences(text: str) -> list[str]:
    """Splits at sentence ends and line breaks; each piece keeps its own trailing separator."""
    pieces: list[str] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if end > start:
            pieces.append(text[start:end])
        start = end
    if start < len(text):
        pieces.append(text[start:])
    return pieces


@dataclass(frozen=True, slots=True)
class FittedText:
    """``parts`` each fit the limit; ``truncated`` says text was dropped to fit ``max_parts``."""

    parts: tuple[str, ...]
    truncated: bool


def split_text(text: str, limit: int, max_parts: int, note: str = "") -> FittedText:
    """Packs whole sentences into at most ``max_parts`` parts of at most ``limit`` characters.

    A sentence longer than ``limit`` is cut at the last space before the limit (or at the limit).
    When the text does not fit, the last part is shortened at a sentence or word boundary and
    ``note`` (for example "(이하 생략)") is appended to it.
    """
    if limit < 1 or max_parts < 1:
        raise ValueError("limit and max_parts must be positive")
    if len(note) >= limit:
        raise ValueError("the truncation note must be shorter than the limit")
    text = normalise(text)
    if not text:
        return FittedText((), False)
    parts: list[str] = []
    current = ""
    for sentence in sentences(text):
        for piece in _hard_wrap(sentence, limit):
            if len(current) + len(piece) <= limit:
                current += piece
            else:
                parts.append(current)
                current = piece
    parts.append(current)
    parts = [p.strip() for p in parts if p.strip()]
    if len(parts) <= max_parts:
        return FittedText(tuple(parts), False)
    kept = parts[:max_parts]
    kept[-1] = _shorten(kept[-1], limit - len(note)) + note
    return FittedText(tuple(kept), True)


def trim(text: str, limit: int) -> str:
    """``text`` normalised to one line and cut to ``limit`` characters, ending in "…" when cut."""
    flat = " ".join(normalise(text).split())
    if len(flat) <= limit:
        return flat
    return flat[: limit - 1].rstrip() + ELLIPSIS


def _hard_wrap(sentence: str, limit: int) -> list[str]:
    pieces: list[str] = []
    while len(sentence) > limit:
        cut = sentence.rfind(" ", 0, limit)
        cut = cut + 1 if cut > limit // 2 else limit
        pieces.append(sentence[:cut])
        sentence = sentence[cut:]
    if sentence:
        pieces.append(sentence)
    return pieces


def _shorten(part: str, room: int) -> str:
    """``part`` cut to ``room`` characters at the last sentence end, else the last space."""
    if len(part) <= room:
        return part.rstrip()
    head = part[:room]
    ends = [m.end() for m in _BOUNDARY.finditer(head)]
    if ends and ends[-1] > room // 2:
        return head[: ends[-1]].rstrip()
    space = head.rfind(" ")
    if space > room // 2:
        return head[:space].rstrip() + ELLIPSIS
    return head[: room - 1].rstrip() + ELLIPSIS
