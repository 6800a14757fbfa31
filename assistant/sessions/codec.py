"""Text forms of session values for storage: keys, kinds, statuses, times and JSON-encoded events."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any, NoReturn, cast, get_args

from assistant.core.errors import StorageError
from assistant.core.events import Channel, ConversationKey, MessageId
from assistant.sessions.conversation import (
    CONVERSATION_STATUSES,
    EVENT_KINDS,
    ConversationEvent,
    ConversationStatus,
    EventKind,
    dump_json,
)

CHANNELS: frozenset[str] = frozenset(get_args(Channel))


def key_text(key: ConversationKey) -> str:
    """``channel:thread``; the thread may itself hold colons."""
    return f"{key.channel}:{key.thread}"


def parse_key(text: str) -> ConversationKey:
    channel, sep, thread = text.partition(":")
    return ConversationKey(channel=parse_channel(channel), thread=thread) if sep else _bad("key", None)


def parse_channel(text: str) -> Channel:
    return cast(Channel, text) if text in CHANNELS else _bad("channel", text)


def parse_kind(text: str) -> EventKind:
    return cast(EventKind, text) if text in EVENT_KINDS else _bad("event kind", text)


def parse_status(text: str) -> ConversationStatus:
    return cast(ConversationStatus, text) if text in CONVERSATION_STATUSES else _bad("status", text)


def time_text(at: datetime) -> str:
    return at.astimezone(UTC).isoformat()


def parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def micros(at: datetime) -> int:
    """Microseconds since the epoch: an exact sorted-set score (doubles hold integers up to 2**53)."""
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def encode_event(event: ConversationEvent) -> str:
    """One event as JSON, without key and seq: its place in the log gives those."""
    return dump_json(
        {
            "kind": event.kind,
            "message_id": event.message_id,
            "at": time_text(event.at),
            "payload": event.payload,
        }
    )


def decode_event(key: ConversationKey, seq: int, text: str) -> ConversationEvent:
    data = json.loads(text)
    if not isinstance(data, dict) or not isinstance(data.get("payload"), dict):
        _bad("event", text[:80])
    message_id = data.get("message_id")
    return ConversationEvent(
        key=key,
        seq=seq,
        kind=parse_kind(str(data["kind"])),
        message_id=MessageId(message_id) if isinstance(message_id, str) else None,
        at=parse_time(str(data["at"])),
        payload=cast(dict[str, Any], data["payload"]),
    )


def decode_state(text: str) -> dict[str, Any]:
    data = json.loads(text)
    return cast(dict[str, Any], data) if isinstance(data, dict) else _bad("state", text[:80])


def _bad(what: str, text: str | None) -> NoReturn:
    """Stored data we cannot read (a newer writer, or corruption). Keys are never quoted: threads are PII."""
    shown = f": {text!r}" if text is not None else ""
    raise StorageError(f"stored {what} is not readable{shown}")
