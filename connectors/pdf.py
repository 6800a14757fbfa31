"""PDF files through pypdf: one document, a section per page with text."""

from __future__ import annotations

import io
import logging

from pypdf import PdfReader
from pypdf.errors import PdfReadError, PyPdfError

from assistant.core.knowledge import Section, SourceProblem
from connectors.drafts import Draft, FileContext, ParsedFile


def parse_pdf(data: bytes, context: FileContext) -> ParsedFile:
    """Text per page (heading ``<n>쪽``); a PDF without pages or text is a problem, not an empty document."""
    log = logging.getLogger(__name__)
    if not data:
        return _problem(context, "the file is empty")
    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return _problem(context, "the PDF is encrypted with a password")
        pages = list(reader.pages)
        if not pages:
            return _problem(context, "the PDF has no pages")
        sections: list[Section] = []
        for number, page in enumerate(pages, start=1):
            text = _tidy(page.extract_text() or "")
            if text:
                sections.append(Section(heading=f"{number}쪽", text=text))
        title = _metadata_title(reader)
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError, OSError) as exc:
        log.debug("pdf extraction failed for %s: %s", context.origin, type(exc).__name__)
        return _problem(context, f"cannot read the PDF ({type(exc).__name__}: {exc})")
    if not sections:
        return _problem(
            context, f"no extractable text in {len(pages)} page(s) (a scanned PDF needs OCR first)"
        )
    return ParsedFile(items=(Draft(key=None, title=title or context.stem, sections=tuple(sections)),))


def _metadata_title(reader: PdfReader) -> str:
    try:
        info = reader.metadata
    except (PdfReadError, PyPdfError, ValueError, KeyError, TypeError):
        return ""
    title = info.title if info is not None else None
    return " ".join(str(title).split()) if title else ""


def _tidy(text: str) -> str:
    lines = [" ".join(line.split()) for line in text.splitlines()]
    return "\n".join(line for line in lines if line)


def _problem(context: FileContext, reason: str) -> ParsedFile:
    return ParsedFile(items=(SourceProblem(context.origin, reason),))
