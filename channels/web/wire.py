"""Wire models of the web channel's JSON: the messages a citizen's page has not shown yet."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel

SESSION_ID_PATTERN = r"^[A-Za-z0-9_-]{8,128}$"
"""A web session id (the citizen's capability), the same rule as ``/v1/chat``'s ``session_id``."""

MessageRole = Literal["agent", "assistant"]
ConversationStatusName = Literal["bot", "handoff", "agent", "closed"]


class WebCitation(BaseModel):
    n: int
    title: str
    source: str
    url: str | None
    chunk_id: str


class WebMessage(BaseModel):
    """One message for the citizen. ``in_reply_to`` is the citizen's ``message_id`` an assistant reply
    answers (the page skips replies it already showed); agents' messages have none."""

    seq: int
    role: MessageRole
    text: str
    at: str
    in_reply_to: str | None = None
    citations: list[WebCitation] = []
    quick_replies: list[str] = []


class WebMessagesResponse(BaseModel):
    """``GET /v1/chat/{session_id}/messages``: the conversation's status and version, and its messages
    to the citizen after the ``after`` sequence number, oldest first."""

    status: ConversationStatusName
    version: int
    messages: list[WebMessage]
