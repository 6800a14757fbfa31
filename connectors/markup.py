"""Markdown, plain text and HTML files: one prose document each, in sections split at headings."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import yaml
from selectolax.lexbor import LexborHTMLParser, LexborNode

from assistant.core.knowledge import Section, SourceProblem
from connectors.drafts import Draft, FileContext, ParsedFile
from connectors.encoding import decode_text
from connectors.timestamps import parse_timestamp

_ATX_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.*?)(?:[ \t]+#+)?[ \t]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_BLANK_RUNS = re.compile(r"\n{3,}")
_SPACE_RUNS = re.compile(r"[ \t\u00a0]+")
_SECTION_TAGS = frozenset({"h1", "h2", "h3"})
_DROPPED_TAGS = "script, style, nav, noscript, template, iframe, svg"
_BLOCK_TAGS = frozenset(
    {
        "p",
        "div",
        "br",
        "li",
        "tr",
        "td",
        "th",
        "table",
        "ul",
        "ol",
        "dl",
        "dt",
        "dd",
        "section",
        "article",
        "header",
        "footer",
        "main",
        "aside",
        "blockquote",
        "pre",
        "h4",
        "h5",
        "h6",
        "hr",
        "figure",
        "figcaption",
        "address",
    }
)


def parse_text(data: bytes, context: FileContext) -> ParsedFile:
    """A plain text file: one section, titled by the file stem."""
    text = _decode(data, context)
    if isinstance(text, SourceProblem):
        return ParsedFile(items=(text,))
    return _single(context, context.stem, (Section(heading="", text=_tidy(text)),))


def parse_markdown(data: bytes, context: FileContext) -> ParsedFile:
    """Sections split at ATX headings (outside code fences); the title is the first H1 or the stem.

    YAML front matter may set ``title``, ``category``, ``url`` and ``updated_at``.
    """
    text = _decode(data, context)
    if isinstance(text, SourceProblem):
        return ParsedFile(items=(text,))
    front, body = _front_matter(text)
    sections: list[Section] = []
    heading, lines, first_h1 = "", list[str](), None
    fenced = False
    for line in body.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading_match = None if fenced else _ATX_HEADING.match(line)
        if heading_match is None:
            lines.append(line)
            continue
        _flush(sections, heading, lines)
        heading, lines = heading_match.group(2).strip(), []
        if first_h1 is None and len(heading_match.group(1)) == 1:
            first_h1 = heading
    _flush(sections, heading, lines)
    title = _string(front.get("title")) or first_h1 or context.stem
    updated = front.get("updated_at")
    return _single(
        context,
        title,
        tuple(sections),
        category=_string(front.get("category")),
        url=_string(front.get("url")),
        updated_at=_timestamp(updated),
    )


def parse_html(data: bytes, context: FileContext) -> ParsedFile:
    """Sections split at h1–h3, with scripts, styles and navigation dropped; title from <title>/<h1>."""
    text = _decode(data, context)
    if isinstance(text, SourceProblem):
        return ParsedFile(items=(text,))
    tree = LexborHTMLParser(text)
    title_node = tree.css_first("title") or tree.css_first("h1")
    title = " ".join(title_node.text(deep=True).split()) if title_node else ""
    for node in tree.css(_DROPPED_TAGS):
        node.decompose()
    root = tree.body or tree.root
    sections = html_sections(root) if root is not None else []
    return _single(context, title or context.stem, tuple(sections))


def html_to_text(html: str) -> str:
    """The readable text of an HTML fragment, blocks on their own lines."""
    tree = LexborHTMLParser(html)
    for node in tree.css(_DROPPED_TAGS):
        node.decompose()
    root = tree.body or tree.root
    if root is None:
        return ""
    return "\n\n".join(f"{s.heading}\n{s.text}" if s.heading else s.text for s in html_sections(root)).strip()


def html_sections(root: LexborNode) -> list[Section]:
    """Walk the tree in document order, starting a new section at every h1–h3."""
    sections: list[Section] = []
    heading, parts = "", list[str]()
    for node in root.traverse(include_text=True):
        tag = node.tag
        if tag in _SECTION_TAGS:
            _flush(sections, heading, _block_lines(parts))
            heading, parts = " ".join(node.text(deep=True).split()), []
        elif tag == "-text":
            if not _inside_heading(node, root):
                parts.append(node.text(deep=False))
        elif tag in _BLOCK_TAGS:
            parts.append("\n")
    _flush(sections, heading, _block_lines(parts))
    return sections


def _block_lines(parts: list[str]) -> list[str]:
    """One line per block element, without the empty lines nested blocks leave."""
    return [line for line in "".join(parts).split("\n") if line.strip()]


def _inside_heading(node: LexborNode, root: LexborNode) -> bool:
    parent = node.parent
    while parent is not None and parent.mem_id != root.mem_id:
        if parent.tag in _SECTION_TAGS:
            return True
        parent = parent.parent
    return False


def _decode(data: bytes, context: FileContext) -> str | SourceProblem:
    decoded = decode_text(data)
    if decoded is None:
        return SourceProblem(
            context.origin, "cannot decode the file as UTF-8, CP949/EUC-KR or any detectable encoding"
        )
    if not decoded.text.strip():
        return SourceProblem(context.origin, "the file is empty")
    return decoded.text.replace("\r\n", "\n").replace("\r", "\n")


def _front_matter(text: str) -> tuple[dict[str, Any], str]:
    if not text.startswith("---\n"):
        return {}, text
    end = text.find("\n---", 4)
    if end == -1:
        return {}, text
    try:
        front = yaml.safe_load(text[4:end])
    except yaml.YAMLError:
        return {}, text
    if not isinstance(front, dict):
        return {}, text
    rest = text[end + 4 :]
    return front, rest.split("\n", 1)[1] if "\n" in rest else ""


def _flush(sections: list[Section], heading: str, lines: list[str]) -> None:
    body = _tidy("\n".join(lines))
    if body:
        sections.append(Section(heading=heading, text=body))


def _tidy(text: str) -> str:
    lines = [_SPACE_RUNS.sub(" ", line).strip() for line in text.split("\n")]
    return _BLANK_RUNS.sub("\n\n", "\n".join(lines)).strip()


def _string(value: Any) -> str | None:
    return str(value).strip() or None if value is not None else None


def _timestamp(value: Any) -> datetime | None:
    if isinstance(value, datetime | date):
        return parse_timestamp(value.isoformat())
    return parse_timestamp(str(value)) if value is not None else None


def _single(
    context: FileContext,
    title: str,
    sections: tuple[Section, ...],
    *,
    category: str | None = None,
    url: str | None = None,
    updated_at: datetime | None = None,
) -> ParsedFile:
    if not sections:
        return ParsedFile(items=(SourceProblem(context.origin, "the file has no text"),))
    draft = Draft(key=None, title=title, sections=sections, category=category, url=url, updated_at=updated_at)
    return ParsedFile(items=(draft,))
