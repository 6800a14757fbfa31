"""FolderConnector: every supported file under a folder (or one file), parsed in worker threads."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from assistant.core.knowledge import Document, DocumentId, SourceProblem
from connectors.delimited import parse_delimited
from connectors.drafts import Draft, FileContext, ParsedFile
from connectors.json_documents import parse_json, parse_jsonl
from connectors.markup import parse_html, parse_markdown, parse_text
from connectors.pdf import parse_pdf
from connectors.table_mapping import TableMappings
from connectors.xlsx import parse_xlsx

SUPPORTED_SUFFIXES = frozenset(
    {".csv", ".tsv", ".xlsx", ".json", ".jsonl", ".md", ".markdown", ".txt", ".html", ".htm", ".pdf"}
)


@dataclass(frozen=True, slots=True)
class ScanStats:
    """Counts of the last (or running) scan. Dropped rows are deliberate, not problems."""

    files_read: int = 0
    files_skipped: int = 0
    documents: int = 0
    problems: int = 0
    duplicate_rows: int = 0
    filtered_rows: int = 0


@dataclass(slots=True)
class _Tally:
    """The running counts of one scan."""

    files_read: int = 0
    files_skipped: int = 0
    documents: int = 0
    problems: int = 0
    duplicate_rows: int = 0
    filtered_rows: int = 0

    def snapshot(self) -> ScanStats:
        return ScanStats(
            files_read=self.files_read,
            files_skipped=self.files_skipped,
            documents=self.documents,
            problems=self.problems,
            duplicate_rows=self.duplicate_rows,
            filtered_rows=self.filtered_rows,
        )


class FolderConnector:
    """Reads a folder tree (sorted, hidden entries skipped) or a single file.

    Documents get ids ``{source}/{relative path}`` (one document per file) or
    ``{source}/{relative path}#{key}`` (one per row or object); ``origin`` is the relative path.
    Files with an unsupported extension, or matching an ``exclude`` glob (matched from the right like
    :meth:`pathlib.PurePath.match`, e.g. ``*.yaml`` or ``README.md``), are skipped and counted in
    ``stats.files_skipped``.
    """

    def __init__(
        self,
        root: Path,
        *,
        source: str | None = None,
        mappings: TableMappings | None = None,
        exclude: Sequence[str] = (),
    ) -> None:
        self._root = root
        self._source = source or (root.stem if root.is_file() else root.name) or "files"
        self._mappings = mappings or TableMappings()
        self._exclude = tuple(exclude)
        self._tally = _Tally()
        self._log = logging.getLogger(__name__)

    @property
    def source(self) -> str:
        return self._source

    @property
    def stats(self) -> ScanStats:
        return self._tally.snapshot()

    async def scan(self) -> AsyncIterator[Document | SourceProblem]:
        tally = self._tally = _Tally()
        if not self._root.exists():
            tally.problems += 1
            yield SourceProblem(location=str(self._root), reason="the path does not exist")
            return
        files, skipped = await asyncio.to_thread(self._files)
        tally.files_skipped = skipped
        for path in files:
            origin = self._origin(path)
            parsed = await asyncio.to_thread(self._parse, path, origin)
            tally.files_read += 1
            tally.duplicate_rows += parsed.duplicate_rows
            tally.filtered_rows += parsed.filtered_rows
            for item in parsed.items:
                if isinstance(item, SourceProblem):
                    tally.problems += 1
                    yield item
                else:
                    tally.documents += 1
                    yield self._document(item, origin)

    def _files(self) -> tuple[list[Path], int]:
        if self._root.is_file():
            supported = self._root.suffix.lower() in SUPPORTED_SUFFIXES
            return ([self._root], 0) if supported else ([], 1)
        files: list[Path] = []
        skipped = 0
        for path in sorted(self._root.rglob("*"), key=lambda p: p.relative_to(self._root).parts):
            relative = path.relative_to(self._root)
            if any(part.startswith(".") for part in relative.parts) or not path.is_file():
                continue
            if path.suffix.lower() in SUPPORTED_SUFFIXES and not self._excluded(relative):
                files.append(path)
            else:
                skipped += 1
        return files, skipped

    def _excluded(self, relative: Path) -> bool:
        posix = PurePosixPath(relative.as_posix())
        return any(posix.match(pattern) for pattern in self._exclude)

    def _origin(self, path: Path) -> str:
        if self._root.is_file():
            return path.name
        return path.relative_to(self._root).as_posix()

    def _parse(self, path: Path, origin: str) -> ParsedFile:
        """Runs in a worker thread. The one place that turns any parser failure into a problem."""
        context = FileContext(origin=origin, stem=path.stem, mapping=self._mappings.for_path(path.absolute()))
        try:
            data = path.read_bytes()
        except OSError as exc:
            return ParsedFile(items=(SourceProblem(origin, f"cannot read the file ({exc.strerror or exc})"),))
        try:
            return _dispatch(path.suffix.lower(), data, context)
        except Exception as exc:  # task boundary: one bad file must never end the scan
            self._log.warning("parser failed on %s: %s", origin, type(exc).__name__)
            return ParsedFile(
                items=(SourceProblem(origin, f"could not parse the file ({type(exc).__name__}: {exc})"),)
            )

    def _document(self, draft: Draft, origin: str) -> Document:
        suffix = f"#{draft.key}" if draft.key is not None else ""
        return draft.to_document(
            document_id=DocumentId(f"{self._source}/{origin}{suffix}"), source=self._source, origin=origin
        )


def _dispatch(suffix: str, data: bytes, context: FileContext) -> ParsedFile:
    match suffix:
        case ".csv":
            return parse_delimited(data, context, delimiter=",")
        case ".tsv":
            return parse_delimited(data, context, delimiter="\t")
        case ".xlsx":
            return parse_xlsx(data, context)
        case ".json":
            return parse_json(data, context)
        case ".jsonl":
            return parse_jsonl(data, context)
        case ".md" | ".markdown":
            return parse_markdown(data, context)
        case ".txt":
            return parse_text(data, context)
        case ".html" | ".htm":
            return parse_html(data, context)
        case ".pdf":
            return parse_pdf(data, context)
        case _:
            return ParsedFile(items=(SourceProblem(context.origin, f"unsupported file type {suffix!r}"),))
