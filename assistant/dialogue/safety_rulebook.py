"""The safety rulebook: patterns and guidance from ``safety_rules.yaml``, validated and compiled once."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.errors import ConfigurationError
from assistant.dialogue.folding import FoldedText, fold_pattern

RuleKind = Literal["emergency", "crisis", "injection"]


@dataclass(frozen=True, slots=True)
class RuleCategory:
    """One category (fire, suicide, prompt leak …): its compiled patterns and what to say."""

    name: str
    kind: RuleKind
    guidance: str
    spoken_guidance: str
    pattern: re.Pattern[str]
    unless: re.Pattern[str] | None

    def find(self, folded: FoldedText) -> str | None:
        """The original text of the first match not vetoed by an ``unless`` match, or None."""
        vetoes = [(m.start(), m.end()) for m in self.unless.finditer(folded.text)] if self.unless else []
        for match in self.pattern.finditer(folded.text):
            start, end = match.span()
            if start == end:
                continue
            if not any(v_start < end and start < v_end for v_start, v_end in vetoes):
                return folded.original(start, end)
        return None


@dataclass(frozen=True, slots=True)
class SafetyRulebook:
    """Emergency and crisis categories in precedence order, and the prompt-injection categories."""

    categories: tuple[RuleCategory, ...]
    injection: tuple[RuleCategory, ...]


class _CategoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    kind: Literal["emergency", "crisis"]
    guidance: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)
    unless: tuple[str, ...] = ()


class _InjectionCategoryFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=1)
    patterns: tuple[str, ...] = Field(min_length=1)


class _InjectionFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    guidance: str = Field(min_length=1)
    categories: tuple[_InjectionCategoryFile, ...] = Field(min_length=1)


class _RulebookFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: Literal[1]
    spoken_numbers: dict[str, str] = Field(default_factory=dict)
    categories: tuple[_CategoryFile, ...] = Field(min_length=1)
    injection: _InjectionFile


def default_rulebook_path() -> Path:
    """The rulebook shipped with the package."""
    return Path(__file__).with_name("safety_rules.yaml")


def load_safety_rulebook(path: Path | None = None) -> SafetyRulebook:
    """Read, validate and compile a rulebook; any problem raises ``ConfigurationError`` naming it."""
    source = path or default_rulebook_path()
    try:
        text = source.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read safety rules {source}: {exc}") from exc
    return parse_safety_rulebook(text, origin=str(source))


def parse_safety_rulebook(text: str, *, origin: str = "<string>") -> SafetyRulebook:
    """Validate and compile rulebook YAML (``origin`` names it in errors)."""
    try:
        data = _RulebookFile.model_validate(yaml.safe_load(text))
    except (yaml.YAMLError, ValidationError) as exc:
        raise ConfigurationError(f"invalid safety rules {origin}: {exc}") from exc
    names = [c.name for c in data.categories] + [c.name for c in data.injection.categories]
    if len(names) != len(set(names)):
        raise ConfigurationError(f"invalid safety rules {origin}: duplicate category names")
    spoken = _spoken_replacer(data.spoken_numbers)
    categories = tuple(
        RuleCategory(
            name=c.name,
            kind=c.kind,
            guidance=_one_line(c.guidance),
            spoken_guidance=spoken(_one_line(c.guidance)),
            pattern=_compile(c.patterns, origin, c.name),
            unless=_compile(c.unless, origin, c.name) if c.unless else None,
        )
        for c in data.categories
    )
    decline = _one_line(data.injection.guidance)
    injection = tuple(
        RuleCategory(
            name=c.name,
            kind="injection",
            guidance=decline,
            spoken_guidance=spoken(decline),
            pattern=_compile(c.patterns, origin, c.name),
            unless=None,
        )
        for c in data.injection.categories
    )
    return SafetyRulebook(categories=categories, injection=injection)


def _compile(patterns: tuple[str, ...], origin: str, category: str) -> re.Pattern[str]:
    try:
        return re.compile("|".join(f"(?:{fold_pattern(p)})" for p in patterns))
    except (re.error, ValueError) as exc:
        raise ConfigurationError(f"invalid safety rules {origin}: category {category}: {exc}") from exc


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _spoken_replacer(numbers: dict[str, str]) -> _SpokenNumbers:
    return _SpokenNumbers(tuple(sorted(numbers.items(), key=lambda item: -len(item[0]))))


@dataclass(frozen=True, slots=True)
class _SpokenNumbers:
    """Rewrites hotline numbers the way they are read aloud ("119" → "일일구"), longest first."""

    pairs: tuple[tuple[str, str], ...]

    def __call__(self, text: str) -> str:
        if not self.pairs:
            return text
        table = dict(self.pairs)
        alternation = "|".join(re.escape(number) for number, _ in self.pairs)
        return re.sub(rf"(?<!\d)(?:{alternation})(?!\d)", lambda m: table[m.group(0)], text)
