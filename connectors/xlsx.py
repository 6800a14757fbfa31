"""XLSX workbooks through openpyxl (read-only): every sheet is a table under the file's mapping."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time
from typing import Any

import openpyxl
from openpyxl.utils.exceptions import InvalidFileException

from assistant.core.knowledge import SourceProblem
from connectors.drafts import Draft, FileContext, ParsedFile
from connectors.table_documents import table_drafts
from connectors.tabular import RawRecord, build_table


def parse_xlsx(data: bytes, context: FileContext) -> ParsedFile:
    """Drafts from every non-empty sheet (only the first when the mapping says ``sheets: first``)."""
    if not data:
        return ParsedFile(items=(SourceProblem(context.origin, "the file is empty"),))
    try:
        workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, InvalidFileException, KeyError, ValueError, OSError) as exc:
        return ParsedFile(
            items=(
                SourceProblem(context.origin, f"not a readable XLSX workbook ({type(exc).__name__}: {exc})"),
            )
        )
    try:
        sheets = list(workbook.worksheets)
        if context.mapping is not None and context.mapping.sheets == "first":
            sheets = sheets[:1]
        items: list[Draft | SourceProblem] = []
        duplicates = filtered = 0
        for sheet in sheets:
            name = str(sheet.title) if len(sheets) > 1 else ""
            table, problems = build_table(
                _records(sheet.iter_rows(values_only=True)), origin=context.origin, name=name
            )
            items += problems
            if table is None or not table.rows:
                continue
            parsed = table_drafts(table, context)
            items += parsed.items
            duplicates += parsed.duplicate_rows
            filtered += parsed.filtered_rows
    finally:
        workbook.close()
    if not items:
        items.append(SourceProblem(context.origin, "the workbook has no data rows"))
    return ParsedFile(items=tuple(items), duplicate_rows=duplicates, filtered_rows=filtered)


def _records(rows: Iterator[tuple[Any, ...]]) -> Iterator[RawRecord]:
    for line, row in enumerate(rows, start=1):
        yield RawRecord(fields=[_cell_text(value) for value in row], line=line)


def _cell_text(value: Any) -> str:
    match value:
        case None:
            return ""
        case bool():
            return "TRUE" if value else "FALSE"
        case float() if value.is_integer():
            return str(int(value))
        case datetime():
            return value.isoformat(sep=" ") if value.time() != time() else value.date().isoformat()
        case date() | time():
            return value.isoformat()
        case _:
            return str(value)
