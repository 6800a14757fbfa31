"""Commands: what a command source (rules, later an LLM) says the citizen wants, for the executor to apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from assistant.dialogue.flows.state import FlowState


@dataclass(frozen=True, slots=True)
class StartFlow:
    """Start ``flow_id`` (a running flow of another id is dropped)."""

    flow_id: str


@dataclass(frozen=True, slots=True)
class SetSlot:
    """Fill ``name`` with ``value`` (raw text, validated like an answer); ``None`` skips an optional slot."""

    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class Correct:
    """Change an answer ("아니 주소는 …로 바꿔줘"); ``value=None`` asks for ``name`` again."""

    name: str
    value: str | None


@dataclass(frozen=True, slots=True)
class UserText:
    """The citizen's text, as the answer to the step the flow waits on."""

    text: str


@dataclass(frozen=True, slots=True)
class Affirm:
    """Yes to a confirmation or an offer of a human."""


@dataclass(frozen=True, slots=True)
class Deny:
    """No to a confirmation or an offer of a human."""


@dataclass(frozen=True, slots=True)
class Cancel:
    """Stop the flow."""


@dataclass(frozen=True, slots=True)
class Handoff:
    """Hand the conversation to a human agent."""


@dataclass(frozen=True, slots=True)
class Digress:
    """An unrelated question mid-flow: the flow pauses and the caller answers it (an FAQ)."""

    question: str


@dataclass(frozen=True, slots=True)
class Resume:
    """Go on after a digression: the pending step is asked again."""


Command = StartFlow | SetSlot | Correct | UserText | Affirm | Deny | Cancel | Handoff | Digress | Resume


class CommandSource(Protocol):
    """Turns the citizen's text into commands, given the running flow (``None``: no flow).

    An empty result means the text is not for a flow (the caller answers it as a question).
    """

    async def commands(self, text: str, state: FlowState | None) -> Sequence[Command]: ...
