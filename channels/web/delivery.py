"""Pure translation of a stored conversation into what the citizen's page has not shown yet."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from assistant.sessions.conversation import Conversation, ConversationEvent
from channels.web.wire import MessageRole, WebCitation, WebMessage, WebMessagesResponse


def citizen_messages(conversation: Conversation, after: int) -> WebMessagesResponse:
    """The agents' messages and the assistant's replies to the citizen with ``seq > after``.

    Copilot suggestions (``assist_reply``, audience agent) and the citizen's own turns are never
    included. Texts are as stored, i.e. redacted.
    """
    messages = [
        message
        for event in conversation.events
        if event.seq > after and (message := _message(event)) is not None
    ]
    return WebMessagesResponse(status=conversation.status, version=conversation.version, messages=messages)


def _message(event: ConversationEvent) -> WebMessage | None:
    payload = event.payload
    text = payload.get("text")
    if not isinstance(text, str) or not text:
        return None
    role: MessageRole
    if event.kind == "agent_message":
        role = "agent"
    elif event.kind == "bot_reply" and payload.get("audience", "user") == "user":
        role = "assistant"
    else:
        return None
    in_reply_to = payload.get("in_reply_to")
    return WebMessage(
        seq=event.seq,
        role=role,
        text=text,
        at=event.at.isoformat(),
        in_reply_to=in_reply_to if isinstance(in_reply_to, str) and role == "assistant" else None,
        citations=_citations(payload.get("citations")),
        quick_replies=_strings(payload.get("quick_replies")),
    )


def _citations(value: Any) -> list[WebCitation]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [
        WebCitation(
            n=int(item.get("n", 0)),
            title=str(item.get("title", "")),
            source=str(item.get("source", "")),
            url=str(item["url"]) if item.get("url") is not None else None,
            chunk_id=str(item.get("chunk_id", "")),
        )
        for item in value
        if isinstance(item, Mapping)
    ]


def _strings(value: Any) -> list[str]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        return []
    return [item for item in value if isinstance(item, str)]
