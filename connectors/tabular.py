"""Tables as connectors see them: a normalised header and numbered rows, from CSV, TSV or a sheet."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from assistant.core.knowledge import SourceProblem
from connectors.table_mapping import normalise_column_name

_PADDING_BETWEEN_HANGUL = re.compile(r"(?<=[\uac00-\ud7a3])\s+(?=[\uac00-\ud7a3])")


@dataclass(frozen=True, slots=True)
class TableRow:
    """``number`` is 1-based among data rows (the header is row 0)."""

    number: int
    values: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Table:
    """``header`` holds display names; ``keys`` the same names without whitespace, for matching.

    ``name`` is the sheet name for workbooks and empty for CSV/TSV.
    """

    header: tuple[str, ...]
    rows: tuple[TableRow, ...]
    name: str = ""
    keys: tuple[str, ...] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "keys", tuple(normalise_column_name(h) for h in self.header))

    def index_of(self, column: str) -> int | None:
        try:
            return self.keys.index(normalise_column_name(column))
        except ValueError:
            return None


def display_column_name(raw: str) -> str:
    """A header as people read it: padding between Hangul dropped (``주    소`` → ``주소``), other runs
    of whitespace collapsed (``MESSAGE  (as published)`` → ``MESSAGE (as published)``)."""
    collapsed = " ".join(raw.replace("\ufeff", "").split())
    return _PADDING_BETWEEN_HANGUL.sub("", collapsed)


@dataclass(frozen=True, slots=True)
class RawRecord:
    """A record as a reader split it. ``line`` is the physical line it ended on, for messages."""

    fields: Sequence[str]
    line: int


def build_table(
    records: Iterable[RawRecord], *, origin: str, name: str = ""
) -> tuple[Table | None, list[SourceProblem]]:
    """Take the first non-blank record as the header; check every later record's width.

    Trailing empty fields past the header's width are tolerated (spreadsheet exports add them); any
    other width mismatch is a problem naming the row, and that row is skipped.
    """
    problems: list[SourceProblem] = []
    where = f" (sheet {name})" if name else ""
    header: tuple[str, ...] | None = None
    rows: list[TableRow] = []
    number = 0
    for record in records:
        fields = [_clean(field) for field in record.fields]
        if header is None:
            if any(fields):
                header = _header(fields)
            continue
        number += 1
        if not any(fields):
            continue
        if len(fields) > len(header) and not any(fields[len(header) :]):
            fields = fields[: len(header)]
        if len(fields) != len(header):
            problems.append(
                SourceProblem(
                    location=origin,
                    reason=(
                        f"expected {len(header)} fields as in the header, found {len(fields)}"
                        f" (line {record.line}){where}; row skipped"
                    ),
                    row=number,
                )
            )
            continue
        rows.append(TableRow(number, tuple(fields)))
    if header is None:
        return None, problems
    return Table(header=header, rows=tuple(rows), name=name), problems


def _clean(value: str) -> str:
    if "\r" in value:
        value = value.replace("\r\n", "\n").replace("\r", "\n")
    return value.strip()


def _header(fields: list[str]) -> tuple[str, ...]:
    names: list[str] = []
    keys: set[str] = set()
    for position, raw in enumerate(fields, start=1):
        name = display_column_name(raw) or f"column{position}"
        candidate, suffix = name, 2
        while normalise_column_name(candidate) in keys:
            candidate = f"{name}_{suffix}"
            suffix += 1
        names.append(candidate)
        keys.add(normalise_column_name(candidate))
    return tuple(names)
