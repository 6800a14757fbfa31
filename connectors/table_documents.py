"""Turning table rows into drafts: ``text`` mode (one guide section per row) or ``rows`` mode (records)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import assert_never

from assistant.core.knowledge import DocumentKind, Section, SourceProblem
from connectors.cell_format import format_cell, is_number
from connectors.drafts import Draft, FileContext, KeyAllocator, ParsedFile
from connectors.table_mapping import ColumnSpec, TableMapping
from connectors.tabular import Table, TableRow
from connectors.templates import fill_template
from connectors.timestamps import parse_timestamp

PROSE_COLUMN_NAMES = frozenset(
    {"paragraph", "text", "answer", "content", "body", "내용", "본문", "답변", "설명", "본문내용"}
)
"""Column names that mark a table of prose (a guide, an FAQ) rather than records."""

PROSE_MIN_MEAN_CHARS = 200
"""A column whose values average this many characters is prose even without a telling name."""

_NAME_COLUMNS = ("title", "name", "제목", "이름", "명칭")
_NOT_NAME_HINTS = ("상태", "구분", "코드", "시도", "시군구")
_SAMPLE_ROWS = 200


@dataclass(frozen=True, slots=True)
class TextLayout:
    heading: int | None
    text: int


@dataclass(frozen=True, slots=True)
class RowsLayout:
    columns: tuple[tuple[int, ColumnSpec], ...]
    labels: bool
    title_columns: tuple[int, ...]


Layout = TextLayout | RowsLayout


def table_drafts(table: Table, context: FileContext) -> ParsedFile:
    """One draft per row under the file's mapping (or the automatic one); problems name the file."""
    mapping = context.mapping or TableMapping(match=("*",))
    missing = [c for c in mapping.referenced_columns() if table.index_of(c) is None]
    if missing:
        reason = (
            f"mapping {mapping.label!r} names columns the table lacks: {', '.join(missing)}"
            f" (columns: {', '.join(table.header)})"
        )
        if table.name:
            reason += f" in sheet {table.name}"
        return ParsedFile(items=(SourceProblem(location=context.origin, reason=reason),))
    layout = _layout(table, mapping)
    builder = _RowDrafter(table, mapping, layout, context)
    items: list[Draft | SourceProblem] = []
    seen: set[tuple[str, ...]] = set()
    duplicates = filtered = 0
    filters = [(table.index_of(c), allowed) for c, allowed in mapping.filter.items()]
    for row in table.rows:
        if any(row.values[i] not in allowed for i, allowed in filters if i is not None):
            filtered += 1
            continue
        if mapping.dedupe:
            if row.values in seen:
                duplicates += 1
                continue
            seen.add(row.values)
        draft = builder.draft(row)
        if draft is not None:
            items.append(draft)
    return ParsedFile(items=tuple(items), duplicate_rows=duplicates, filtered_rows=filtered)


class _RowDrafter:
    """Builds the draft of one row; holds the column positions resolved once per table."""

    def __init__(self, table: Table, mapping: TableMapping, layout: Layout, context: FileContext) -> None:
        self._table = table
        self._mapping = mapping
        self._layout = layout
        self._context = context
        self._keys = KeyAllocator()
        self._district_pattern = re.compile(mapping.district_pattern) if mapping.district_pattern else None
        self._key_prefix = f"{table.name}:" if table.name else ""

    def draft(self, row: TableRow) -> Draft | None:
        values = dict(zip(self._table.keys, row.values, strict=True))
        template_values = {"stem": self._context.stem, "sheet": self._table.name, **values}
        layout = self._layout
        match layout:
            case TextLayout():
                text = row.values[layout.text]
                if not text:
                    return None
                heading = row.values[layout.heading] if layout.heading is not None else ""
                heading = " ".join(heading.split())
                title = self._title(template_values, default=self._context.stem)
                key = heading or str(row.number)
                sections = (Section(heading=heading, text=text),)
                kind: DocumentKind = "prose"
            case RowsLayout():
                text = self._render(layout, row)
                if not text:
                    return None
                default_title = " ".join(row.values[i] for i in layout.title_columns if row.values[i])
                title = self._title(template_values, default=default_title or self._context.stem)
                key = "|".join(values[c] for c in self._mapping.id_columns) or str(row.number)
                sections = (Section(heading="", text=text),)
                kind = "record"
            case _:
                assert_never(layout)
        return Draft(
            key=self._keys.allocate(self._key_prefix + key, row.number),
            title=title,
            sections=sections,
            kind=kind,
            url=self._url(values, template_values),
            category=self._category(values, template_values),
            updated_at=self._updated_at(values),
            metadata=self._metadata(values),
        )

    def _render(self, layout: RowsLayout, row: TableRow) -> str:
        parts: list[str] = []
        for index, spec in layout.columns:
            value = format_cell(row.values[index], spec)
            if not value:
                continue
            if spec.label or layout.labels:
                value = f"{spec.label or self._table.header[index]}: {value}"
            parts.append(value)
        return self._mapping.separator.join(parts)

    def _title(self, template_values: dict[str, str], *, default: str) -> str:
        mapping = self._mapping
        if mapping.title:
            title = fill_template(mapping.title, template_values)
        elif mapping.title_columns:
            title = " ".join(template_values[c] for c in mapping.title_columns if template_values[c])
        else:
            title = default
        return " ".join(title.split()) or self._context.stem

    def _category(self, values: dict[str, str], template_values: dict[str, str]) -> str | None:
        if self._mapping.category_column:
            return values[self._mapping.category_column] or None
        if self._mapping.category:
            return fill_template(self._mapping.category, template_values) or None
        return None

    def _url(self, values: dict[str, str], template_values: dict[str, str]) -> str | None:
        if self._mapping.url_column:
            return values[self._mapping.url_column] or None
        if self._mapping.url:
            return fill_template(self._mapping.url, template_values) or None
        return None

    def _updated_at(self, values: dict[str, str]) -> datetime | None:
        column = self._mapping.updated_at_column
        return parse_timestamp(values[column]) if column else None

    def _metadata(self, values: dict[str, str]) -> dict[str, str]:
        metadata = {
            key: values[column] for key, column in self._mapping.metadata_columns.items() if values[column]
        }
        if self._table.name:
            metadata["sheet"] = self._table.name
        district = self._district(values)
        if district:
            metadata["district"] = district
        return metadata

    def _district(self, values: dict[str, str]) -> str | None:
        column = self._mapping.district_column
        if column is None:
            return None
        value = values[column]
        if self._district_pattern is not None:
            found = self._district_pattern.search(value)
            return found.group(1) if found else None
        return value or None


def _layout(table: Table, mapping: TableMapping) -> Layout:
    mode = mapping.mode
    prose = _prose_column(table) if mode == "auto" and mapping.text_column is None else None
    if mode == "text" or (mode == "auto" and (mapping.text_column is not None or prose is not None)):
        text = table.index_of(mapping.text_column) if mapping.text_column else prose
        assert text is not None
        if mapping.heading_column:
            heading = table.index_of(mapping.heading_column)
        else:
            heading = next((i for i in _text_like_columns(table) if i != text), None)
        return TextLayout(heading=heading, text=text)
    if mapping.columns:
        columns = tuple((_require(table, spec.column), spec) for spec in mapping.columns)
    else:
        columns = tuple((i, ColumnSpec(column=name)) for i, name in enumerate(table.header))
    labels = mapping.labels if mapping.labels is not None else not mapping.columns
    return RowsLayout(columns=columns, labels=labels, title_columns=_default_title_columns(table))


def _require(table: Table, column: str) -> int:
    index = table.index_of(column)
    assert index is not None, "referenced columns are checked before layout"
    return index


def _prose_column(table: Table) -> int | None:
    for index, name in enumerate(table.keys):
        if name.lower() in PROSE_COLUMN_NAMES:
            return index
    best: tuple[float, int] | None = None
    for index in range(len(table.header)):
        lengths = [len(v) for v in _sample(table, index) if v]
        if lengths:
            mean = sum(lengths) / len(lengths)
            if mean >= PROSE_MIN_MEAN_CHARS and (best is None or mean > best[0]):
                best = (mean, index)
    return best[1] if best else None


def _sample(table: Table, index: int) -> list[str]:
    return [row.values[index] for row in table.rows[:_SAMPLE_ROWS]]


def _text_like_columns(table: Table) -> list[int]:
    """Columns holding words rather than numbers, in header order."""
    return [i for i in range(len(table.header)) if any(v and not is_number(v) for v in _sample(table, i))]


def _default_title_columns(table: Table) -> tuple[int, ...]:
    header = table.keys
    for index, name in enumerate(header):
        if name.lower() in _NAME_COLUMNS:
            return (index,)
    for index, name in enumerate(header):
        if name.endswith("명") and not any(hint in name for hint in _NOT_NAME_HINTS):
            return (index,)
    text_like = _text_like_columns(table)
    return (text_like[0],) if text_like else ()
