"""How a scripted conversation ended, read from what the dialogue manager stored: the flow it ran, the
flow's outcome and its slots. Pure: a conversation's events and the flow states seen after each turn in,
a ``FlowEnding`` out.

The dialogue manager keeps a running flow's state (personal slots already replaced by placeholders such
as ``[전화번호]``) in ``Conversation.state["flow"]`` and drops it when the flow ends; it logs a ``flow``
event when a flow starts and when it completes or is cancelled (with the public view of the record it
created), and a ``handoff`` event when the citizen is handed to a human. So:

- ``flow`` is the flow of the last ``flow`` event (or of the last state seen);
- ``outcome`` is that event's status when it is final (``completed``, ``cancelled``), ``handoff`` when a
  handoff followed the flow's start, else the status the flow was last seen in (``active``);
- ``slots`` are the flow's slots when it last waited on the citizen, plus what its record added that
  the slots lacked (the reference number the final action assigned).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.sessions.conversation import ConversationEvent

_FINAL = frozenset({"completed", "cancelled", "handoff"})
_RECORD_ONLY = frozenset({"kind", "details", "has_photo"})


@dataclass(frozen=True, slots=True)
class FlowEnding:
    """``flow`` is None when no flow ran (then ``outcome`` is None too)."""

    flow: str | None = None
    outcome: str | None = None
    slots: Mapping[str, object] = field(default_factory=dict)


def flow_ending(events: Sequence[ConversationEvent], states: Sequence[object]) -> FlowEnding:
    """``states`` holds ``Conversation.state.get("flow")`` after each turn, in order."""
    flow_events = [e for e in events if e.kind == "flow" and isinstance(e.payload.get("flow_id"), str)]
    seen = [s for s in states if isinstance(s, Mapping) and isinstance(s.get("flow_id"), str)]
    if flow_events:
        flow: str = flow_events[-1].payload["flow_id"]
    elif seen:
        flow = seen[-1]["flow_id"]
    else:
        return FlowEnding()
    last_state = next((s for s in reversed(seen) if s["flow_id"] == flow), None)
    slots: dict[str, object] = dict(_slots_of(last_state))
    last_event = flow_events[-1] if flow_events else None
    record = last_event.payload.get("record") if last_event is not None else None
    if isinstance(record, Mapping):
        details = record.get("details")
        extra = {**record, **(details if isinstance(details, Mapping) else {})}
        slots.update({k: v for k, v in extra.items() if k not in _RECORD_ONLY and k not in slots})
    return FlowEnding(flow, _outcome(events, last_event, last_state), slots)


def _outcome(
    events: Sequence[ConversationEvent],
    last_event: ConversationEvent | None,
    last_state: Mapping[str, Any] | None,
) -> str:
    status = last_event.payload.get("status") if last_event is not None else None
    if isinstance(status, str) and status in _FINAL:
        return status
    started_at = last_event.seq if last_event is not None else 0
    if any(e.kind == "handoff" and e.seq > started_at for e in events):
        return "handoff"
    state_status = last_state.get("status") if last_state is not None else None
    return state_status if isinstance(state_status, str) else "active"


def _slots_of(state: Mapping[str, Any] | None) -> Mapping[str, object]:
    slots = state.get("slots") if state is not None else None
    return slots if isinstance(slots, Mapping) else {}
