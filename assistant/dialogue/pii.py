"""PII redaction and deterministic contact parsing, run before anything is logged, traced or prompted.

``PiiRedactor.redact`` replaces resident registration numbers, phone, card and account numbers,
emails and the detailed part of addresses with Korean placeholders (``[전화번호]`` …) and reports
where they were, never what they were. ``extract_phone`` and ``extract_address`` are the parser
flows must use for contact details (never the LLM). What counts as PII is decided in
``pii_patterns``; amounts, dates, times, counts and public service numbers are left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

from assistant.dialogue.pii_patterns import (
    PiiPatterns,
    compile_pii_patterns,
    digits_of,
    is_common_word,
    luhn_valid,
    rrn_birth_date,
)

PiiKind = Literal["rrn", "phone", "card", "account", "email", "address"]


def placeholder(kind: PiiKind) -> str:
    """The Korean placeholder that replaces a value of ``kind``."""
    match kind:
        case "rrn":
            return "[주민등록번호]"
        case "phone":
            return "[전화번호]"
        case "card":
            return "[카드번호]"
        case "account":
            return "[계좌번호]"
        case "email":
            return "[이메일]"
        case "address":
            return "[주소]"


@dataclass(frozen=True, slots=True)
class PiiMatch:
    """Where a value of ``kind`` was, as ``start:end`` offsets into the original text (no value)."""

    kind: PiiKind
    start: int
    end: int


@dataclass(frozen=True, slots=True)
class Redaction:
    """The redacted text and what was found in the original."""

    text: str
    found: tuple[PiiMatch, ...]

    @property
    def kinds(self) -> frozenset[PiiKind]:
        return frozenset(m.kind for m in self.found)


class PiiRedactor:
    """Finds and redacts Korean PII; also the deterministic phone and address parser."""

    def __init__(self) -> None:
        self._p: PiiPatterns = compile_pii_patterns()

    def find(self, text: str) -> tuple[PiiMatch, ...]:
        """Every PII value in ``text``, in order, without overlaps (earlier detectors win)."""
        accepted: list[PiiMatch] = []
        for candidate in self._candidates(text):
            if not any(candidate.start < m.end and m.start < candidate.end for m in accepted):
                accepted.append(candidate)
        return tuple(sorted(accepted, key=lambda m: m.start))

    def redact(self, text: str) -> Redaction:
        found = self.find(text)
        parts: list[str] = []
        cursor = 0
        for match in found:
            parts.append(text[cursor : match.start])
            parts.append(placeholder(match.kind))
            cursor = match.end
        parts.append(text[cursor:])
        return Redaction(text="".join(parts), found=found)

    def redact_text(self, text: str) -> str:
        """Just the redacted text (what log filters and tracers need)."""
        return self.redact(text).text

    def extract_phone(self, text: str) -> str | None:
        """The first phone number in ``text``, normalised (``010-1234-5678``, ``02-123-4567``)."""
        taken = [m for m in self.find(text) if m.kind != "phone"]
        for match in self._p.phone.finditer(text):
            if any(match.start() < m.end and m.start < match.end() for m in taken):
                continue
            return _normalise_phone(match)
        return None

    def extract_address(self, text: str) -> str | None:
        """The first street, lot or apartment address in ``text``, from its district to its unit."""
        spans = list(self._address_spans(text))
        if not spans:
            return None
        start, end = min(spans, key=lambda span: span[0])
        while (before := self._p.admin_token_before.search(text[:start])) is not None:
            if before.start() == start:
                break
            start = before.start()
        unit = self._p.unit_in_building_after.match(text[end:])
        if unit is not None:
            end += unit.end()
        return " ".join(text[start:end].split()) or None

    def _candidates(self, text: str) -> Iterator[PiiMatch]:
        p = self._p
        for m in p.email.finditer(text):
            yield PiiMatch("email", m.start(), m.end())
        for m in p.rrn.finditer(text):
            if rrn_birth_date(digits_of(m.group("front") + m.group("back"))) is not None:
                yield PiiMatch("rrn", m.start(), m.end())
        for m in p.card.finditer(text):
            if luhn_valid(digits_of(m.group(0))):
                yield PiiMatch("card", m.start(), m.end())
        for m in p.phone.finditer(text):
            yield PiiMatch("phone", m.start(), m.end())
        for m in p.account_grouped.finditer(text):
            if _account_like(m.group(0)):
                yield PiiMatch("account", m.start(), m.end())
        for m in p.account_after_bank_word.finditer(text):
            if _account_like(m.group("number")):
                yield PiiMatch("account", m.start("number"), m.end("number"))
        for m in p.unit_in_building.finditer(text):
            yield PiiMatch("address", m.start(), m.end())
        for m in p.room_in_building.finditer(text):
            yield PiiMatch("address", m.start("room"), m.end("room"))
        for m in p.road.finditer(text):
            yield PiiMatch("address", m.start("detail"), m.end("detail"))
        for pattern in (p.jibun, p.jibun_after_district):
            for m in pattern.finditer(text):
                if not is_common_word(m.group("area")):
                    yield PiiMatch("address", m.start("detail"), m.end("detail"))

    def _address_spans(self, text: str) -> Iterator[tuple[int, int]]:
        """(start, end) of whole addresses: road or lot name through its number, or a building unit."""
        taken = [m for m in self.find(text) if m.kind != "address"]
        p = self._p
        for pattern, group in ((p.road, "road"), (p.jibun, "area"), (p.jibun_after_district, "area")):
            for m in pattern.finditer(text):
                overlaps = any(m.start("detail") < t.end and t.start < m.end("detail") for t in taken)
                if not overlaps and (group == "road" or not is_common_word(m.group("area"))):
                    yield m.start(group), m.end("detail")
        for m in p.unit_in_building.finditer(text):
            before = p.building_name_before.search(text[: m.start()])
            yield (before.start() if before else m.start()), m.end()
        for m in p.room_in_building.finditer(text):
            yield m.start(), m.end()


def _account_like(number: str) -> bool:
    digits = digits_of(number)
    if not 10 <= len(digits) <= 14:
        return False
    groups = re.split(r"[ -]", number)
    is_dated = (
        len(groups) >= 3
        and len(groups[0]) == 4
        and groups[0][:2] in ("19", "20")
        and 1 <= int(groups[1]) <= 12
        and 1 <= int(groups[2]) <= 31
    )
    return not is_dated


def _normalise_phone(match: re.Match[str]) -> str:
    prefix = match.group("intl")
    prefix = "0" + prefix if prefix is not None else match.group("dom")
    mid, last = match.group("mid"), match.group("last")
    return f"{prefix}-{mid}-{last}"
