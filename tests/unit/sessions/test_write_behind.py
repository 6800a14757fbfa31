"""WriteBehindSessionStore: the live store decides at once, the durable record follows in the background,
coalesced per conversation, never written by two writers at once, and drained on close."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import StorageError
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
from assistant.sessions.write_behind import WriteBehindSessionStore

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def turn(n: int) -> list[NewEvent]:
    return [
        NewEvent("user_turn", NOW, {"text": f"질문 {n}"}, MessageId(f"m{n}")),
        NewEvent("bot_reply", NOW, {"text": f"답 {n}"}, MessageId(f"m{n}#reply")),
    ]


class GatedDurableStore:
    """A durable store in memory whose ``mirror`` waits on ``gate``. It records the versions it mirrored
    and the most mirrors of one conversation that ran at once, and fails its first ``failures`` mirrors."""

    def __init__(self, failures: int = 0) -> None:
        self.records: dict[ConversationKey, Conversation] = {}
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.mirrored: list[int] = []
        self.running: dict[ConversationKey, int] = {}
        self.most_at_once = 0
        self.failures = failures

    async def load(self, key: ConversationKey) -> Conversation:
        return self.records.get(key) or Conversation.new(key)

    async def mirror(self, conversation: Conversation) -> None:
        key = conversation.key
        self.running[key] = self.running.get(key, 0) + 1
        self.most_at_once = max(self.most_at_once, self.running[key])
        self.started.set()
        try:
            await self.gate.wait()
            if self.failures:
                self.failures -= 1
                raise StorageError("database is down")
            if conversation.version > (await self.load(key)).version:
                self.records[key] = conversation
            self.mirrored.append(conversation.version)
        finally:
            self.running[key] -= 1

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        raise AssertionError("the write-behind store never appends to the durable store")

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        return []

    async def purge(self, older_than: datetime) -> int:
        stale = [k for k, c in self.records.items() if c.updated_at is not None and c.updated_at < older_than]
        for key in stale:
            del self.records[key]
        return len(stale)


@pytest.fixture
async def sqlite_store(
    tmp_path: Path, clock: FakeClock
) -> AsyncIterator[tuple[WriteBehindSessionStore, SqlConversationStore]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'sessions.sqlite3'}"
    await upgrade_database(url)
    engine = create_session_engine(url)
    durable = SqlConversationStore(engine, clock=clock)
    store = WriteBehindSessionStore(InMemorySessionStore(clock=clock), durable)
    try:
        yield store, durable
    finally:
        await store.aclose()
        await engine.dispose()


async def test_appends_reach_sqlite_after_a_flush_and_survive_a_restart(
    sqlite_store: tuple[WriteBehindSessionStore, SqlConversationStore], clock: FakeClock
) -> None:
    store, durable = sqlite_store
    key = ConversationKey("web", "s1")
    for n in range(3):
        current = await store.load(key)
        result = await store.append(key, current.version, turn(n))
        assert not result.duplicate and result.conversation.version == n + 1
    await store.flush()
    record = await durable.load(key)
    assert record.version == 3 and [e.message_id for e in record.events][-1] == "m2#reply"
    restarted = WriteBehindSessionStore(InMemorySessionStore(clock=clock), durable)
    assert (await restarted.load(key)).version == 3
    duplicate = await restarted.append(key, 3, turn(2))
    assert duplicate.duplicate and restarted.backlog == 0


async def test_queued_versions_coalesce_and_one_conversation_has_one_writer(clock: FakeClock) -> None:
    durable = GatedDurableStore()
    store = WriteBehindSessionStore(InMemorySessionStore(clock=clock), durable, writers=4)
    key = ConversationKey("web", "busy")
    durable.gate.clear()
    await store.append(key, 0, turn(0))
    await durable.started.wait()
    for n in range(1, 5):
        await store.append(key, n, turn(n))
    assert store.backlog == 2  # one in flight, the newest version queued
    durable.gate.set()
    await store.flush()
    assert durable.mirrored == [1, 5] and durable.most_at_once == 1
    assert (await durable.load(key)).version == 5
    await store.aclose()


async def test_a_failed_mirror_is_counted_and_healed_by_the_next_append(clock: FakeClock) -> None:
    durable = GatedDurableStore(failures=1)
    store = WriteBehindSessionStore(InMemorySessionStore(clock=clock), durable)
    key = ConversationKey("kakao", "user-1")
    await store.append(key, 0, turn(0))
    await store.flush()
    assert store.mirror_failures == 1 and (await durable.load(key)).version == 0
    await store.append(key, 1, turn(1))
    await store.aclose()
    assert (await durable.load(key)).version == 2


async def test_close_drains_the_queue(clock: FakeClock) -> None:
    durable = GatedDurableStore()
    store = WriteBehindSessionStore(InMemorySessionStore(clock=clock), durable)
    for n in range(20):
        await store.append(ConversationKey("web", f"s{n}"), 0, turn(n))
    await store.aclose()
    assert len(durable.mirrored) == 20 and store.backlog == 0
    await store.append(ConversationKey("web", "late"), 0, turn(99))  # after close: written at once
    assert (await durable.load(ConversationKey("web", "late"))).version == 1
