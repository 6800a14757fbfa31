"""A loaded prompt and its rendering: declared inputs checked, Jinja messages rendered, request built."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import Any, Literal, assert_never

from jinja2 import Template, TemplateError, UndefinedError

from assistant.llm.ports import ChatMessage, ChatRequest, Role

InputType = Literal["str", "list", "int"]


class PromptInputError(ValueError):
    """Inputs given to ``Prompt.render`` do not match the declared inputs (undeclared, missing, wrong type,
    or missing a field a template reads). A programming error in the caller, not a user error."""

    def __init__(self, prompt_id: str, reason: str, input_name: str | None = None) -> None:
        self.prompt_id = prompt_id
        self.input_name = input_name
        self.reason = reason
        where = f"prompt {prompt_id!r}" + (f", input {input_name!r}" if input_name else "")
        super().__init__(f"{where}: {reason}")


@dataclass(frozen=True, slots=True)
class PromptInput:
    """A declared input. An input with ``has_default`` is optional; ``default`` fills it."""

    name: str
    type: InputType
    description: str
    has_default: bool = False
    default: Any = None

    def accepts(self, value: object) -> bool:
        """Whether ``value`` has the declared type (``list`` takes a list or a tuple)."""
        match self.type:
            case "str":
                return isinstance(value, str)
            case "int":
                return isinstance(value, int) and not isinstance(value, bool)
            case "list":
                return isinstance(value, list | tuple)
            case _:
                assert_never(self.type)


@dataclass(frozen=True, slots=True)
class PromptDefaults:
    """Request parameters the prompt was written for; callers may override them per request."""

    max_tokens: int = 512
    temperature: float = 0.0
    stop: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """Messages ready for the model, tagged with the prompt's id and version."""

    prompt_id: str
    version: str
    messages: tuple[ChatMessage, ...]
    defaults: PromptDefaults
    json_schema: Mapping[str, Any] | None = None

    def to_request(
        self,
        *,
        max_tokens: int | None = None,
        temperature: float | None = None,
        stop: tuple[str, ...] | None = None,
        timeout: timedelta | None = None,
        metadata: Mapping[str, str] | None = None,
    ) -> ChatRequest:
        """A ``ChatRequest`` with the prompt's defaults, overridden where given. ``prompt_id`` and
        ``prompt_version`` are always set in the metadata, so every trace carries them."""
        tags = {**(metadata or {}), "prompt_id": self.prompt_id, "prompt_version": self.version}
        request = ChatRequest(
            messages=self.messages,
            max_tokens=self.defaults.max_tokens if max_tokens is None else max_tokens,
            temperature=self.defaults.temperature if temperature is None else temperature,
            stop=self.defaults.stop if stop is None else stop,
            json_schema=self.json_schema,
            schema_name=self.prompt_id,
            metadata=tags,
        )
        return request if timeout is None else replace(request, timeout=timeout)


@dataclass(frozen=True, slots=True)
class Prompt:
    """One loaded, validated prompt. ``version`` is a short content hash (see ``prompts/README.md``)."""

    prompt_id: str
    version: str
    description: str
    inputs: tuple[PromptInput, ...]
    defaults: PromptDefaults
    constants: Mapping[str, str]
    json_schema: Mapping[str, Any] | None
    examples: tuple[Mapping[str, Any], ...]
    templates: tuple[tuple[Role, Template], ...] = field(repr=False, compare=False)

    def render(self, inputs: Mapping[str, Any]) -> RenderedPrompt:
        """Render the messages. Raises ``PromptInputError`` for undeclared, missing or mistyped inputs
        and for any name a template reads that the inputs do not provide."""
        context = self._bind(inputs)
        messages: list[ChatMessage] = []
        for role, template in self.templates:
            try:
                content = template.render(context)
            except UndefinedError as exc:
                raise PromptInputError(self.prompt_id, f"a template read an undefined value: {exc}") from exc
            except TemplateError as exc:
                raise PromptInputError(self.prompt_id, f"rendering failed: {exc}") from exc
            messages.append(ChatMessage(role=role, content=content.strip()))
        return RenderedPrompt(
            prompt_id=self.prompt_id,
            version=self.version,
            messages=tuple(messages),
            defaults=self.defaults,
            json_schema=self.json_schema,
        )

    def _bind(self, inputs: Mapping[str, Any]) -> dict[str, Any]:
        declared = {spec.name: spec for spec in self.inputs}
        undeclared = sorted(set(inputs) - set(declared))
        if undeclared:
            raise PromptInputError(
                self.prompt_id,
                f"not declared (declared: {', '.join(declared) or 'none'})",
                ", ".join(undeclared),
            )
        context: dict[str, Any] = dict(self.constants)
        for name, spec in declared.items():
            if name not in inputs:
                if not spec.has_default:
                    raise PromptInputError(self.prompt_id, "missing (it is required)", name)
                context[name] = spec.default
                continue
            value = inputs[name]
            if not spec.accepts(value):
                raise PromptInputError(
                    self.prompt_id, f"expected {spec.type}, got {type(value).__name__}", name
                )
            context[name] = value
        return context
