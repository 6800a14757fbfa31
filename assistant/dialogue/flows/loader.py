"""Loading flow files (``*.yaml``) into a ``FlowCatalog``; problems are ConfigurationErrors naming files."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from assistant.core.errors import ConfigurationError
from assistant.dialogue.flows.spec import STEP_KINDS, ActionStep, FlowSpec


def shipped_flow_directory() -> Path:
    """The flows dasan ships: ``assistant/dialogue/flows/definitions``."""
    return Path(__file__).parent / "definitions"


class FlowCatalog:
    """The flows by id."""

    def __init__(self, flows: Iterable[FlowSpec]) -> None:
        self._flows: dict[str, FlowSpec] = {}
        for flow in flows:
            if flow.id in self._flows:
                raise ConfigurationError(f"two flows have the id {flow.id!r}")
            self._flows[flow.id] = flow

    def __contains__(self, flow_id: object) -> bool:
        return flow_id in self._flows

    def __iter__(self) -> Iterator[FlowSpec]:
        return iter(self._flows.values())

    def __len__(self) -> int:
        return len(self._flows)

    def get(self, flow_id: str) -> FlowSpec:
        try:
            return self._flows[flow_id]
        except KeyError:
            raise KeyError(f"no flow {flow_id!r}") from None

    def action_names(self) -> frozenset[str]:
        return frozenset(step.action for flow in self for step in flow.steps if isinstance(step, ActionStep))


def load_flow_file(path: Path) -> FlowSpec:
    """One flow file, validated; errors name the file and the place in it (``steps.2.validation``)."""
    try:
        data: Any = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"flow file {path}: cannot read it ({exc.strerror or exc})") from exc
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"flow file {path}: malformed YAML ({exc})") from exc
    if not isinstance(data, dict):
        raise ConfigurationError(f"flow file {path}: the top level must be a mapping")
    try:
        return FlowSpec.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(_problem(error) for error in exc.errors())
        raise ConfigurationError(f"flow file {path}: {problems}") from exc


def load_flows(directory: Path | None = None) -> FlowCatalog:
    """Every ``*.yaml`` flow under ``directory`` (default: the shipped flows), sorted by file name."""
    root = directory or shipped_flow_directory()
    if not root.is_dir():
        raise ConfigurationError(f"flow directory {root} does not exist")
    specs: dict[str, tuple[Path, FlowSpec]] = {}
    for path in sorted(root.glob("*.yaml")):
        spec = load_flow_file(path)
        if spec.id in specs:
            raise ConfigurationError(f"flow file {path}: flow id {spec.id!r} is also in {specs[spec.id][0]}")
        specs[spec.id] = (path, spec)
    return FlowCatalog(spec for _, spec in specs.values())


def _problem(error: Any) -> str:
    parts = list(error["loc"])
    if len(parts) > 2 and parts[0] == "steps" and parts[2] in STEP_KINDS:
        del parts[2]  # pydantic adds the union member's tag (the step kind) to the location
    location = ".".join(str(part) for part in parts)
    message = str(error["msg"]).removeprefix("Value error, ")
    return f"{location}: {message}" if location else message
