"""Deterministic slot validators: each answer type is checked and normalised here, never by an LLM.

Phone numbers and addresses come from ``PiiRedactor``'s parser; dates from ``KoreanDates`` on the
injected clock; districts from ``SeoulDistricts``; items from an ``ItemCatalog`` (the fee table).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol
from urllib.parse import urlsplit

from assistant.core.clock import Clock
from assistant.dialogue.flows.choices import Choice, fold, fold_answer, match_choice
from assistant.dialogue.flows.dates import KoreanDates, korean_date, parse_iso_day
from assistant.dialogue.flows.districts import SeoulDistricts
from assistant.dialogue.flows.spec import CollectStep
from assistant.dialogue.flows.state import SlotValue
from assistant.dialogue.pii import PiiRedactor

SKIP_WORDS = frozenset(
    {"없어", "없음", "없습니다", "없어요", "없는데", "건너뛰기", "건너뛸게", "패스", "생략", "skip"}
)
"""Answers that skip an optional slot ("사진은 없어요" folds to a form ending in one of these)."""

_URL = re.compile(r"https?://[^\s<>\"']+", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Valid:
    value: SlotValue


@dataclass(frozen=True, slots=True)
class Invalid:
    """Why the answer was refused (Korean, for the citizen) and answers to offer instead."""

    reason: str | None = None
    suggestions: tuple[str, ...] = ()


Outcome = Valid | Invalid


@dataclass(frozen=True, slots=True)
class ItemMatch:
    """The item an answer names (``item``), or the close ones when it is not clear (``candidates``)."""

    item: str | None
    candidates: tuple[str, ...] = ()


class ItemCatalog(Protocol):
    """The items a district prices (the bulky-waste fee table)."""

    def districts(self) -> frozenset[str]: ...

    def match_item(self, district: str, text: str, synonyms: Sequence[Sequence[str]]) -> ItemMatch: ...


class SlotValidators:
    """Validates, extracts (for prefilling) and displays slot values by their declared type."""

    def __init__(self, *, clock: Clock, pii: PiiRedactor, items: ItemCatalog | None = None) -> None:
        self._pii = pii
        self._items = items
        self._dates = KoreanDates(clock)
        self._districts = SeoulDistricts()

    @property
    def has_items(self) -> bool:
        return self._items is not None

    def validate(self, step: CollectStep, text: str, slots: Mapping[str, SlotValue]) -> Outcome:
        if step.optional and _is_skip(text):
            return Valid(None)
        v = step.validation
        match v.type:
            case "text":
                value = " ".join(text.split())
                if len(value) < v.min_length:
                    return Invalid("조금 더 자세히 말씀해 주세요.")
                if len(value) > v.max_length:
                    return Invalid(f"{v.max_length}자 이내로 줄여 주세요.")
                return Valid(value)
            case "district":
                return self._district(step, text)
            case "item":
                return self._item(step, text, slots)
            case "date":
                return self._date(step, text)
            case "phone":
                phone = self._pii.extract_phone(text)
                return Valid(phone) if phone else Invalid("전화번호를 알아듣지 못했어요. 예: 010-1234-5678")
            case "address":
                address = self._pii.extract_address(text)
                if address is not None:
                    return Valid(address)
                place = " ".join(text.split())
                if v.allow_place and len(place) >= 2:
                    return Valid(place)
                return Invalid("도로명이나 지번이 들어간 주소로 말씀해 주세요. 예: 강남구 테헤란로 123")
            case "url":
                found = _URL.search(text)
                if found is not None and "." in urlsplit(found.group(0)).netloc:
                    return Valid(found.group(0).rstrip(".,)"))
                return Invalid("http:// 또는 https://로 시작하는 주소를 보내 주세요.")
            case "choice":
                options = self.options(step, slots)
                picked = match_choice(text, options)
                if picked is not None:
                    return Valid(picked.value)
                return Invalid("보기 중에서 골라 주세요.", tuple(o.value for o in options))

    def extract(self, step: CollectStep, text: str, slots: Mapping[str, SlotValue]) -> SlotValue | None:
        """A value for ``step`` found in a longer text (the one that started the flow), when clear."""
        match step.validation.type:
            case "district":
                return self._districts.canonical(text)
            case "item":
                outcome = self._item(step, text, slots)
                return outcome.value if isinstance(outcome, Valid) else None
            case "choice":
                folded = fold(text)
                hits = [o for o in self.options(step, slots) if any(w in folded for w in o.words)]
                return hits[0].value if len(hits) == 1 else None
            case "phone":
                return self._pii.extract_phone(text)
            case "address":
                return self._pii.extract_address(text)
            case "date":
                outcome = self._date(step, text)
                return outcome.value if isinstance(outcome, Valid) else None
            case "text" | "url":
                return None

    def options(self, step: CollectStep, slots: Mapping[str, SlotValue]) -> tuple[Choice, ...]:
        v = step.validation
        if v.options_from is not None:
            listed = slots.get(v.options_from)
            return tuple(Choice(value) for value in listed) if isinstance(listed, tuple) else ()
        return tuple(Choice(o.value, o.aliases) for o in v.options)

    def display(self, step: CollectStep | None, value: SlotValue) -> str:
        """How a value reads to the citizen (dates in Korean; skipped ones as 없음)."""
        if value is None:
            return "없음"
        if isinstance(value, bool):
            return "네" if value else "아니요"
        if isinstance(value, tuple):
            return ", ".join(value)
        if isinstance(value, int):
            return f"{value:,}"
        if step is not None and step.slot_type == "date" and (day := parse_iso_day(value)) is not None:
            return korean_date(day, self._dates.today())
        return value

    def _district(self, step: CollectStep, text: str) -> Outcome:
        found = self._districts.find(text)
        if len(found) > 1:
            return Invalid("한 곳의 구만 말씀해 주세요.", found)
        if not found:
            return Invalid("서울의 자치구 이름을 알아듣지 못했어요.")
        district = found[0]
        if step.validation.require_catalog and (
            self._items is None or district not in self._items.districts()
        ):
            return Invalid(f"{district}는 아직 안내할 수 있는 자료가 없어요.")
        return Valid(district)

    def _item(self, step: CollectStep, text: str, slots: Mapping[str, SlotValue]) -> Outcome:
        district = slots.get(step.validation.scope or "")
        if self._items is None or not isinstance(district, str):
            return Invalid("먼저 자치구를 알려 주세요.")
        found = self._items.match_item(district, text, step.validation.synonyms)
        if found.item is not None:
            return Valid(found.item)
        if found.candidates:
            return Invalid("어느 품목인지 골라 주세요.", found.candidates[:5])
        return Invalid(f"{district} 수수료표에서 찾지 못한 품목이에요.")

    def _date(self, step: CollectStep, text: str) -> Outcome:
        day = self._dates.parse(text)
        if day is None:
            return Invalid("날짜를 알아듣지 못했어요. 예: 내일, 다음 주 월요일, 11월 30일")
        today = self._dates.today()
        earliest = today + timedelta(days=step.validation.min_days_ahead)
        latest = today + timedelta(days=step.validation.max_days_ahead)
        if day < today:
            return Invalid("이미 지난 날짜예요.")
        if day < earliest:
            return Invalid(f"{korean_date(earliest, today)}부터 고를 수 있어요.")
        if day > latest:
            return Invalid(f"{korean_date(latest, today)}까지만 고를 수 있어요.")
        return Valid(day.isoformat())


def _is_skip(text: str) -> bool:
    answer = fold_answer(text)
    return answer in SKIP_WORDS or any(answer.endswith(word) for word in SKIP_WORDS if len(word) >= 2)
