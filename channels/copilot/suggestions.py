"""Reading suggestions back out of a conversation's log (pure): which ``assist_request`` an agent rates,
the question it answered and the reply it got, for feedback and for the suggestion's ``assist_seq``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from assistant.sessions.conversation import Conversation, ConversationEvent


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggestion as logged. Texts are redacted (the question as stored, the reply as stored)."""

    assist_seq: int
    question: str
    text: str
    cited_chunk_ids: tuple[str, ...]
    trace_id: str | None


def suggestion_at(conversation: Conversation, assist_seq: int) -> Suggestion | None:
    """The suggestion whose ``assist_request`` event has ``assist_seq``, or None when there is none
    (another kind of event, or no reply recorded)."""
    request = next((e for e in conversation.events if e.seq == assist_seq), None)
    if request is None or request.kind != "assist_request" or request.message_id is None:
        return None
    reply = next(
        (
            e
            for e in conversation.events
            if e.kind == "assist_reply" and e.payload.get("in_reply_to") == request.message_id
        ),
        None,
    )
    if reply is None:
        return None
    return Suggestion(
        assist_seq=request.seq,
        question=_question(conversation, request),
        text=str(reply.payload.get("text", "")),
        cited_chunk_ids=_chunk_ids(reply.payload),
        trace_id=_trace_id(reply.payload),
    )


def suggestion_for(conversation: Conversation, message_id: str) -> Suggestion | None:
    """The suggestion logged for the agent's request ``message_id``."""
    for event in conversation.events:
        if event.kind == "assist_request" and event.message_id == message_id:
            return suggestion_at(conversation, event.seq)
    return None


def _question(conversation: Conversation, request: ConversationEvent) -> str:
    for_seq = request.payload.get("for_seq")
    if not isinstance(for_seq, int):
        return ""
    asked = next((e for e in conversation.events if e.seq == for_seq and e.kind == "user_turn"), None)
    return str(asked.payload.get("text", "")) if asked is not None else ""


def _chunk_ids(payload: Mapping[str, Any]) -> tuple[str, ...]:
    citations = payload.get("citations", ())
    if not isinstance(citations, list):
        return ()
    return tuple(str(c["chunk_id"]) for c in citations if isinstance(c, Mapping) and c.get("chunk_id"))


def _trace_id(payload: Mapping[str, Any]) -> str | None:
    value = payload.get("trace_id")
    return value if isinstance(value, str) and value else None
