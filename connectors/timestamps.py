"""Parsing the date and time spellings Korean public data uses into aware UTC datetimes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone

_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})(?:(\d{2})(\d{2})(\d{2})?)?$")
_DOTTED = re.compile(r"^(\d{4})[./](\d{1,2})[./](\d{1,2})\.?$")


def parse_timestamp(value: str, *, naive_offset: timedelta = timedelta(hours=9)) -> datetime | None:
    """``2025-11-19``, ``2025-04-29 17:56``, ``20181122214218``, ``2024.08.28`` and ISO forms → UTC.

    A value without an offset is read as local time at ``naive_offset`` (KST by default, since the
    sources are Korean). Returns None for anything unrecognised, so a bad cell never sinks a row.
    """
    text = value.strip()
    if not text:
        return None
    parsed = _parse_local(text)
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(naive_offset))
    return parsed.astimezone(UTC)


def _parse_local(text: str) -> datetime | None:
    compact = _COMPACT.match(text)
    if compact:
        y, mo, d, h, mi, sec = (int(p) if p else 0 for p in compact.groups())
        return _build((y, mo, d), (h, mi, sec))
    dotted = _DOTTED.match(text)
    if dotted:
        year, month, day = (int(p) for p in dotted.groups())
        return _build((year, month, day))
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None


def _build(day: tuple[int, int, int], clock: tuple[int, int, int] = (0, 0, 0)) -> datetime | None:
    """The datetime, or None when a part is out of range."""
    try:
        return datetime(day[0], day[1], day[2], clock[0], clock[1], clock[2])
    except ValueError:
        return None
