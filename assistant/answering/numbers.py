"""Numbers in Korean text (amounts, dates, ages, phone numbers), normalised so "8,000원" = "8000원"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

# A phone-like code keeps its hyphens (1599-0903, 02-120); anything else is a quantity, with Korean
# multipliers (34만 원 = 340000 원) and a unit read from the characters that follow.
_PHONE = r"(?<![\d.,])\d{2,4}(?:-\d{2,4}){1,2}(?![\d,])"
_QUANTITY = r"(?<![\d.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\d.,])\d+(?:\.\d+)?"
_NUMBER = re.compile(
    rf"(?P<phone>{_PHONE})|(?P<value>{_QUANTITY})\s*(?P<mult>억|만|천)?\s*(?P<unit>"
    r"원|세|살|시간|개월|달|주일|주|일|년|월|시|분|초|통|장|명|개|회|번|대|면|kg|cm|m|km|L|%|퍼센트|호선|등급|층|km/h)?"
)
_MULTIPLIERS = {"억": Decimal(100_000_000), "만": Decimal(10_000), "천": Decimal(1_000)}
_UNIT_ALIASES = {"살": "세", "퍼센트": "%", "달": "개월"}
_BINDING_WINDOW = 20
"""An amount is bound to numbers written at most this many characters before it ("30일 5,000원")."""


@dataclass(frozen=True, slots=True)
class Quantity:
    """A number as written: ``key`` is its normalised value (or the phone code), ``unit`` may be ''."""

    key: str
    unit: str
    start: int
    end: int

    @property
    def is_amount(self) -> bool:
        return self.unit == "원"

    def matches(self, other: Quantity) -> bool:
        """Same value; units must agree when both texts wrote one."""
        return self.key == other.key and (not self.unit or not other.unit or self.unit == other.unit)


def quantities(text: str) -> list[Quantity]:
    """Every number in ``text``, in order. "10만 원", "100,000원" and "100000 원" share a key."""
    out: list[Quantity] = []
    for match in _NUMBER.finditer(text):
        phone = match.group("phone")
        if phone is not None:
            out.append(Quantity(phone, "tel", match.start(), match.end()))
            continue
        value = _value(match.group("value"), match.group("mult") or "")
        if value is None:
            continue
        unit = match.group("unit") or ""
        out.append(Quantity(value, _UNIT_ALIASES.get(unit, unit), match.start(), match.end()))
    return out


def unsupported_quantities(sentence: str, source: str) -> list[str]:
    """Numbers of ``sentence`` that ``source`` does not state, as written in the sentence.

    Beyond presence, an amount bound to a qualifier ("30일 3,000원") must be bound to the same qualifier in
    the source: "7일 3,000원, 30일 5,000원" does not support "30일권은 3,000원". Where the source writes the
    amount without a qualifier, the sentence's qualifier must not be bound to another amount there
    ("30일권은 62,000원, 따릉이까지 포함하면 65,000원" does not support "30일권은 65,000원").
    """
    theirs = quantities(source)
    mine = quantities(sentence)
    problems: list[str] = []
    for index, quantity in enumerate(mine):
        written = sentence[quantity.start : quantity.end].strip()
        occurrences = [i for i, q in enumerate(theirs) if q.matches(quantity)]
        if not occurrences:
            problems.append(written)
            continue
        if not quantity.is_amount:
            continue
        qualifiers = _qualifiers(mine, index, sentence)
        if not qualifiers:
            continue
        qualifier = qualifiers[0]
        bound = [_qualifiers(theirs, i, source) for i in occurrences]
        if any(any(q.matches(qualifier) for q in b) for b in bound):
            continue
        elsewhere = any(
            theirs[j].is_amount and any(q.matches(qualifier) for q in _qualifiers(theirs, j, source))
            for j in range(len(theirs))
        )
        if all(bound) or elsewhere:
            problems.append(f"{sentence[qualifier.start : qualifier.end].strip()} … {written}")
    return problems


def _qualifiers(items: list[Quantity], index: int, text: str) -> list[Quantity]:
    """The non-amount numbers written before ``items[index]`` in the same clause, within the binding
    window, nearest first ("10년 복수여권(58면) 수수료는 53,000원" → 58면, 10년)."""
    out: list[Quantity] = []
    end = items[index].start
    for before in reversed(items[:index]):
        if before.is_amount or items[index].start - before.end > _BINDING_WINDOW:
            break
        if any(mark in text[before.end : end] for mark in ",;/"):
            break
        out.append(before)
        end = before.start
    return out


def _value(digits: str, multiplier: str) -> str | None:
    try:
        value = Decimal(digits.replace(",", ""))
    except InvalidOperation:
        return None
    if multiplier:
        value *= _MULTIPLIERS[multiplier]
    return format(value.normalize(), "f")
