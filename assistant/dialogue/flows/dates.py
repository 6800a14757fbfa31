"""Korean dates in text ("내일", "다음 주 월요일", "11월 30일", "3일 뒤", ISO), on an injected clock."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta, timezone

from assistant.core.clock import Clock

KST = timezone(timedelta(hours=9), "KST")
"""Korea has one time zone and no daylight saving time."""

WEEKDAYS = "월화수목금토일"

_NATIVE_DAY_COUNTS = {
    "하루": 1,
    "이틀": 2,
    "사흘": 3,
    "나흘": 4,
    "닷새": 5,
    "엿새": 6,
    "이레": 7,
    "일주일": 7,
}
_DAY_WORDS = {
    "그저께": -2,
    "그제": -2,
    "어제": -1,
    "오늘": 0,
    "금일": 0,
    "내일모레": 2,
    "내일": 1,
    "낼": 1,
    "명일": 1,
    "모레": 2,
    "글피": 3,
}
_WEEK_WORDS = {"이번": 0, "금주": 0, "이번주": 0, "다음": 7, "담": 7, "차주": 7, "다음주": 7, "다다음": 14}


class KoreanDates:
    """Reads the first date expression of a text; "today" is the clock's date in Korea.

    A month and day without a year mean this year, or next year when that date passed more than a
    month ago ("1월 5일" said in November); a bare weekday is the next one (today included).
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        week = "|".join(sorted(map(re.escape, _WEEK_WORDS), key=len, reverse=True))
        native = "|".join(sorted(_NATIVE_DAY_COUNTS, key=len, reverse=True))
        words = "|".join(sorted(_DAY_WORDS, key=len, reverse=True))
        self._patterns: tuple[tuple[str, re.Pattern[str]], ...] = (
            (
                "ymd",
                re.compile(r"(?<!\d)(\d{4})\s*(?:[-./]|년)\s*(\d{1,2})\s*(?:[-./]|월)\s*(\d{1,2})(?!\d)"),
            ),
            ("md", re.compile(r"(?<!\d)(\d{1,2})\s*월\s*(\d{1,2})\s*일")),
            ("md", re.compile(r"(?<![\d/])(\d{1,2})/(\d{1,2})(?![\d/])")),
            ("after", re.compile(r"(?<!\d)(\d{1,3})\s*(일|주)\s*(?:뒤|후|있다가)")),
            ("after_native", re.compile(rf"({native})\s*(?:뒤|후|있다가)")),
            ("weekday", re.compile(rf"(?:({week})\s*주?\s*)?([{WEEKDAYS}])\s*요일")),
            ("word", re.compile(rf"(?<![가-힣])({words})")),
            ("day", re.compile(r"(?<!\d)(\d{1,2})\s*일(?!\s*(?:뒤|후|간|째|있다가))")),
        )

    def today(self) -> date:
        return self._clock.now().astimezone(KST).date()

    def parse(self, text: str) -> date | None:
        """The date ``text`` names, or ``None`` (no date, or an impossible one such as 2월 30일)."""
        today = self.today()
        for kind, pattern in self._patterns:
            match = pattern.search(text)
            if match is None:
                continue
            try:
                return _resolve(kind, match, today)
            except ValueError:
                return None
        return None


def _resolve(kind: str, match: re.Match[str], today: date) -> date:
    groups = match.groups()
    match kind:
        case "ymd":
            return date(int(groups[0]), int(groups[1]), int(groups[2]))
        case "md":
            return _month_day(int(groups[0]), int(groups[1]), today)
        case "after":
            unit = 7 if groups[1] == "주" else 1
            return today + timedelta(days=int(groups[0]) * unit)
        case "after_native":
            return today + timedelta(days=_NATIVE_DAY_COUNTS[groups[0]])
        case "weekday":
            return _weekday(groups[0], WEEKDAYS.index(groups[1]), today)
        case "word":
            return today + timedelta(days=_DAY_WORDS[groups[0]])
        case "day":
            return _day_of_month(int(groups[0]), today)
    raise ValueError(f"unknown date pattern {kind}")


def _month_day(month: int, day: int, today: date) -> date:
    candidate = date(today.year, month, day)
    if (today - candidate).days > 31:
        candidate = date(today.year + 1, month, day)
    return candidate


def _weekday(week: str | None, weekday: int, today: date) -> date:
    if week is None:
        return today + timedelta(days=(weekday - today.weekday()) % 7)
    monday = today - timedelta(days=today.weekday())
    offset = _WEEK_WORDS.get(week.replace(" ", ""), 0)
    return monday + timedelta(days=offset + weekday)


def _day_of_month(day: int, today: date) -> date:
    if day >= today.day:
        return date(today.year, today.month, day)
    year, month = (today.year + 1, 1) if today.month == 12 else (today.year, today.month + 1)
    return date(year, month, day)


def korean_date(value: date, today: date | None = None) -> str:
    """``2026-11-30`` → ``11월 30일(월)``; the year is added when it is not ``today``'s."""
    text = f"{value.month}월 {value.day}일({WEEKDAYS[value.weekday()]})"
    if today is not None and value.year != today.year:
        text = f"{value.year}년 {text}"
    return text


def parse_iso_day(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        return None
