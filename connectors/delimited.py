"""CSV and TSV files: encoding detection, then quoted multi-line fields, CRLF and ragged rows."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

from assistant.core.knowledge import SourceProblem
from connectors.drafts import Draft, FileContext, ParsedFile
from connectors.encoding import decode_text
from connectors.table_documents import table_drafts
from connectors.tabular import RawRecord, build_table


def parse_delimited(data: bytes, context: FileContext, *, delimiter: str) -> ParsedFile:
    """One file's drafts and problems; an undecodable or empty file is a single problem."""
    decoded = decode_text(data)
    if decoded is None:
        return _only(context, "cannot decode the file as UTF-8, CP949/EUC-KR or any detectable encoding")
    if not decoded.text.strip():
        return _only(context, "the file is empty")
    records = _Records(decoded.text, delimiter, origin=context.origin)
    table, problems = build_table(records, origin=context.origin)
    if records.error is not None:
        problems.append(records.error)
    if table is None:
        return ParsedFile(items=(*problems, SourceProblem(context.origin, "the file has no header row")))
    if not table.rows and not problems:
        return _only(context, "the file has a header but no data rows")
    parsed = table_drafts(table, context)
    items: list[Draft | SourceProblem] = [*problems, *parsed.items]
    return ParsedFile(
        items=tuple(items), duplicate_rows=parsed.duplicate_rows, filtered_rows=parsed.filtered_rows
    )


class _Records:
    """Iterates CSV records; a parse error ends the file and is kept as a problem (the csv module
    cannot resynchronise after one)."""

    def __init__(self, text: str, delimiter: str, *, origin: str) -> None:
        self._text = text
        self._delimiter = delimiter
        self._origin = origin
        self.error: SourceProblem | None = None

    def __iter__(self) -> Iterator[RawRecord]:
        reader = csv.reader(io.StringIO(self._text, newline=""), delimiter=self._delimiter)
        kind = "TSV" if self._delimiter == "\t" else "CSV"
        records = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                self.error = SourceProblem(
                    location=self._origin,
                    reason=f"malformed {kind} at line {reader.line_num} ({exc});"
                    " the rest of the file was skipped",
                    row=records or None,
                )
                return
            records += 1
            yield RawRecord(fields=fields, line=reader.line_num)


def _only(context: FileContext, reason: str) -> ParsedFile:
    return ParsedFile(items=(SourceProblem(location=context.origin, reason=reason),))
