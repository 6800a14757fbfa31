"""Column mappings for tables (and JSON objects): which column is the title, the text, the district…

A mapping file holds a list under ``mappings``; the first entry whose ``match`` glob fits a file's
path applies to it. Globs match from the right, like :meth:`pathlib.PurePath.match`:
``easylaw/*.csv`` fits ``/any/where/easylaw/1인 가구.csv``. See ``connectors/README.md``.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePath, PurePosixPath
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from assistant.core.errors import ConfigurationError
from connectors.mapping_file import read_mapping_file
from connectors.templates import placeholders

TableMode = Literal["auto", "text", "rows"]
ColumnFormat = Literal["plain", "won", "number"]

TEMPLATE_NAMES = ("stem", "sheet")
"""Placeholders every template may use besides column names: the file stem and the sheet name."""

_WHITESPACE = re.compile(r"\s+")


def normalise_column_name(name: str) -> str:
    """Header names compare without any whitespace or BOM: ``" 주    소 "`` → ``"주소"``."""
    return _WHITESPACE.sub("", name.replace("\ufeff", ""))


class ColumnSpec(BaseModel):
    """One column of a rendered row. ``format``: ``won`` renders ``8000`` as ``8,000원``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    column: str
    format: ColumnFormat = "plain"
    prefix: str = ""
    suffix: str = ""
    label: str | None = None

    @field_validator("column")
    @classmethod
    def _normalise(cls, value: str) -> str:
        return normalise_column_name(value)


class TableMapping(BaseModel):
    """How the rows of matching files become documents.

    ``text`` mode: one prose document per row, ``heading_column`` + ``text_column`` (a guide section).
    ``rows`` mode: one record per row, ``columns`` joined by ``separator``. ``auto`` picks ``text``
    when a column holds long prose and ``rows`` otherwise. ``title``, ``category`` and ``url`` are
    templates with ``{column}``, ``{stem}`` and ``{sheet}`` placeholders.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = ""
    match: tuple[str, ...] = Field(min_length=1)
    mode: TableMode = "auto"
    heading_column: str | None = None
    text_column: str | None = None
    columns: tuple[ColumnSpec, ...] = ()
    labels: bool | None = None
    separator: str = " · "
    title: str | None = None
    title_columns: tuple[str, ...] = ()
    category: str | None = None
    category_column: str | None = None
    district_column: str | None = None
    district_pattern: str | None = None
    url: str | None = None
    url_column: str | None = None
    updated_at_column: str | None = None
    id_columns: tuple[str, ...] = ()
    metadata_columns: dict[str, str] = Field(default_factory=dict)
    filter: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    sheets: Literal["first", "all"] = "all"
    dedupe: bool = True

    @field_validator("match", mode="before")
    @classmethod
    def _one_or_many(cls, value: Any) -> Any:
        return (value,) if isinstance(value, str) else value

    @field_validator("columns", mode="before")
    @classmethod
    def _column_shorthand(cls, value: Any) -> Any:
        if isinstance(value, list | tuple):
            return [{"column": item} if isinstance(item, str) else item for item in value]
        return value

    @field_validator(
        "heading_column",
        "text_column",
        "category_column",
        "district_column",
        "url_column",
        "updated_at_column",
    )
    @classmethod
    def _normalise_one(cls, value: str | None) -> str | None:
        return normalise_column_name(value) if value is not None else None

    @field_validator("title_columns", "id_columns")
    @classmethod
    def _normalise_many(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(normalise_column_name(v) for v in value)

    @field_validator("metadata_columns")
    @classmethod
    def _normalise_metadata(cls, value: dict[str, str]) -> dict[str, str]:
        return {key: normalise_column_name(column) for key, column in value.items()}

    @field_validator("filter", mode="before")
    @classmethod
    def _filter_values(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                normalise_column_name(str(k)): (v,) if isinstance(v, str) else v for k, v in value.items()
            }
        return value

    @field_validator("district_pattern")
    @classmethod
    def _one_group(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                groups = re.compile(value).groups
            except re.error as exc:
                raise ValueError(f"not a regular expression: {exc}") from exc
            if groups != 1:
                raise ValueError("needs exactly one capturing group: the district")
        return value

    @model_validator(mode="after")
    def _mode_needs(self) -> TableMapping:
        if self.mode == "text" and self.text_column is None:
            raise ValueError("text mode needs text_column")
        return self

    def matches(self, path: PurePath) -> bool:
        posix = PurePosixPath(path.as_posix())
        return any(posix.match(pattern) for pattern in self.match)

    def referenced_columns(self) -> list[str]:
        """Every column this mapping names, so a file lacking one is reported rather than misread."""
        names: list[str] = [
            c
            for c in (
                self.heading_column,
                self.text_column,
                self.category_column,
                self.district_column,
                self.url_column,
                self.updated_at_column,
            )
            if c is not None
        ]
        names += [spec.column for spec in self.columns]
        names += [*self.title_columns, *self.id_columns, *self.metadata_columns.values(), *self.filter]
        for template in (self.title, self.category, self.url):
            if template:
                names += [normalise_column_name(n) for n in placeholders(template) if n not in TEMPLATE_NAMES]
        return list(dict.fromkeys(names))

    @property
    def label(self) -> str:
        return self.name or self.match[0]


class TableMappings(BaseModel):
    """An ordered list of mappings; the first match wins."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    mappings: tuple[TableMapping, ...] = ()

    def for_path(self, path: PurePath) -> TableMapping | None:
        return next((m for m in self.mappings if m.matches(path)), None)


def load_table_mappings(path: Path) -> TableMappings:
    """Read ``mappings`` from a YAML or TOML file; anything invalid is a ConfigurationError."""
    data = read_mapping_file(path)
    try:
        return TableMappings.model_validate({"mappings": data.get("mappings") or []})
    except ValidationError as exc:
        problems = "; ".join(
            f"mappings.{'.'.join(str(p) for p in err['loc'][1:])}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigurationError(f"mapping file {path}: {problems}") from exc
