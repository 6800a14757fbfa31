"""The pure append rule and the storage codec, without any store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import ConversationConflict, StorageError
from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.codec import decode_event, encode_event, micros, parse_key, parse_status, parse_time
from assistant.sessions.conversation import Conversation, NewEvent, apply_append, last_text_of

KEY = ConversationKey("kakao", "user:key:with:colons")


def user(n: int, at: datetime) -> NewEvent:
    return NewEvent("user_turn", at, {"text": f"질문 {n}"}, MessageId(f"m{n}"))


def test_apply_append_numbers_after_the_last_event_and_stamps_the_time(clock: FakeClock) -> None:
    first = apply_append(
        Conversation.new(KEY), 0, [user(1, clock.now())], state=None, status=None, now=clock.now()
    )
    clock.advance(timedelta(seconds=3))
    second = apply_append(
        first.conversation,
        1,
        [user(2, clock.now()), user(3, clock.now())],
        state=None,
        status=None,
        now=clock.now(),
    )

    conversation = second.conversation
    assert [e.seq for e in conversation.events] == [1, 2, 3]
    assert conversation.version == 2
    assert conversation.updated_at == clock.now()
    assert conversation.status == "bot" and conversation.state == {}


def test_a_duplicate_is_checked_before_the_version(clock: FakeClock) -> None:
    stored = apply_append(
        Conversation.new(KEY), 0, [user(1, clock.now())], state=None, status=None, now=clock.now()
    )

    again = apply_append(
        stored.conversation, 0, [user(1, clock.now())], state=None, status=None, now=clock.now()
    )

    assert again.duplicate and again.conversation is stored.conversation
    with pytest.raises(ConversationConflict, match="kakao conversation is at version 1, not the expected 0"):
        apply_append(stored.conversation, 0, [user(2, clock.now())], state=None, status=None, now=clock.now())


def test_the_conflict_message_never_names_the_thread(clock: FakeClock) -> None:
    with pytest.raises(ConversationConflict) as caught:
        apply_append(
            Conversation.new(KEY), 3, [user(1, clock.now())], state=None, status=None, now=clock.now()
        )
    assert "user:key" not in str(caught.value)


def test_times_are_stored_in_utc_and_payloads_as_plain_json(clock: FakeClock) -> None:
    kst = timezone(timedelta(hours=9))
    event = NewEvent("bot_reply", datetime(2026, 3, 1, 18, 0, tzinfo=kst), {"options": ("예", "아니요")})

    result = apply_append(
        Conversation.new(KEY), 0, [event], state={"t": (1, 2)}, status=None, now=clock.now()
    )

    (stored,) = result.conversation.events
    assert stored.at.tzinfo == UTC and stored.at == datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
    assert stored.payload == {"options": ["예", "아니요"]}
    assert result.conversation.state == {"t": [1, 2]}


def test_last_text_comes_from_spoken_kinds_only(clock: FakeClock) -> None:
    now = clock.now()
    events = [
        user(1, now),
        NewEvent("bot_reply", now, {"text": "답변"}),
        NewEvent("assist_reply", now, {"text": "상담원용 제안"}),
        NewEvent("flow", now, {"text": 3}),
    ]
    assert last_text_of(events) == "답변"
    assert last_text_of([NewEvent("flow", now, {})]) is None


def test_nan_and_unknown_kinds_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="not JSON"):
        apply_append(
            Conversation.new(KEY),
            0,
            [NewEvent("flow", clock.now(), {"score": float("nan")})],
            state=None,
            status=None,
            now=clock.now(),
        )
    with pytest.raises(ValueError, match="unknown event kind"):
        NewEvent("shout", clock.now())  # type: ignore[arg-type]


def test_codec_round_trips_events_keys_and_times(clock: FakeClock) -> None:
    result = apply_append(
        Conversation.new(KEY),
        0,
        [NewEvent("handoff", clock.now(), {"이유": "요청"})],
        state=None,
        status=None,
        now=clock.now(),
    )
    (event,) = result.conversation.events

    assert decode_event(KEY, 1, encode_event(event)) == event
    assert parse_key("kakao:user:key:with:colons") == KEY
    assert parse_time("2026-03-01T09:00:00") == datetime(2026, 3, 1, 9, tzinfo=UTC)
    assert micros(datetime(1970, 1, 1, 0, 0, 1, 5, tzinfo=UTC)) == 1_000_005


def test_unreadable_stored_values_raise_storage_errors_without_the_thread() -> None:
    with pytest.raises(StorageError) as caught:
        parse_key("sms:01012345678")
    assert "0101234" not in str(caught.value)
    with pytest.raises(StorageError):
        parse_key("no-separator")
    with pytest.raises(StorageError, match="status"):
        parse_status("archived")
    with pytest.raises(StorageError, match="event kind"):
        decode_event(
            KEY, 1, '{"kind": "shout", "message_id": null, "at": "2026-03-01T09:00:00+00:00", "payload": {}}'
        )
