"""Reading a conversation's log for the dialogue: replies recorded per message id, and the history.

Every reply the manager gives is stored as a ``bot_reply`` (or ``assist_reply``) event whose payload
carries ``in_reply_to``, the message id it answered, so a retried webhook gets the same reply back.
Payload texts are redacted, so a replayed reply shows placeholders where the first one echoed the
citizen's own details.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast, get_args

from assistant.answering.answer import HistoryTurn
from assistant.core.events import MessageId
from assistant.core.knowledge import ChunkId
from assistant.core.replies import Audience, Citation, Reply, ReplyAction
from assistant.sessions.conversation import Conversation, ConversationEvent

REPLY_KINDS = frozenset({"bot_reply", "assist_reply"})
_ACTIONS: frozenset[str] = frozenset(get_args(ReplyAction))
_AUDIENCES: frozenset[str] = frozenset(get_args(Audience))


def reply_id(message_id: MessageId) -> MessageId:
    """The message id of the reply event to ``message_id`` (so a batch never repeats an id)."""
    return MessageId(f"{message_id}#reply")


def reply_payload(reply: Reply, *, stored_text: str, in_reply_to: MessageId, route: str) -> dict[str, Any]:
    """A reply as an event payload; ``stored_text`` is its redacted text."""
    return {
        "text": stored_text,
        "in_reply_to": in_reply_to,
        "route": route,
        "action": reply.action,
        "audience": reply.audience,
        "quick_replies": list(reply.quick_replies),
        "citations": [
            {
                "n": c.n,
                "chunk_id": c.chunk_id,
                "title": c.title,
                "source": c.source,
                "url": c.url,
                "section": c.section,
            }
            for c in reply.citations
        ],
    }


def reply_from_payload(payload: Mapping[str, Any]) -> Reply:
    action = str(payload.get("action", "continue"))
    audience = str(payload.get("audience", "user"))
    return Reply(
        text=str(payload.get("text", "")),
        citations=tuple(_citation(c) for c in payload.get("citations", ()) if isinstance(c, Mapping)),
        quick_replies=tuple(str(q) for q in payload.get("quick_replies", ())),
        action=cast(ReplyAction, action) if action in _ACTIONS else "continue",
        audience=cast(Audience, audience) if audience in _AUDIENCES else "user",
    )


def _citation(data: Mapping[str, Any]) -> Citation:
    url = data.get("url")
    return Citation(
        n=int(data.get("n", 0)),
        chunk_id=ChunkId(str(data.get("chunk_id", ""))),
        title=str(data.get("title", "")),
        source=str(data.get("source", "")),
        url=str(url) if url is not None else None,
        section=str(data.get("section", "")),
    )


def recorded_reply(conversation: Conversation, message_id: MessageId) -> Reply | None:
    """The reply already given to ``message_id``, if the conversation holds that message."""
    if not conversation.has_message(message_id):
        return None
    for event in reversed(conversation.events):
        if event.kind in REPLY_KINDS and event.payload.get("in_reply_to") == message_id:
            return reply_from_payload(event.payload)
        if event.message_id == message_id:
            return _reply_to_unanswered(event)
    return None


def _reply_to_unanswered(event: ConversationEvent) -> Reply:
    """Events that are answered without a reply event: an agent's message, a call's end."""
    match event.kind:
        case "agent_message":
            return Reply(text=str(event.payload.get("text", "")), audience="user")
        case "call_ended":
            return Reply(text="", action="end_call")
        case _:
            return Reply(text="")


def history(events: Sequence[ConversationEvent], limit: int) -> tuple[HistoryTurn, ...]:
    """The last ``limit`` turns the citizen saw, oldest first: their turns, and the bot's and agents'."""
    turns: list[HistoryTurn] = []
    for event in reversed(events):
        if len(turns) >= limit:
            break
        text = event.payload.get("text")
        if not isinstance(text, str) or not text:
            continue
        if event.kind == "user_turn":
            turns.append(HistoryTurn("user", text))
        elif (event.kind == "bot_reply" and event.payload.get("audience", "user") == "user") or (
            event.kind == "agent_message"
        ):
            turns.append(HistoryTurn("assistant", text))
    turns.reverse()
    return tuple(turns)


_NOT_QUESTIONS = frozenset({"handoff:requested", "empty", "injection", "back_to_bot", "flow"})
"""Routes of turns that ask nothing an agent could answer ("상담원 연결해 주세요", a slot value)."""


def latest_user_turn(conversation: Conversation) -> int | None:
    """The index in ``conversation.events`` of the citizen's newest question: their newest turn whose
    reply's route was not a request for a human, a flow answer or the like; else their newest turn."""
    events = conversation.events
    routes = {e.payload.get("in_reply_to"): e.payload.get("route") for e in events if e.kind == "bot_reply"}
    newest: int | None = None
    for index in range(len(events) - 1, -1, -1):
        if events[index].kind != "user_turn":
            continue
        newest = index if newest is None else newest
        if routes.get(events[index].message_id) not in _NOT_QUESTIONS:
            return index
    return newest


def user_texts(events: Sequence[ConversationEvent]) -> list[str]:
    return [str(e.payload.get("text", "")) for e in events if e.kind == "user_turn"]


def flag_labels(events: Sequence[ConversationEvent]) -> list[str]:
    return [str(e.payload.get("label", "")) for e in events if e.kind == "flag" and e.payload.get("label")]


def undelivered_agent_messages(events: Sequence[ConversationEvent]) -> list[str]:
    """Agents' messages written since the citizen last got a reply (for channels that cannot push)."""
    pending: list[str] = []
    for event in reversed(events):
        if event.kind == "bot_reply" and event.payload.get("audience", "user") == "user":
            break
        if event.kind == "agent_message" and event.payload.get("text"):
            pending.append(str(event.payload["text"]))
    pending.reverse()
    return pending
