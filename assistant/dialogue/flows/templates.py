"""Message templates of flow files: ``{slot}``, ``{slot:won}`` (an amount in won) and ``{slot:은}`` (the
value with the right particle: 은/는, 이/가, 을/를, 과/와, 으로/로 by its last syllable)."""

from __future__ import annotations

import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

_PARTICLE_PAIRS = (("은", "는"), ("이", "가"), ("을", "를"), ("과", "와"), ("으로", "로"))
"""Particles as (after a final consonant, after a vowel); a template may name either form."""
TEMPLATE_FORMATS: frozenset[str] = frozenset(
    {"", "won", *(form for pair in _PARTICLE_PAIRS for form in pair)}
)


@dataclass(frozen=True, slots=True)
class Placeholder:
    """One ``{name}`` or ``{name:format}`` of a template."""

    name: str
    format: str


def placeholders_of(template: str) -> tuple[Placeholder, ...]:
    """Every placeholder of ``template``; raises ``ValueError`` when the braces are malformed."""
    found: list[Placeholder] = []
    for _, name, spec, conversion in string.Formatter().parse(template):
        if name is None:
            continue
        if not name.isidentifier() or conversion is not None:
            raise ValueError(f"placeholder {{{name}}} must be a plain slot name")
        found.append(Placeholder(name=name, format=spec or ""))
    return tuple(found)


def format_won(amount: int) -> str:
    """``15000`` → ``15,000원``; nothing to pay reads ``무료``."""
    return "무료" if amount == 0 else f"{amount:,}원"


def with_particle(word: str, particle: str) -> str:
    """``word`` and the form of ``particle`` its last syllable takes: ("장롱", "은") → "장롱은",
    ("주소", "을") → "주소를". A word ending in ㄹ takes 로; one not ending in Hangul takes the 은/이 form."""
    with_final, without_final = next(pair for pair in _PARTICLE_PAIRS if particle in pair)
    last = word.rstrip()[-1:] if word.strip() else ""
    if not ("가" <= last <= "힣"):
        return f"{word}{with_final}"
    final = (ord(last) - 0xAC00) % 28
    if with_final == "으로" and final == 8:  # ㄹ
        return f"{word}로"
    return f"{word}{with_final if final else without_final}"


def render(template: str, display: Callable[[str], str], amount: Callable[[str], int | None]) -> str:
    """Fill ``template``: ``display(name)`` for plain placeholders, ``amount(name)`` for ``:won`` ones."""
    parts: list[str] = []
    for literal, name, spec, _ in string.Formatter().parse(template):
        parts.append(literal)
        if name is None:
            continue
        if spec == "won":
            value = amount(name)
            parts.append(format_won(value) if value is not None else display(name))
        elif spec in TEMPLATE_FORMATS and spec:
            shown = display(name)
            parts.append(with_particle(shown, spec) if shown else "")
        else:
            parts.append(display(name))
    return "".join(parts).strip()


def render_plain(template: str, values: Mapping[str, str]) -> str:
    """Fill ``template`` from a plain mapping (names without a value become empty)."""
    return render(template, lambda name: values.get(name, ""), lambda _: None)
