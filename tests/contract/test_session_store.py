"""Contract suite for ``SessionStore``: the same scenarios in memory, on real Redis, SQLite and PostgreSQL,
and tiered (live in front of durable). Also the Alembic migrations on SQLite and PostgreSQL.

Redis and PostgreSQL run on 127.0.0.1 (override with DASAN_TEST_REDIS_URL / DASAN_TEST_POSTGRES_URL); each
test uses its own key prefix or schema and removes it afterwards. A server that cannot be reached skips its
cases, saying so.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.core.clock import FakeClock
from assistant.core.errors import ConversationConflict
from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.conversation import Conversation, NewEvent
from assistant.sessions.memory_store import InMemorySessionStore
from assistant.sessions.migrate import upgrade_database
from assistant.sessions.ports import SessionStore
from assistant.sessions.redis_store import RedisSessionStore
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_schema import VERSION_TABLE
from assistant.sessions.sql_store import SqlConversationStore
from assistant.sessions.tiered_store import TieredSessionStore

pytestmark = pytest.mark.anyio

POSTGRES_URL = os.environ.get("DASAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("DASAN_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
STORES = ["memory", "redis", "sqlite", "postgres", "tiered-memory-sqlite", "tiered-redis-postgres"]
RACERS = 20
HEAD = "0002"
ALL_TABLES = {
    "conversations",
    "conversation_events",
    "staff_accounts",
    "staff_logins",
    "agent_feedback",
    "case_records",
    "case_reference_counters",
    VERSION_TABLE,
}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 1, 9, 0, tzinfo=UTC))


@asynccontextmanager
async def redis_prefix() -> AsyncIterator[tuple[Redis, str]]:
    """A real Redis client and a prefix unique to this test; every key under it is deleted afterwards."""
    client = Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        await client.ping()
    except (RedisError, OSError) as exc:
        await client.aclose()
        pytest.skip(f"Redis at {REDIS_URL} is unreachable ({type(exc).__name__}); set DASAN_TEST_REDIS_URL")
    prefix = f"dasan-test:{uuid.uuid4().hex}:"
    try:
        yield client, prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*", count=1000)]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@asynccontextmanager
async def postgres_schema(*, migrate: bool = True) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """A uniquely named schema on the real server (migrated unless told not to), dropped afterwards."""
    admin = create_session_engine(POSTGRES_URL)
    schema = f"dasan_test_{uuid.uuid4().hex[:16]}"
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    except (sa.exc.OperationalError, sa.exc.InterfaceError, OSError) as exc:
        await admin.dispose()
        pytest.skip(
            f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__}); set DASAN_TEST_POSTGRES_URL"
        )
    engine = create_session_engine(POSTGRES_URL, schema=schema)
    try:
        if migrate:
            await upgrade_database(POSTGRES_URL, schema=schema)
        yield engine, schema
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def sqlite_engine(path: Path) -> AsyncIterator[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{path}"
    await upgrade_database(url)
    engine = create_session_engine(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture(params=STORES)
async def store(
    request: pytest.FixtureRequest, clock: FakeClock, tmp_path: Path
) -> AsyncIterator[SessionStore]:
    async with AsyncExitStack() as stack:
        match request.param:
            case "memory":
                yield InMemorySessionStore(clock=clock)
            case "redis":
                client, prefix = await stack.enter_async_context(redis_prefix())
                yield RedisSessionStore(client, prefix=prefix, ttl=timedelta(hours=1), clock=clock)
            case "sqlite":
                engine = await stack.enter_async_context(sqlite_engine(tmp_path / "sessions.sqlite3"))
                yield SqlConversationStore(engine, clock=clock)
            case "postgres":
                engine, _ = await stack.enter_async_context(postgres_schema())
                yield SqlConversationStore(engine, clock=clock)
            case "tiered-memory-sqlite":
                engine = await stack.enter_async_context(sqlite_engine(tmp_path / "sessions.sqlite3"))
                yield TieredSessionStore(
                    InMemorySessionStore(clock=clock), SqlConversationStore(engine, clock=clock)
                )
            case "tiered-redis-postgres":
                client, prefix = await stack.enter_async_context(redis_prefix())
                engine, _ = await stack.enter_async_context(postgres_schema())
                yield TieredSessionStore(
                    RedisSessionStore(client, prefix=prefix, ttl=timedelta(hours=1), clock=clock),
                    SqlConversationStore(engine, clock=clock),
                )
            case other:
                raise AssertionError(other)


def key(thread: str = "세션-1") -> ConversationKey:
    return ConversationKey("web", thread)


def turn(n: int, at: datetime, text: str = "주차 요금이 얼마예요?") -> list[NewEvent]:
    """A user turn and the bot's reply to it, as the dialogue appends them."""
    return [
        NewEvent("user_turn", at, {"text": f"{text} #{n}", "n": n}, MessageId(f"m{n}")),
        NewEvent("bot_reply", at, {"text": f"답변 #{n}", "n": n}, MessageId(f"m{n}#reply")),
    ]


async def test_a_new_conversation_is_empty_at_version_0(store: SessionStore) -> None:
    conversation = await store.load(key())

    assert conversation == Conversation.new(key())
    assert conversation.status == "bot"


async def test_append_numbers_events_and_bumps_the_version(store: SessionStore, clock: FakeClock) -> None:
    first = await store.append(key(), 0, turn(1, clock.now()))
    clock.advance(timedelta(minutes=1))
    second = await store.append(key(), 1, turn(2, clock.now()))

    assert not first.duplicate and not second.duplicate
    assert first.conversation.version == 1
    conversation = await store.load(key())
    assert conversation == second.conversation
    assert conversation.version == 2
    assert [e.seq for e in conversation.events] == [1, 2, 3, 4]
    assert [e.kind for e in conversation.events] == ["user_turn", "bot_reply"] * 2
    assert [e.message_id for e in conversation.events] == ["m1", "m1#reply", "m2", "m2#reply"]
    assert all(e.key == key() for e in conversation.events)
    assert conversation.updated_at == clock.now()
    assert conversation.events[-1].at == clock.now()
    assert conversation.last_text == "답변 #2"


async def test_a_stale_expected_version_conflicts_and_writes_nothing(
    store: SessionStore, clock: FakeClock
) -> None:
    await store.append(key(), 0, turn(1, clock.now()))

    with pytest.raises(ConversationConflict):
        await store.append(key(), 0, turn(2, clock.now()))
    with pytest.raises(ConversationConflict):
        await store.append(key(), 2, turn(2, clock.now()))
    with pytest.raises(ConversationConflict):
        await store.append(key("새 대화"), 1, turn(1, clock.now()))

    assert (await store.load(key())).version == 1
    assert len((await store.load(key())).events) == 2
    assert (await store.load(key("새 대화"))).version == 0


async def test_a_repeated_message_id_is_a_duplicate_no_op(store: SessionStore, clock: FakeClock) -> None:
    original = await store.append(key(), 0, turn(1, clock.now()))
    clock.advance(timedelta(seconds=5))

    retry = await store.append(key(), 1, turn(1, clock.now()))
    stale_retry = await store.append(key(), 0, turn(1, clock.now()))  # raced its original: not a conflict
    reply_only = await store.append(key(), 1, turn(1, clock.now())[1:])

    for result in (retry, stale_retry, reply_only):
        assert result.duplicate
        assert result.conversation == original.conversation
    assert await store.load(key()) == original.conversation

    feedback = NewEvent("feedback", clock.now(), {"helpful": True})  # no message id: never deduplicated
    once = await store.append(key(), 1, [feedback])
    twice = await store.append(key(), 2, [feedback])
    assert not once.duplicate and not twice.duplicate
    assert [e.kind for e in twice.conversation.events[-2:]] == ["feedback", "feedback"]


async def test_racing_appends_lose_nothing_and_never_interleave(
    store: SessionStore, clock: FakeClock
) -> None:
    """20 webhooks load, then append at once, each retrying once on a conflict."""
    barrier = asyncio.Barrier(RACERS)
    landed: list[int] = []
    gave_up: list[int] = []
    conflicts = 0

    async def webhook(n: int) -> None:
        nonlocal conflicts
        conversation = await store.load(key())
        await barrier.wait()
        for attempt in range(2):
            try:
                await store.append(key(), conversation.version, turn(n, clock.now()))
            except ConversationConflict:
                conflicts += 1
                if attempt == 1:
                    gave_up.append(n)
                    return
                conversation = await store.load(key())
            else:
                landed.append(n)
                return

    await asyncio.gather(*(webhook(n) for n in range(RACERS)))

    final = await store.load(key())
    print(f"\nracing {store.__class__.__name__}: landed={len(landed)} conflicts={conflicts}")
    assert sorted(landed + gave_up) == list(range(RACERS))
    # Everyone loaded version 0 before anyone appended: one winner, and the first retry to append wins too.
    assert conflicts == RACERS - 1 + len(gave_up)
    assert len(landed) >= 2
    assert_log_of(final, landed)


async def test_racing_appends_all_land_when_retried(store: SessionStore, clock: FakeClock) -> None:
    barrier = asyncio.Barrier(RACERS)

    async def webhook(n: int) -> None:
        await barrier.wait()
        for _ in range(RACERS + 5):
            conversation = await store.load(key())
            try:
                await store.append(key(), conversation.version, turn(n, clock.now()))
            except ConversationConflict:
                continue
            return
        raise AssertionError(f"webhook {n} never landed")

    await asyncio.gather(*(webhook(n) for n in range(RACERS)))

    final = await store.load(key())
    assert final.version == RACERS
    assert_log_of(final, list(range(RACERS)))


async def test_a_retried_webhook_racing_its_original_yields_one_turn(
    store: SessionStore, clock: FakeClock
) -> None:
    barrier = asyncio.Barrier(8)

    async def delivery() -> bool:
        conversation = await store.load(key())
        await barrier.wait()
        return (await store.append(key(), conversation.version, turn(1, clock.now()))).duplicate

    duplicates = await asyncio.gather(*(delivery() for _ in range(8)))

    assert sorted(duplicates) == [False] + [True] * 7
    final = await store.load(key())
    assert final.version == 1
    assert [e.message_id for e in final.events] == ["m1", "m1#reply"]


def assert_log_of(conversation: Conversation, landed: Sequence[int]) -> None:
    """The log holds exactly the landed turns, each user turn followed by its own reply, seqs 1..n."""
    events = conversation.events
    assert conversation.version == len(landed)
    assert [e.seq for e in events] == list(range(1, 2 * len(landed) + 1))
    pairs = [(events[i], events[i + 1]) for i in range(0, len(events), 2)]
    for user, reply in pairs:
        assert (user.kind, reply.kind) == ("user_turn", "bot_reply")
        assert reply.message_id == f"{user.message_id}#reply"
    assert sorted(user.payload["n"] for user, _ in pairs) == sorted(landed)


async def test_list_active_is_newest_first_without_closed(store: SessionStore, clock: FakeClock) -> None:
    for thread in ("a", "b", "c", "d"):
        await store.append(key(thread), 0, turn(1, clock.now(), text=f"{thread} 질문"))
        clock.advance(timedelta(minutes=1))
    await store.append(key("b"), 1, turn(2, clock.now(), text="b 다시"))
    clock.advance(timedelta(minutes=1))
    await store.append(key("c"), 1, [], status="closed")
    await store.append(key("d"), 1, [NewEvent("flow", clock.now(), {"step": "address"})], status="handoff")

    active = await store.list_active(10)

    assert [s.key.thread for s in active] == ["d", "b", "a"]
    assert [s.status for s in active] == ["handoff", "bot", "bot"]
    assert [s.version for s in active] == [2, 2, 1]
    assert active[0].last_text == "답변 #1"  # a flow event has no text: the last one said stays
    assert active[1].last_text == "답변 #2"
    assert active[0].updated_at == clock.now()
    assert [s.key.thread for s in await store.list_active(2)] == ["d", "b"]
    assert await store.list_active(0) == []


async def test_purge_deletes_conversations_idle_since_the_cutoff(
    store: SessionStore, clock: FakeClock
) -> None:
    await store.append(key("old"), 0, turn(1, clock.now()))
    await store.append(key("old-closed"), 0, turn(1, clock.now()), status="closed")
    clock.advance(timedelta(days=40))
    await store.append(key("recent"), 0, turn(1, clock.now()))

    purged = await store.purge(clock.now() - timedelta(days=30))

    assert purged == 2
    assert await store.load(key("old")) == Conversation.new(key("old"))
    assert await store.load(key("old-closed")) == Conversation.new(key("old-closed"))
    assert (await store.load(key("recent"))).version == 1
    assert [s.key.thread for s in await store.list_active(10)] == ["recent"]
    assert await store.purge(clock.now() - timedelta(days=30)) == 0
    # A purged conversation starts over at version 0.
    assert (await store.append(key("old"), 0, turn(7, clock.now()))).conversation.version == 1


async def test_state_and_status_are_replaced_only_when_given(store: SessionStore, clock: FakeClock) -> None:
    slots = {"flow": "bulky_waste", "slots": {"item": "소파", "count": 2}}
    await store.append(key(), 0, turn(1, clock.now()), state=slots)
    await store.append(key(), 1, turn(2, clock.now()))
    assert (await store.load(key())).state == slots

    await store.append(
        key(), 2, [NewEvent("handoff", clock.now(), {"reason": "상담원 요청"})], status="handoff"
    )
    conversation = await store.load(key())
    assert (conversation.status, conversation.state) == ("handoff", slots)

    result = await store.append(key(), 3, [], state={}, status="agent")
    assert (result.conversation.status, result.conversation.state, result.conversation.version) == (
        "agent",
        {},
        4,
    )
    assert await store.load(key()) == result.conversation


async def test_payloads_and_state_round_trip_as_json(store: SessionStore, clock: FakeClock) -> None:
    payload = {
        "text": '대형폐기물 배출 신고는 어떻게 하나요? 😊 "따옴표" \\ 줄\n바꿈',
        "citations": [{"n": 1, "title": "서울시 대형폐기물 안내", "url": None}],
        "quick_replies": ("예", "아니요"),
        "score": 0.8125,
        "count": 3,
        "ok": True,
    }
    state = {"주소": "서울특별시 중구 세종대로 110", "단계": ["확인", "접수"]}
    kst = datetime(2026, 3, 2, 3, 0, tzinfo=ZoneInfo("Asia/Seoul"))
    await store.append(
        key("카카오-사용자"), 0, [NewEvent("bot_reply", kst, payload, MessageId("답-1"))], state=state
    )

    conversation = await store.load(key("카카오-사용자"))

    (event,) = conversation.events
    assert event.payload == {**payload, "quick_replies": ["예", "아니요"]}
    assert event.at == kst and event.at.utcoffset() == timedelta(0)
    assert event.message_id == "답-1"
    assert conversation.state == state
    assert conversation.last_text == payload["text"]


async def test_invalid_appends_are_refused_before_storage(store: SessionStore, clock: FakeClock) -> None:
    with pytest.raises(ValueError, match="needs events"):
        await store.append(key(), 0, [])
    with pytest.raises(ValueError, match="repeats a message id"):
        await store.append(key(), 0, [turn(1, clock.now())[0], turn(1, clock.now())[0]])
    with pytest.raises(ValueError, match="not JSON"):
        await store.append(key(), 0, [NewEvent("flow", clock.now(), {"when": clock.now()})])
    with pytest.raises(ValueError, match="timezone"):
        NewEvent("flow", datetime(2026, 3, 1), {})
    assert (await store.load(key())).version == 0


# Store-specific behaviour -------------------------------------------------------------------------------


async def test_redis_sessions_expire_when_idle_and_leave_no_index_behind(clock: FakeClock) -> None:
    async with redis_prefix() as (client, prefix):
        store = RedisSessionStore(client, prefix=prefix, ttl=timedelta(minutes=30), clock=clock)
        await store.append(key("a"), 0, turn(1, clock.now()))
        clock.advance(timedelta(minutes=1))
        await store.append(key("b"), 0, turn(1, clock.now()))

        for kind in ("meta", "events", "ids"):
            ttl_ms = await client.pttl(f"{prefix}{kind}:web:b")
            assert 29 * 60_000 < ttl_ms <= 30 * 60_000
        await client.delete(f"{prefix}meta:web:b", f"{prefix}events:web:b", f"{prefix}ids:web:b")  # as expiry

        assert [s.key.thread for s in await store.list_active(10)] == ["a"]
        assert await client.zrange(f"{prefix}active", 0, -1) == [b"web:a"]
        assert await client.zrange(f"{prefix}updated", 0, -1) == [b"web:a"]


async def test_sql_mirror_is_idempotent_and_fills_gaps(clock: FakeClock, tmp_path: Path) -> None:
    async with sqlite_engine(tmp_path / "s.sqlite3") as engine:
        live = InMemorySessionStore(clock=clock)
        durable = SqlConversationStore(engine, clock=clock)
        first = await live.append(key(), 0, turn(1, clock.now()), state={"a": 1})
        await live.append(key(), 1, turn(2, clock.now()))
        third = await live.append(key(), 2, turn(3, clock.now()), status="handoff")

        await durable.mirror(first.conversation)
        await durable.mirror(third.conversation)  # skips version 2: the gap is filled
        await durable.mirror(first.conversation)  # older: ignored
        await durable.mirror(third.conversation)  # same: ignored

        assert await durable.load(key()) == third.conversation


async def test_alembic_upgrade_creates_the_tables_once_on_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'nested' / 'dasan.sqlite3'}"
    await upgrade_database(url)
    engine = create_session_engine(url)
    try:
        assert await tables_and_revision(engine) == (ALL_TABLES, [HEAD])
        await upgrade_database(url)
        assert await tables_and_revision(engine) == (ALL_TABLES, [HEAD])
    finally:
        await engine.dispose()


async def test_alembic_upgrade_creates_the_tables_once_on_postgresql() -> None:
    async with postgres_schema(migrate=False) as (engine, schema):
        assert await tables_and_revision(engine) == (set(), [])
        await upgrade_database(POSTGRES_URL, schema=schema)
        expected = (ALL_TABLES, [HEAD])
        assert await tables_and_revision(engine) == expected
        await asyncio.gather(*(upgrade_database(POSTGRES_URL, schema=schema) for _ in range(3)))
        assert await tables_and_revision(engine) == expected


async def tables_and_revision(engine: AsyncEngine) -> tuple[set[str], list[str]]:
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        revisions = (
            list((await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalars())
            if VERSION_TABLE in tables
            else []
        )
    return tables, revisions


@pytest.mark.parametrize("live_kind", ["memory", "redis"])
async def test_live_stores_restore_a_conversation_at_its_version(live_kind: str, clock: FakeClock) -> None:
    async with AsyncExitStack() as stack:
        if live_kind == "redis":
            client, prefix = await stack.enter_async_context(redis_prefix())
            live: InMemorySessionStore | RedisSessionStore = RedisSessionStore(
                client, prefix=prefix, ttl=None, clock=clock
            )
        else:
            live = InMemorySessionStore(clock=clock)
        source = InMemorySessionStore(clock=clock)
        await source.append(key(), 0, turn(1, clock.now()), state={"단계": 1})
        clock.advance(timedelta(minutes=1))
        recorded = (await source.append(key(), 1, turn(2, clock.now()), status="agent")).conversation

        assert await live.restore(recorded) == recorded
        assert await live.load(key()) == recorded
        assert [s.key for s in await live.list_active(5)] == [key()]
        assert (await live.append(key(), 2, turn(2, clock.now()))).duplicate
        newer = (await live.append(key(), 2, turn(3, clock.now()))).conversation
        assert await live.restore(recorded) == newer  # an existing conversation is never overwritten
