"""What a turn tells its trace and its observers: the trace's name, user and input for each kind of
dialogue input, and one ``TurnTiming`` report when the turn ends (replied or failed)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import assert_never

from assistant.core.events import (
    AgentMessage,
    AssistRequested,
    CallEnded,
    CallStarted,
    DialogueInput,
    UserTurn,
)
from assistant.core.replies import Reply
from assistant.dialogue.answering_step import TurnClock
from assistant.dialogue.manager_ports import TurnTiming
from assistant.tracing.ports import Metadata

_USER_IS_THREAD = frozenset({"kakao", "phone"})
"""Channels whose thread is the citizen (a Kakao user key, a call): the trace's user id, hashed."""


@dataclass(frozen=True, slots=True)
class TraceOpening:
    """How a dialogue input opens its trace: ``input`` is content (the tracer redacts it, or omits it
    on channels that do not capture)."""

    name: str
    user: str | None
    input: str | None


def trace_opening(event: DialogueInput) -> TraceOpening:
    user = event.key.thread if event.key.channel in _USER_IS_THREAD else None
    match event:
        case UserTurn():
            return TraceOpening("turn", user, event.text)
        case AssistRequested():
            return TraceOpening("assist", user, None)
        case AgentMessage():
            return TraceOpening("agent_message", user, event.text)
        case CallStarted():
            return TraceOpening("call_started", user, None)
        case CallEnded():
            return TraceOpening("call_ended", user, None)
        case _:
            assert_never(event)


def turn_report(event: DialogueInput, clock: TurnClock, reply: Reply | None) -> TurnTiming:
    """The observers' report; ``reply`` None means the turn failed (``clock.error`` says with what)."""
    return TurnTiming(
        key=event.key,
        message_id=event.message_id,
        route=clock.route,
        total_ms=clock.elapsed_ms(),
        answer_ms=clock.answer_ms,
        action=reply.action if reply is not None else None,
        answer_mode=clock.answer_mode,
        safety_flags=clock.safety_flags,
        error=clock.error,
        failed=reply is None,
    )


def trace_summary(timing: TurnTiming, clock: TurnClock) -> Metadata:
    """The turn's annotations (structure only; no text)."""
    return {
        "route": timing.route,
        "action": timing.action,
        "abstained": timing.abstained,
        "handoff": timing.handoff,
        "safety_flags": list(timing.safety_flags),
        "answer_mode": timing.answer_mode,
        "fallback_reason": reason_kind(clock.fallback_reason),
        "error": timing.error,
        "dialogue_ms": round(timing.dialogue_ms, 2),
        "answer_ms": round(timing.answer_ms, 1),
    }


def reason_kind(reason: str | None) -> str | None:
    """A fallback reason's kind (``unsupported``, ``llm_error``, ``deadline``, ...): its details can
    quote the generated text, and metadata is exported even where content is not."""
    return reason.split(":", 1)[0].strip() if reason else None
