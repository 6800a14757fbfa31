"""Reading a mapping file (YAML or TOML, by its extension) into plain data."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import yaml

from assistant.core.errors import ConfigurationError


def read_mapping_file(path: Path) -> dict[str, Any]:
    """The file's top-level table; a missing, unreadable or malformed file is a ConfigurationError."""
    suffix = path.suffix.lower()
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"mapping file {path}: cannot read it ({exc})") from exc
    try:
        if suffix in {".yaml", ".yml"}:
            data: Any = yaml.safe_load(raw)
        elif suffix == ".toml":
            data = tomllib.loads(raw)
        else:
            raise ConfigurationError(f"mapping file {path}: use a .yaml, .yml or .toml file")
    except (yaml.YAMLError, tomllib.TOMLDecodeError) as exc:
        raise ConfigurationError(f"mapping file {path}: malformed {suffix[1:].upper()} ({exc})") from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigurationError(f"mapping file {path}: the top level must be a table of keys")
    return data
