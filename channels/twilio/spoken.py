"""Reply text for the ear: no citation markers, URLs, markdown or emoji; short sentences; numbers read aloud.

Web and e-mail addresses are rephrased rather than cut where a sentence needs them ("…gov.kr에서" →
"홈페이지에서", see ``spoken_links``).

Pure string work, so it is cheap to run on every turn. Hotline numbers and hyphenated phone numbers
are read digit by digit the way Koreans say them ("1577-0199" → "일오칠칠 공일구구", "120" →
"일이공"); amounts and dates are left to the TTS voice, which reads them well.
"""

from __future__ import annotations

import re

from channels.twilio.spoken_links import without_addresses

_DIGITS = dict(zip("0123456789", "공일이삼사오육칠팔구", strict=True))

_MD_LINK = re.compile(r"\[([^\]\n]+)\]\((?:[^)\s]+)\)")
_CITATION = re.compile(r"\s*\[\d+(?:\s*[,，-]\s*\d+)*\]")
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\ufe0f\u200d]")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s*", re.MULTILINE)
_BULLET = re.compile(r"^\s*(?:[-*+•·]|\d{1,2}[.)])\s+", re.MULTILINE)
_QUOTE = re.compile(r"^\s*>\s?", re.MULTILINE)
_RULE = re.compile(r"^\s*(?:[-*_]\s*){3,}$", re.MULTILINE)
_EMPHASIS = re.compile(r"(\*\*|__|\*|`+|~~)(.+?)\1")
_TABLE_SEPARATOR = re.compile(r"^\s*\|?\s*:?-{2,}.*$", re.MULTILINE)
_EMPTY_PARENS = re.compile(r"\(\s*[,.]?\s*\)")
_SPACES = re.compile(r"[ \t\u00a0]+")
_SPACE_BEFORE_PUNCT = re.compile(r"\s+([.,!?;:])")
_SENTENCE_END = re.compile(r"(?<=[.!?。？！])\s+")
_CLAUSE_BREAK = re.compile(r"(?<=[,，;])\s+|(?<=[가-힣]고|[가-힣]며|[가-힣]면|는데|지만)\s+")

_PHONE = re.compile(r"(?<![\d,.\-])(0\d{1,2}|1[5-8]\d{2})-(\d{3,4})(?:-(\d{4}))?(?![\d-])")
_HOTLINE = re.compile(
    r"(?<![\d,.\-])(1[0-3]\d{1,2})(?![\d,.]|\s*(?:원|명|개|년|월|일|시|분|초|세|회|건|장|층|호|조|항|%|km|m\b))"
)
_HOTLINES = frozenset(
    {"109", "110", "111", "112", "113", "114", "117", "118", "119", "120", "122", "125", "126", "127", "129"}
    | {"131", "132", "1330", "1345", "1366", "1388", "1393"}
)
"""Public service numbers (emergency, counselling, civil service) read digit by digit."""

MAX_SENTENCE_CHARS = 70


def read_digits(number: str) -> str:
    """Reads a string of digits one by one in Sino-Korean, zero as 공."""
    return "".join(_DIGITS.get(ch, ch) for ch in number)


def _phone(match: re.Match[str]) -> str:
    return " ".join(read_digits(group) for group in match.groups() if group)


def _hotline(match: re.Match[str]) -> str:
    number = match.group(1)
    if number in _HOTLINES:
        return read_digits(number)
    return number


def speakable(text: str) -> str:
    """Markdown, links, citation markers and emoji removed, web and e-mail addresses removed or
    rephrased; phone and hotline numbers read out."""
    text = _EMOJI.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _CITATION.sub("", text)
    text = without_addresses(text)
    text = _TABLE_SEPARATOR.sub("", text)
    text = _RULE.sub("", text)
    text = _HEADING.sub("", text)
    text = _QUOTE.sub("", text)
    text = _BULLET.sub("", text)
    text = _EMPHASIS.sub(r"\2", text)
    text = text.replace("|", ", ").replace("#", " ").replace("*", " ")
    text = _EMPTY_PARENS.sub("", text)
    text = _PHONE.sub(_phone, text)
    text = _HOTLINE.sub(_hotline, text)
    lines = [_SPACE_BEFORE_PUNCT.sub(r"\1", _SPACES.sub(" ", line)).strip(" ,") for line in text.splitlines()]
    return " ".join(_terminated(line) for line in lines if line)


def _terminated(line: str) -> str:
    """A list item or heading becomes a sentence of its own when it is read out."""
    return line if line[-1] in ".!?。？！:" else line + "."


def _split_long(sentence: str, limit: int) -> list[str]:
    if len(sentence) <= limit:
        return [sentence]
    pieces: list[str] = []
    current = ""
    for part in _CLAUSE_BREAK.split(sentence):
        candidate = f"{current} {part}".strip() if current else part
        if current and len(candidate) > limit:
            pieces.append(_with_pause(current))
            current = part
        else:
            current = candidate
    if current:
        pieces.append(current)
    return pieces


def _with_pause(piece: str) -> str:
    return piece if piece[-1] in ",，;.!?" else piece + ","


def ear_sentences(text: str, max_chars: int) -> tuple[str, ...]:
    """Speakable sentences no longer than ``MAX_SENTENCE_CHARS`` where a clause break allows,
    keeping whole sentences up to ``max_chars`` in total (the first is cut at a space if it alone
    is longer)."""
    sentences: list[str] = []
    for sentence in _SENTENCE_END.split(speakable(text)):
        sentences.extend(piece for piece in _split_long(sentence.strip(), MAX_SENTENCE_CHARS) if piece)
    kept: list[str] = []
    total = 0
    for sentence in sentences:
        extra = len(sentence) + (1 if kept else 0)
        if total + extra > max_chars:
            if not kept:
                kept.append(_cut(sentence, max_chars))
            break
        kept.append(sentence)
        total += extra
    return tuple(kept)


def _cut(sentence: str, max_chars: int) -> str:
    head = sentence[:max_chars]
    space = head.rfind(" ")
    return (head[:space] if space > max_chars // 2 else head).rstrip(" ,") + "."
