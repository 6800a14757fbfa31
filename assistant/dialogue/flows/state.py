"""A flow's state (JSON-safe: the dialogue manager keeps it in ``Conversation.state``) and a turn's output."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal, get_args

SlotValue = str | int | bool | tuple[str, ...] | None
"""What a slot holds: text, a number (an amount in won), a flag or a list of choices; ``None`` = skipped."""

FlowStatus = Literal["active", "paused", "completed", "cancelled", "handoff"]
FLOW_STATUSES: frozenset[str] = frozenset(get_args(FlowStatus))
TERMINAL_STATUSES: frozenset[str] = frozenset({"completed", "cancelled", "handoff"})

STATE_FORMAT = 1
"""Bumped when the JSON shape changes, so a stored state of another shape is dropped, not misread."""


@dataclass(frozen=True, slots=True)
class FlowState:
    """Where a flow is: the step it waits on, the slots so far and how many answers failed there.

    A slot that is absent is still to be asked; one holding ``None`` was skipped (optional).
    ``offering_handoff`` means the last reply offered a human and waits for yes or no.
    """

    flow_id: str
    step_id: str
    slots: Mapping[str, SlotValue] = field(default_factory=dict)
    status: FlowStatus = "active"
    attempts: int = 0
    offering_handoff: bool = False

    @property
    def is_terminal(self) -> bool:
        return self.status in TERMINAL_STATUSES

    @property
    def is_running(self) -> bool:
        """Active or paused for a digression: the flow still expects the citizen."""
        return not self.is_terminal

    def with_slots(self, slots: Mapping[str, SlotValue]) -> FlowState:
        return replace(self, slots=dict(slots))

    def to_json(self) -> dict[str, Any]:
        return {
            "format": STATE_FORMAT,
            "flow_id": self.flow_id,
            "step_id": self.step_id,
            "slots": {name: list(v) if isinstance(v, tuple) else v for name, v in self.slots.items()},
            "status": self.status,
            "attempts": self.attempts,
            "offering_handoff": self.offering_handoff,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> FlowState:
        """The state ``to_json`` wrote; ``ValueError`` when ``data`` is not one."""
        if data.get("format") != STATE_FORMAT:
            raise ValueError(f"not a flow state of format {STATE_FORMAT}")
        status = data.get("status")
        flow_id, step_id = data.get("flow_id"), data.get("step_id")
        raw_slots, attempts = data.get("slots"), data.get("attempts")
        offering = data.get("offering_handoff")
        if (
            status not in FLOW_STATUSES
            or not isinstance(flow_id, str)
            or not isinstance(step_id, str)
            or not isinstance(raw_slots, Mapping)
            or not isinstance(attempts, int)
            or not isinstance(offering, bool)
        ):
            raise ValueError("a flow state field is missing or of the wrong type")
        slots = {str(name): _slot_value(value) for name, value in raw_slots.items()}
        return cls(
            flow_id=flow_id,
            step_id=step_id,
            slots=slots,
            status=status,
            attempts=attempts,
            offering_handoff=offering,
        )


def _slot_value(value: Any) -> SlotValue:
    if value is None or isinstance(value, str | int | bool):
        return value
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        return tuple(value)
    raise ValueError(f"a slot holds a value of type {type(value).__name__}")


@dataclass(frozen=True, slots=True)
class FlowTurn:
    """What one turn of a flow produced.

    ``state`` is ``None`` when no flow ran (nothing active, nothing started). ``prompt_text`` is what to
    say (empty after a digression: the caller answers ``digress_question`` first, then sends ``Resume``).
    ``record`` is the public view of what the flow created (a booking, a complaint), without personal data.
    """

    state: FlowState | None
    prompt_text: str = ""
    quick_replies: tuple[str, ...] = ()
    done: bool = False
    record: Mapping[str, Any] | None = None
    digress_question: str | None = None
    handoff: bool = False

    @property
    def outcome(self) -> FlowStatus | None:
        return self.state.status if self.state is not None else None


@dataclass(frozen=True, slots=True)
class ActionRequest:
    """The walk reached an action step: run ``action``, then hand the result to ``FlowMachine.after_action``
    (``notes`` is what to say before the next question; ``latest_text`` goes to the action)."""

    state: FlowState
    action: str
    notes: tuple[str, ...] = ()
    record: Mapping[str, Any] | None = None
    latest_text: str | None = None


Progress = FlowTurn | ActionRequest
