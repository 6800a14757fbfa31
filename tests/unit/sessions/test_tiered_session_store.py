"""TieredSessionStore: hydration from the durable record, write-through, and healing after a failed write."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import ConversationConflict, StorageError
from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
)
from assistant.sessions.memory_store import InMemorySessionStore
from assistant.sessions.migrate import upgrade_database
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_store import SqlConversationStore
from assistant.sessions.tiered_store import TieredSessionStore

pytestmark = pytest.mark.anyio

KEY = ConversationKey("phone", "CA0123")


def turn(n: int, at: datetime) -> list[NewEvent]:
    return [
        NewEvent("user_turn", at, {"text": f"질문 {n}"}, MessageId(f"m{n}")),
        NewEvent("bot_reply", at, {"text": f"답변 {n}"}, MessageId(f"m{n}#reply")),
    ]


class ScriptedDurableStore:
    """A durable store whose next ``mirror`` calls fail as scripted, then pass through to ``inner``."""

    def __init__(self, inner: SqlConversationStore, failures: Sequence[StorageError]) -> None:
        self._inner = inner
        self._failures = deque(failures)

    def assert_used_up(self) -> None:
        assert not self._failures, f"{len(self._failures)} scripted failures were never raised"

    async def mirror(self, conversation: Conversation) -> None:
        if self._failures:
            raise self._failures.popleft()
        await self._inner.mirror(conversation)

    async def load(self, key: ConversationKey) -> Conversation:
        return await self._inner.load(key)

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        return await self._inner.append(key, expected_version, events, state=state, status=status)

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        return await self._inner.list_active(limit)

    async def purge(self, older_than: datetime) -> int:
        return await self._inner.purge(older_than)


@pytest.fixture
async def durable(tmp_path: Path, clock: FakeClock) -> AsyncIterator[SqlConversationStore]:
    url = f"sqlite:///{tmp_path / 'dasan.sqlite3'}"
    await upgrade_database(url)
    engine = create_session_engine(url)
    yield SqlConversationStore(engine, clock=clock)
    await engine.dispose()


async def test_appends_are_written_through_before_returning(
    durable: SqlConversationStore, clock: FakeClock
) -> None:
    tiered = TieredSessionStore(InMemorySessionStore(clock=clock), durable)

    result = await tiered.append(KEY, 0, turn(1, clock.now()), state={"step": 1})

    assert await durable.load(KEY) == result.conversation


async def test_a_restarted_live_store_is_hydrated_from_the_record(
    durable: SqlConversationStore, clock: FakeClock
) -> None:
    before = TieredSessionStore(InMemorySessionStore(clock=clock), durable)
    await before.append(KEY, 0, turn(1, clock.now()))
    stored = (await before.append(KEY, 1, turn(2, clock.now()), status="handoff")).conversation

    after_restart = TieredSessionStore(InMemorySessionStore(clock=clock), durable)

    assert await after_restart.load(KEY) == stored
    clock.advance(timedelta(minutes=1))
    result = await after_restart.append(KEY, 2, turn(3, clock.now()))
    assert result.conversation.version == 3
    assert [e.seq for e in (await durable.load(KEY)).events] == [1, 2, 3, 4, 5, 6]


async def test_starting_over_a_conversation_the_record_holds_conflicts(
    durable: SqlConversationStore, clock: FakeClock
) -> None:
    await TieredSessionStore(InMemorySessionStore(clock=clock), durable).append(KEY, 0, turn(1, clock.now()))
    live = InMemorySessionStore(clock=clock)  # e.g. the Redis TTL expired
    tiered = TieredSessionStore(live, durable)

    with pytest.raises(ConversationConflict):
        await tiered.append(KEY, 0, turn(2, clock.now()))
    assert (await tiered.append(KEY, 0, turn(1, clock.now()))).duplicate
    assert (await live.load(KEY)).version == 1


async def test_a_failed_write_through_is_counted_and_healed_by_the_next(
    durable: SqlConversationStore, clock: FakeClock
) -> None:
    scripted = ScriptedDurableStore(durable, [StorageError("database unavailable", retryable=True)])
    tiered = TieredSessionStore(InMemorySessionStore(clock=clock), scripted)

    first = await tiered.append(KEY, 0, turn(1, clock.now()))
    assert tiered.write_through_failures == 1
    assert (await durable.load(KEY)).version == 0
    assert (await tiered.load(KEY)) == first.conversation

    second = await tiered.append(KEY, 1, turn(2, clock.now()))

    scripted.assert_used_up()
    assert await durable.load(KEY) == second.conversation


async def test_purge_clears_both_tiers(durable: SqlConversationStore, clock: FakeClock) -> None:
    live = InMemorySessionStore(clock=clock)
    tiered = TieredSessionStore(live, durable)
    await tiered.append(KEY, 0, turn(1, clock.now()))
    clock.advance(timedelta(days=31))

    assert await tiered.purge(clock.now() - timedelta(days=30)) == 1
    assert (await live.load(KEY)).version == 0
    assert (await tiered.load(KEY)).version == 0
