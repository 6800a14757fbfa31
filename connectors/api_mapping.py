"""Field mappings for API rows (Seoul Open API): which field is the id, title, text, date…

With no mapping a row becomes a record listing every field as ``key: value``; the 120 Dasan FAQ
services have a built-in preset. Mappings can also live in a mapping file under ``apis``.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.core.errors import ConfigurationError
from assistant.core.knowledge import DocumentKind, Section
from connectors.drafts import Draft, KeyAllocator
from connectors.mapping_file import read_mapping_file
from connectors.markup import html_to_text
from connectors.record_text import guess_title_field, render_pairs
from connectors.templates import fill_template
from connectors.timestamps import parse_timestamp

FAQ_SERVICES = frozenset(
    {"SearchFAQService", "SearchDetailsFAQService", "SearchDetailsSeoulWorkmanualService"}
)

_HTML_TAG = re.compile(r"</?[a-zA-Z][^>]*>")


class ApiMapping(BaseModel):
    """Which fields of a row play which part. Lists are tried in order; the first non-empty wins.

    No ``text_fields`` (or none filled) renders the whole row as ``key: value`` text, as a record.
    ``category`` and ``url`` are templates with ``{FIELD}`` placeholders.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id_fields: tuple[str, ...] = ()
    title_fields: tuple[str, ...] = ()
    text_fields: tuple[str, ...] = ()
    category_field: str | None = None
    category: str | None = None
    url_field: str | None = None
    url: str | None = None
    updated_at_field: str | None = None
    district_field: str | None = None
    metadata_fields: dict[str, str] = Field(default_factory=dict)
    kind: DocumentKind | None = None

    @field_validator("id_fields", "title_fields", "text_fields", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value


def preset_mapping(service: str) -> ApiMapping | None:
    """Built-in mappings: the 120 Dasan FAQ services (FAQ_SEQNO, QUEST, ANSWER, UPDATE_YMDHMS)."""
    if service in FAQ_SERVICES:
        return ApiMapping(
            id_fields=("FAQ_SEQNO",),
            title_fields=("QUEST",),
            text_fields=("ANSWER", "ANSWER_HTML", "QUEST"),
            category_field="LCODE_NAME",
            updated_at_field="UPDATE_YMDHMS",
            metadata_fields={"faq_type": "FAQ_TP"},
            kind="prose",
        )
    return None


def load_api_mappings(path: Path) -> dict[str, ApiMapping]:
    """Read the ``apis`` table (service name → mapping) of a YAML or TOML mapping file."""
    data = read_mapping_file(path).get("apis") or {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"mapping file {path}: 'apis' must map service names to mappings")
    try:
        return {str(service): ApiMapping.model_validate(entry) for service, entry in data.items()}
    except ValidationError as exc:
        raise ConfigurationError(f"mapping file {path}: apis: {exc}") from exc


def row_draft(
    row: Mapping[str, str], mapping: ApiMapping, *, fallback_title: str, ordinal: int, keys: KeyAllocator
) -> Draft | None:
    """The draft of one API row; None when the row has no values at all."""
    if not any(row.values()):
        return None
    text = _first(row, mapping.text_fields)
    if text and _HTML_TAG.search(text):
        text = html_to_text(text)
    kind: DocumentKind = mapping.kind or "prose"
    if not text:
        text = render_pairs(row)
        kind = mapping.kind or "record"
    guessed = guess_title_field(row)
    title = _first(row, mapping.title_fields) or (row[guessed] if guessed else "") or fallback_title
    key = "|".join(row[f] for f in mapping.id_fields if row.get(f)) or _content_key(row)
    metadata = {name: row[field] for name, field in mapping.metadata_fields.items() if row.get(field)}
    district = row.get(mapping.district_field) if mapping.district_field else None
    if district:
        metadata["district"] = district
    category = row.get(mapping.category_field) if mapping.category_field else None
    url = row.get(mapping.url_field) if mapping.url_field else None
    updated = row.get(mapping.updated_at_field) if mapping.updated_at_field else None
    return Draft(
        key=keys.allocate(key, ordinal),
        title=" ".join(title.split()),
        sections=(Section(heading="", text=text),),
        kind=kind,
        url=url or (fill_template(mapping.url, row) if mapping.url else None) or None,
        category=category or (fill_template(mapping.category, row) if mapping.category else None) or None,
        updated_at=parse_timestamp(updated) if updated else None,
        metadata=metadata,
    )


def row_values(row: Mapping[str, Any]) -> dict[str, str]:
    """A wire row as text: numbers as written, nulls empty, nested values as compact JSON."""
    return {str(key): _text(value) for key, value in row.items()}


def _text(value: Any) -> str:
    match value:
        case None:
            return ""
        case bool():
            return "Y" if value else "N"
        case float() if value.is_integer():
            return str(int(value))
        case str():
            return value.strip()
        case dict() | list():
            return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        case _:
            return str(value)


def _first(row: Mapping[str, str], fields: tuple[str, ...]) -> str:
    return next((row[f] for f in fields if row.get(f)), "")


def _content_key(row: Mapping[str, str]) -> str:
    """Without an id field, the row's content names it: stable across paging and reordering."""
    canonical = json.dumps(dict(sorted(row.items())), ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]
