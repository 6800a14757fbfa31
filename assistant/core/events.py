"""Channel-agnostic inputs to the dialogue manager. Each carries a conversation key, the provider's
message id (which makes webhooks idempotent) and when it was received (aware UTC)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, NewType

Channel = Literal["web", "api", "rasa", "kakao", "phone", "checkin"]
MessageId = NewType("MessageId", str)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """Identifies a conversation: the channel and its thread (session id, Kakao user key, CallSid)."""

    channel: Channel
    thread: str

    def __str__(self) -> str:
        return f"{self.channel}:{self.thread}"


@dataclass(frozen=True, slots=True)
class UserTurn:
    key: ConversationKey
    message_id: MessageId
    received_at: datetime
    text: str
    metadata: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallStarted:
    key: ConversationKey
    message_id: MessageId
    received_at: datetime
    direction: Literal["inbound", "outbound"] = "inbound"


@dataclass(frozen=True, slots=True)
class CallEnded:
    key: ConversationKey
    message_id: MessageId
    received_at: datetime
    outcome: str = "completed"


@dataclass(frozen=True, slots=True)
class AssistRequested:
    """A 120 agent asks the copilot for a suggested answer to the citizen's latest turn."""

    key: ConversationKey
    message_id: MessageId
    received_at: datetime
    agent_id: str


@dataclass(frozen=True, slots=True)
class AgentMessage:
    """A human agent who took over writes to the citizen through the same conversation."""

    key: ConversationKey
    message_id: MessageId
    received_at: datetime
    agent_id: str
    text: str


DialogueInput = UserTurn | CallStarted | CallEnded | AssistRequested | AgentMessage
