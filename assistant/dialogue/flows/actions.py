"""Actions: named steps of a flow that do something (price, book, file), in process or on an action server."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from assistant.core.errors import ConfigurationError
from assistant.dialogue.flows.state import SlotValue


@dataclass(frozen=True, slots=True)
class ActionCall:
    """What an action gets: the flow's slots (``pii_slots`` names the personal ones) and the latest text."""

    name: str
    flow_id: str
    sender_id: str
    slots: Mapping[str, SlotValue]
    pii_slots: frozenset[str] = frozenset()
    latest_text: str | None = None


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What an action gives back: ``values`` (the flow maps them to slots), messages for the citizen and
    the public view of a record it created."""

    values: Mapping[str, SlotValue] = field(default_factory=dict)
    messages: tuple[str, ...] = ()
    record: Mapping[str, Any] | None = None


class Action(Protocol):
    """One action. Failures are ``UpstreamError``s: the flow then offers a human."""

    async def run(self, call: ActionCall) -> ActionResult: ...


class ActionRegistry:
    """Actions by name, plus an optional ``remote`` (an action server) for every other name."""

    def __init__(self, actions: Mapping[str, Action] | None = None, *, remote: Action | None = None) -> None:
        self._actions = dict(actions or {})
        self._remote = remote

    def names(self) -> frozenset[str]:
        return frozenset(self._actions)

    def require(self, names: set[str] | frozenset[str]) -> None:
        """Fail at startup when a flow names an action nobody runs."""
        missing = sorted(n for n in names if n not in self._actions) if self._remote is None else []
        if missing:
            raise ConfigurationError(f"flows name actions that are not registered: {', '.join(missing)}")

    async def run(self, call: ActionCall) -> ActionResult:
        action = self._actions.get(call.name, self._remote)
        if action is None:
            raise ConfigurationError(f"no action is registered as {call.name!r}")
        return await action.run(call)
