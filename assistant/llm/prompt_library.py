"""Prompt files: load, validate and version the prompts in the repository's ``prompts/`` folder.

A prompt file is YAML with an ``id``, declared ``inputs``, ``messages`` (Jinja templates rendered in a
sandbox with ``StrictUndefined``), optional ``constants`` and ``json_schema``, request ``defaults`` and
``examples``. Everything is checked when the library loads, so a broken prompt fails at startup rather
than in the middle of a conversation. See ``prompts/README.md`` for the format.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from pathlib import Path
from types import MappingProxyType
from typing import Any

import yaml
from jinja2 import StrictUndefined, Template, TemplateSyntaxError, meta
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field, ValidationError

import assistant
from assistant.core.errors import ConfigurationError
from assistant.llm.ports import Role
from assistant.llm.prompt import InputType, Prompt, PromptDefaults, PromptInput, PromptInputError

_NAME_PATTERN = r"^[a-z][a-z0-9_]*$"
_VERSION_CHARS = 12


class PromptFileError(ConfigurationError):
    """A prompt file is malformed: bad YAML, an unknown key, a bad role, a template error or a failing
    example. Names the file and what is wrong."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"prompt file {path}: {reason}")


class PromptNotFound(ConfigurationError):
    """No prompt with the requested id is in the library."""


class PromptLibrary:
    """Every prompt in one directory (``*.yaml`` or ``*.yml``, one per file, the id equal to the file name).
    Loading validates every file and renders every example, raising ``PromptFileError`` on the first
    problem."""

    def __init__(self, directory: Path) -> None:
        if not directory.is_dir():
            raise ConfigurationError(f"prompts directory {directory} does not exist")
        self._directory = directory
        environment = ImmutableSandboxedEnvironment(
            undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, autoescape=False
        )
        prompts: dict[str, Prompt] = {}
        for path in sorted([*directory.glob("*.yaml"), *directory.glob("*.yml")]):
            prompt = _load(path, environment)
            if prompt.prompt_id in prompts:
                raise PromptFileError(path, f"duplicate prompt id {prompt.prompt_id!r}")
            prompts[prompt.prompt_id] = prompt
        self._prompts = prompts

    @property
    def directory(self) -> Path:
        return self._directory

    def get(self, prompt_id: str) -> Prompt:
        try:
            return self._prompts[prompt_id]
        except KeyError:
            known = ", ".join(sorted(self._prompts)) or "none"
            raise PromptNotFound(f"no prompt {prompt_id!r} in {self._directory} (known: {known})") from None

    def __iter__(self) -> Iterator[Prompt]:
        return iter(sorted(self._prompts.values(), key=lambda p: p.prompt_id))

    def __len__(self) -> int:
        return len(self._prompts)


def default_prompts_dir() -> Path:
    """The repository's ``prompts/`` folder, next to the ``assistant`` package. This holds for a source
    checkout and an editable install (``pip install -e .``); a wheel does not ship ``prompts/``, so
    deployments from a wheel must pass the directory explicitly."""
    directory = Path(assistant.__file__).resolve().parents[1] / "prompts"
    if not directory.is_dir():
        raise ConfigurationError(
            f"prompts directory {directory} not found; run from a source checkout or pass the path"
        )
    return directory


class _InputSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: InputType
    description: str = Field(min_length=1)
    default: Any = None


class _MessageSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
    content: str = Field(min_length=1)


class _DefaultsSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(default=512, ge=1)
    temperature: float = Field(default=0.0, ge=0.0, le=2.0)
    stop: tuple[str, ...] = ()


class _PromptFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(pattern=_NAME_PATTERN)
    description: str = Field(min_length=1)
    inputs: dict[str, _InputSpec] = Field(default_factory=dict)
    constants: dict[str, str] = Field(default_factory=dict)
    messages: list[_MessageSpec] = Field(min_length=1)
    json_schema: dict[str, Any] | None = None
    defaults: _DefaultsSpec = Field(default_factory=_DefaultsSpec)
    examples: list[dict[str, Any]] = Field(min_length=1)


def _load(path: Path, environment: ImmutableSandboxedEnvironment) -> Prompt:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PromptFileError(path, f"cannot read: {exc}") from exc
    try:
        spec = _PromptFile.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '(file)'}: {error['msg']}"
            for error in exc.errors()
        )
        raise PromptFileError(path, problems) from exc
    if spec.id != path.stem:
        raise PromptFileError(path, f"id {spec.id!r} must equal the file name {path.stem!r}")
    _check_names(path, spec)
    if spec.json_schema is not None and (
        spec.json_schema.get("type") != "object" or not isinstance(spec.json_schema.get("properties"), dict)
    ):
        raise PromptFileError(path, "json_schema must be an object schema with 'properties'")
    templates = _compile(path, spec, environment)
    prompt = Prompt(
        prompt_id=spec.id,
        version=_version_of(spec),
        description=spec.description.strip(),
        inputs=tuple(_input_of(path, name, item) for name, item in spec.inputs.items()),
        defaults=PromptDefaults(
            max_tokens=spec.defaults.max_tokens,
            temperature=spec.defaults.temperature,
            stop=spec.defaults.stop,
        ),
        constants=MappingProxyType(dict(spec.constants)),
        json_schema=spec.json_schema,  # a plain dict: it goes on the wire and must stay JSON-serialisable
        examples=tuple(MappingProxyType(example) for example in spec.examples),
        templates=templates,
    )
    for index, example in enumerate(spec.examples):
        try:
            prompt.render(example)
        except PromptInputError as exc:
            raise PromptFileError(path, f"examples[{index}]: {exc}") from exc
    return prompt


def _check_names(path: Path, spec: _PromptFile) -> None:
    for kind, names in (("input", spec.inputs), ("constant", spec.constants)):
        for name in names:
            if re.fullmatch(_NAME_PATTERN, name) is None:
                raise PromptFileError(path, f"{kind} name {name!r} must be a lower-case identifier")
    clash = sorted(set(spec.inputs) & set(spec.constants))
    if clash:
        raise PromptFileError(path, f"{clash[0]!r} is both an input and a constant")


def _compile(
    path: Path, spec: _PromptFile, environment: ImmutableSandboxedEnvironment
) -> tuple[tuple[Role, Template], ...]:
    known = set(spec.inputs) | set(spec.constants)
    used: set[str] = set()
    templates: list[tuple[Role, Template]] = []
    for index, message in enumerate(spec.messages):
        try:
            parsed = environment.parse(message.content)
        except TemplateSyntaxError as exc:
            raise PromptFileError(path, f"messages[{index}]: line {exc.lineno}: {exc.message}") from exc
        names = meta.find_undeclared_variables(parsed) - set(environment.globals)
        unknown = sorted(names - known)
        if unknown:
            raise PromptFileError(path, f"messages[{index}] uses {unknown[0]!r}, which is not declared")
        used |= names
        templates.append((message.role, environment.from_string(message.content)))
    unused = sorted(set(spec.inputs) - used)
    if unused:
        raise PromptFileError(path, f"input {unused[0]!r} is declared but no message uses it")
    return tuple(templates)


def _input_of(path: Path, name: str, item: _InputSpec) -> PromptInput:
    has_default = "default" in item.model_fields_set
    default = tuple(item.default) if isinstance(item.default, list) else item.default
    declared = PromptInput(name, item.type, item.description.strip(), has_default, default)
    if has_default and not declared.accepts(default):
        raise PromptFileError(path, f"input {name!r}: default is not a {item.type}")
    return declared


def _version_of(spec: _PromptFile) -> str:
    """Hash what can change a request: id, inputs (names, types, defaults), constants, messages,
    json_schema and defaults. Descriptions, examples, comments and YAML layout are left out, so editing
    them keeps the version."""
    canonical = json.dumps(
        spec.model_dump(
            mode="json",
            exclude={"description": True, "examples": True, "inputs": {"__all__": {"description"}}},
        ),
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:_VERSION_CHARS]
