"""The agent API's JSON bodies (``/v1/agent/…``)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

_MESSAGE_ID = r"^[A-Za-z0-9_.:-]{1,128}$"


class ConversationItem(BaseModel):
    """One row of the live list. ``label`` names the conversation without its thread id."""

    id: str
    channel: str
    channel_label: str
    label: str
    status: str
    status_label: str
    needs_human: bool
    updated_at: str
    last_text: str | None


class ConversationList(BaseModel):
    conversations: list[ConversationItem]


class EventBody(BaseModel):
    seq: int
    kind: str
    at: str
    message_id: str | None
    payload: dict[str, Any]


class TranscriptBody(BaseModel):
    """A conversation as stored (every text in it is redacted), with its label and status."""

    conversation_id: str
    channel: str
    label: str
    status: str
    status_label: str
    needs_human: bool
    version: int
    updated_at: str | None
    state: dict[str, Any]
    events: list[EventBody]


class CitationBody(BaseModel):
    n: int
    title: str
    source: str
    url: str | None
    chunk_id: str


class AssistRequestBody(BaseModel):
    """``message_id`` makes a retried request idempotent (one suggestion per id)."""

    model_config = ConfigDict(extra="forbid")

    message_id: str | None = Field(default=None, pattern=_MESSAGE_ID)


class AssistBody(BaseModel):
    """A suggestion for the agent: ``assist_seq`` is the ``assist_request`` event to rate it by."""

    assist_seq: int
    text: str
    citations: list[CitationBody]
    trace_id: str | None = None


class AgentMessageRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=2000)
    message_id: str | None = Field(default=None, pattern=_MESSAGE_ID)


class AgentMessageBody(BaseModel):
    """What the citizen is sent, and the conversation's status afterwards (``agent``)."""

    text: str
    status: str


class FeedbackRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    assist_seq: int = Field(ge=1)
    rating: Literal["up", "down"]
    comment: str | None = Field(default=None, max_length=1000)


class FeedbackBody(BaseModel):
    """``scored``: the rating was also sent to the tracer, on the suggestion's trace."""

    conversation_id: str
    assist_seq: int
    rating: Literal["up", "down"]
    scored: bool
