"""Appending a turn to the conversation: the redacted input, what the turn decided, the reply; with one
retry after a lost version race, and the first reply returned when the message was a duplicate.

Decision: after a ``ConversationConflict`` the turn is appended again at the new version as decided
(its answer is not recomputed, so a model or a flow action never runs twice for one message); a second
conflict is raised. Inside one process the manager's per-conversation lock makes conflicts rare; they
come from another worker writing the same conversation.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from assistant.core.clock import Clock
from assistant.core.errors import ConversationConflict
from assistant.core.events import MessageId, UserTurn
from assistant.core.replies import Reply
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.transcript import recorded_reply, reply_id, reply_payload
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationStatus,
    EventKind,
    NewEvent,
)
from assistant.sessions.ports import SessionStore


@dataclass
class TurnPlan:
    """What routing decided for a citizen's turn: the reply (before fitting to the channel), the events
    to log between the turn and the reply (flags, handoff summary, flow changes), and the new status and
    state (``None`` keeps them). ``stored_text`` is the redacted turn."""

    reply: Reply
    route: str
    stored_text: str
    pii_kinds: tuple[str, ...] = ()
    events: list[NewEvent] = field(default_factory=list)
    status: ConversationStatus | None = None
    state: Mapping[str, Any] | None = None


class TurnRecorder:
    """Writes turns to the session store."""

    def __init__(self, sessions: SessionStore, redactor: PiiRedactor, clock: Clock) -> None:
        self._sessions = sessions
        self._redactor = redactor
        self._clock = clock

    async def user_turn(
        self,
        conversation: Conversation,
        turn: UserTurn,
        plan: TurnPlan,
        reply: Reply,
        *,
        trace_id: str | None = None,
    ) -> Reply:
        said = NewEvent(
            "user_turn",
            turn.received_at,
            {"text": plan.stored_text, "pii": list(plan.pii_kinds)},
            message_id=turn.message_id,
        )
        return await self.reply(
            conversation,
            turn.message_id,
            [said, *plan.events],
            reply,
            route=plan.route,
            state=plan.state,
            status=plan.status,
            trace_id=trace_id,
        )

    async def reply(
        self,
        conversation: Conversation,
        message_id: MessageId,
        events: Sequence[NewEvent],
        reply: Reply,
        *,
        route: str,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
        trace_id: str | None = None,
    ) -> Reply:
        """Append ``events`` and the reply to ``message_id``; a duplicate gets the first reply.
        ``trace_id`` (when the turn is traced) is kept in the reply's payload, for feedback scores."""
        kind: EventKind = "assist_reply" if reply.audience == "agent" else "bot_reply"
        payload = reply_payload(
            reply, stored_text=self._redactor.redact_text(reply.text), in_reply_to=message_id, route=route
        )
        if trace_id is not None:
            payload["trace_id"] = trace_id
        answer = NewEvent(kind, self._clock.now(), payload, message_id=reply_id(message_id))
        result = await self.append(conversation, [*events, answer], state=state, status=status)
        if result.duplicate:
            return recorded_reply(result.conversation, message_id) or reply
        return reply

    async def append(
        self,
        conversation: Conversation,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        key = conversation.key
        try:
            return await self._sessions.append(key, conversation.version, events, state=state, status=status)
        except ConversationConflict:
            latest = await self._sessions.load(key)
            return await self._sessions.append(key, latest.version, events, state=state, status=status)
