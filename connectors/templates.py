"""``{name}`` placeholders in mapping strings (titles, categories, URLs), filled from a row's values."""

from __future__ import annotations

import re
from collections.abc import Mapping

_PLACEHOLDER = re.compile(r"\{([^{}]+)\}")


def placeholders(template: str) -> list[str]:
    """The names a template refers to, in order."""
    return [match.group(1).strip() for match in _PLACEHOLDER.finditer(template)]


def fill_template(template: str, values: Mapping[str, str]) -> str:
    """Replace each ``{name}`` with its value; a name without a value becomes empty text.

    No attribute access or format specs: mapping files are data, never code.
    """
    return _PLACEHOLDER.sub(lambda m: _lookup(values, m.group(1)), template).strip()


def _lookup(values: Mapping[str, str], name: str) -> str:
    return values.get(name.strip()) or values.get("".join(name.split())) or ""
