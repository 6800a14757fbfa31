"""JSON and JSONL files: one prose document per object (an FAQ entry, an article)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from assistant.core.knowledge import DocumentKind, Section, SourceProblem
from connectors.drafts import Draft, FileContext, KeyAllocator, ParsedFile
from connectors.encoding import decode_text
from connectors.record_text import guess_title_field, render_pairs
from connectors.table_mapping import TableMapping
from connectors.templates import fill_template
from connectors.timestamps import parse_timestamp

_ID_FIELDS = ("id",)
_TITLE_FIELDS = ("title", "question", "name")
_TEXT_FIELDS = ("text", "answer", "content", "body")
_CATEGORY_FIELDS = ("category",)
_URL_FIELDS = ("url",)
_UPDATED_FIELDS = ("updated_at", "updatedAt", "modified_at")
_DISTRICT_FIELDS = ("district",)


def parse_json(data: bytes, context: FileContext) -> ParsedFile:
    """An array of objects, an object holding one array of objects, or a single document object."""
    text = _decode(data, context)
    if isinstance(text, SourceProblem):
        return ParsedFile(items=(text,))
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        return ParsedFile(
            items=(
                SourceProblem(context.origin, f"invalid JSON: {exc.msg} (column {exc.colno})", exc.lineno),
            )
        )
    objects = _objects(value)
    if objects is None:
        return ParsedFile(
            items=(SourceProblem(context.origin, "expected an array of objects or an object holding one"),)
        )
    return _drafts(((i, obj) for i, obj in enumerate(objects, start=1)), context, unit="item")


def parse_jsonl(data: bytes, context: FileContext) -> ParsedFile:
    """One object per line; a broken line is a problem with its line number and the rest goes on.

    An object with a text field (``text``, ``answer``, ``content``, ``body`` or the mapped one) is a
    prose document; one without is a record rendering every scalar field as ``key: value``.
    """
    text = _decode(data, context)
    if isinstance(text, SourceProblem):
        return ParsedFile(items=(text,))
    return _drafts(_lines(text, context), context, unit="line")


def _lines(text: str, context: FileContext) -> Iterator[tuple[int, Any]]:
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            yield number, json.loads(line)
        except json.JSONDecodeError as exc:
            yield (
                number,
                SourceProblem(context.origin, f"invalid JSON line: {exc.msg} (column {exc.colno})", number),
            )


def _decode(data: bytes, context: FileContext) -> str | SourceProblem:
    decoded = decode_text(data)
    if decoded is None:
        return SourceProblem(context.origin, "cannot decode the file as UTF-8 or any detectable encoding")
    if not decoded.text.strip():
        return SourceProblem(context.origin, "the file is empty")
    return decoded.text


def _objects(value: Any, *, depth: int = 0) -> list[Any] | None:
    """The list of records: the value itself, or the first array of objects up to two levels down
    (``{"items": [...]}``, ``{"Service": {"row": [...]}}``)."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        return None
    if depth == 0 and any(isinstance(value.get(f), str) for f in _TEXT_FIELDS):
        return [value]
    for item in value.values():
        if isinstance(item, list) and item and all(isinstance(x, dict) for x in item):
            return item
    if depth < 1:
        for item in value.values():
            found = _objects(item, depth=depth + 1) if isinstance(item, dict) else None
            if found is not None:
                return found
    return None


@dataclass(frozen=True, slots=True)
class _Fields:
    """Which keys play which part, from the mapping or the defaults."""

    ids: tuple[str, ...]
    titles: tuple[str, ...]
    texts: tuple[str, ...]
    categories: tuple[str, ...]
    urls: tuple[str, ...]
    updated: tuple[str, ...]
    districts: tuple[str, ...]

    @classmethod
    def of(cls, mapping: TableMapping | None) -> _Fields:
        if mapping is None:
            return cls(
                _ID_FIELDS,
                _TITLE_FIELDS,
                _TEXT_FIELDS,
                _CATEGORY_FIELDS,
                _URL_FIELDS,
                _UPDATED_FIELDS,
                _DISTRICT_FIELDS,
            )

        def pick(chosen: str | None, default: tuple[str, ...]) -> tuple[str, ...]:
            return (chosen,) if chosen else default

        return cls(
            ids=mapping.id_columns or _ID_FIELDS,
            titles=mapping.title_columns or _TITLE_FIELDS,
            texts=pick(mapping.text_column, _TEXT_FIELDS),
            categories=pick(mapping.category_column, _CATEGORY_FIELDS),
            urls=pick(mapping.url_column, _URL_FIELDS),
            updated=pick(mapping.updated_at_column, _UPDATED_FIELDS),
            districts=pick(mapping.district_column, _DISTRICT_FIELDS),
        )

    def claimed(self) -> set[str]:
        return {
            *self.ids,
            *self.titles,
            *self.texts,
            *self.categories,
            *self.urls,
            *self.updated,
            *self.districts,
        }


def _drafts(objects: Iterator[tuple[int, Any]], context: FileContext, *, unit: str) -> ParsedFile:
    fields = _Fields.of(context.mapping)
    keys = KeyAllocator()
    items: list[Draft | SourceProblem] = []
    for row, obj in objects:
        if isinstance(obj, SourceProblem):
            items.append(obj)
            continue
        if not isinstance(obj, dict):
            items.append(
                SourceProblem(context.origin, f"{unit} is a JSON {type(obj).__name__}, not an object", row)
            )
            continue
        scalars = {str(k): s for k, v in obj.items() if (s := _scalar(v)) is not None}
        if not any(scalars.values()):
            items.append(SourceProblem(context.origin, f"the {unit} has no text or scalar fields", row))
            continue
        items.append(_draft(scalars, row=row, fields=fields, context=context, keys=keys))
    return ParsedFile(items=tuple(items))


def _draft(
    values: dict[str, str], *, row: int, fields: _Fields, context: FileContext, keys: KeyAllocator
) -> Draft:
    """A prose draft from the text field; without one, a record of all fields as ``key: value``."""
    mapping = context.mapping
    template_values = {"stem": context.stem, "sheet": "", **values}
    text = _first(values, fields.texts)
    kind: DocumentKind = "prose"
    title = _first(values, fields.titles)
    if not text:
        kind = "record"
        text = render_pairs(values, skip=fields.claimed() - set(fields.titles))
        guessed = guess_title_field(values)
        title = title or (values[guessed] if guessed else None)
    if mapping is not None and mapping.title:
        title = fill_template(mapping.title, template_values)
    category = _first(values, fields.categories)
    if mapping is not None and mapping.category and not category:
        category = fill_template(mapping.category, template_values)
    url = _first(values, fields.urls)
    if mapping is not None and mapping.url and not url:
        url = fill_template(mapping.url, template_values)
    updated_raw = _first(values, fields.updated)
    # A record already shows every field in its text; only prose carries the rest as metadata.
    claimed = fields.claimed()
    metadata = {k: v for k, v in values.items() if k not in claimed and v} if kind == "prose" else {}
    if mapping is not None:
        metadata.update(
            {key: values[col] for key, col in mapping.metadata_columns.items() if values.get(col)}
        )
    district = _first(values, fields.districts)
    if district:
        metadata["district"] = district
    key = "|".join(values[f] for f in fields.ids if values.get(f)) or str(row)
    return Draft(
        key=keys.allocate(key, row),
        title=" ".join((title or context.stem).split()),
        sections=(Section(heading="", text=text),),
        kind=kind,
        url=url or None,
        category=category or None,
        updated_at=parse_timestamp(updated_raw) if updated_raw else None,
        metadata=metadata,
    )


def _scalar(value: Any) -> str | None:
    match value:
        case None | dict() | list():
            return None
        case bool():
            return "true" if value else "false"
        case float() if value.is_integer():
            return str(int(value))
        case str():
            return value.strip()
        case _:
            return str(value)


def _first(values: dict[str, str], names: tuple[str, ...]) -> str | None:
    return next((values[n] for n in names if values.get(n)), None)
