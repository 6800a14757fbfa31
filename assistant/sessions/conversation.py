"""Conversation types (events, the log, summaries) and the pure append rule every store applies."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, get_args

from assistant.core.errors import ConversationConflict
from assistant.core.events import ConversationKey, MessageId

EventKind = Literal[
    "user_turn",
    "bot_reply",
    "agent_message",
    "assist_request",
    "assist_reply",
    "handoff",
    "resume",
    "call_started",
    "call_ended",
    "flow",
    "feedback",
    "flag",
]
EVENT_KINDS: frozenset[str] = frozenset(get_args(EventKind))

ConversationStatus = Literal["bot", "handoff", "agent", "closed"]
CONVERSATION_STATUSES: frozenset[str] = frozenset(get_args(ConversationStatus))

TEXT_KINDS: frozenset[str] = frozenset({"user_turn", "bot_reply", "agent_message"})
"""Kinds whose ``payload["text"]`` is what the citizen and the bot or agent said (the summary's last text)."""


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to append. The store numbers it; ``payload`` must be JSON and ALREADY REDACTED.

    ``message_id`` is the provider's id (or one derived from it, e.g. ``"<id>#reply"``). A batch whose
    message id is already in the conversation is a duplicate and is not appended again. Events with no
    provider id (flow steps, feedback) pass ``None`` and are never deduplicated.
    """

    kind: EventKind
    at: datetime
    payload: Mapping[str, Any] = field(default_factory=dict)
    message_id: MessageId | None = None

    def __post_init__(self) -> None:
        if self.kind not in EVENT_KINDS:
            raise ValueError(f"unknown event kind {self.kind!r}")
        if self.at.tzinfo is None:
            raise ValueError("event time must be timezone-aware")


@dataclass(frozen=True, slots=True)
class ConversationEvent:
    """One event of a conversation's log; ``seq`` runs 1, 2, 3, … without gaps."""

    key: ConversationKey
    seq: int
    kind: EventKind
    message_id: MessageId | None
    at: datetime
    payload: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class Conversation:
    """A conversation as stored: its log, flow state and status at ``version``.

    ``version`` counts successful appends; a conversation nobody wrote to yet is at version 0 with no
    events, status ``bot`` and no ``updated_at``.
    """

    key: ConversationKey
    version: int
    events: tuple[ConversationEvent, ...]
    state: Mapping[str, Any]
    status: ConversationStatus
    updated_at: datetime | None

    @classmethod
    def new(cls, key: ConversationKey) -> Conversation:
        return cls(key=key, version=0, events=(), state={}, status="bot", updated_at=None)

    def has_message(self, message_id: MessageId) -> bool:
        return any(event.message_id == message_id for event in self.events)

    @property
    def last_text(self) -> str | None:
        return last_text_of(self.events)


@dataclass(frozen=True, slots=True)
class ConversationSummary:
    """One row of the agent copilot's list of active conversations."""

    key: ConversationKey
    status: ConversationStatus
    version: int
    last_text: str | None
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class AppendResult:
    """The conversation after an append. ``duplicate`` means nothing was appended: a message of the batch
    was already there (a retried webhook), and ``conversation`` is the current one."""

    conversation: Conversation
    duplicate: bool


def last_text_of(events: Sequence[ConversationEvent | NewEvent]) -> str | None:
    """The text of the newest event of a ``TEXT_KINDS`` kind, if any."""
    for event in reversed(events):
        text = event.payload.get("text")
        if event.kind in TEXT_KINDS and isinstance(text, str):
            return text
    return None


def json_object(value: Mapping[str, Any], what: str) -> dict[str, Any]:
    """A JSON round trip of ``value``, so every store hands back the same shapes (lists, not tuples)."""
    try:
        decoded = json.loads(dump_json(value))
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{what} is not JSON: {exc}") from exc
    if not isinstance(decoded, dict):
        raise ValueError(f"{what} must be a JSON object")
    return decoded


def dump_json(value: object) -> str:
    """Compact JSON that keeps Korean readable and refuses NaN."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def check_append(
    events: Sequence[NewEvent], state: Mapping[str, Any] | None, status: ConversationStatus | None
) -> None:
    """Reject appends that no store should take: empty ones and batches repeating a message id."""
    if not events and state is None and status is None:
        raise ValueError("an append needs events, a state or a status")
    ids = [event.message_id for event in events if event.message_id is not None]
    if len(ids) != len(set(ids)):
        raise ValueError("a batch repeats a message id")
    if status is not None and status not in CONVERSATION_STATUSES:
        raise ValueError(f"unknown status {status!r}")


def apply_append(
    current: Conversation,
    expected_version: int,
    events: Sequence[NewEvent],
    *,
    state: Mapping[str, Any] | None,
    status: ConversationStatus | None,
    now: datetime,
) -> AppendResult:
    """The append rule. A batch carrying a message id the conversation already has is a duplicate, checked
    before the version, so a retry racing its original gets ``duplicate`` and not a conflict; otherwise the
    version must equal ``expected_version`` or ``ConversationConflict`` is raised."""
    check_append(events, state, status)
    if any(event.message_id is not None and current.has_message(event.message_id) for event in events):
        return AppendResult(current, duplicate=True)
    if current.version != expected_version:
        raise ConversationConflict(
            f"{current.key.channel} conversation is at version {current.version}, "
            f"not the expected {expected_version}"
        )
    start = len(current.events)
    appended = tuple(
        ConversationEvent(
            key=current.key,
            seq=start + offset,
            kind=event.kind,
            message_id=event.message_id,
            at=event.at.astimezone(UTC),
            payload=json_object(event.payload, "event payload"),
        )
        for offset, event in enumerate(events, start=1)
    )
    return AppendResult(
        Conversation(
            key=current.key,
            version=current.version + 1,
            events=current.events + appended,
            state=json_object(state, "state") if state is not None else current.state,
            status=status or current.status,
            updated_at=now.astimezone(UTC),
        ),
        duplicate=False,
    )
