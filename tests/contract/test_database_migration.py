"""The r0001 → r0002 migration on SQLite and the real PostgreSQL: a database that already holds
conversations keeps them, gains the staff, feedback and case-record tables, and every new store works
on it; the upgrade is idempotent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts.passwords import Argon2Passwords
from assistant.accounts.sql_accounts import SqlAccountStore
from assistant.core.clock import FakeClock
from assistant.core.events import ConversationKey, MessageId
from assistant.dialogue.flows.sql_records import SqlReferenceGenerator
from assistant.sessions.conversation import NewEvent
from assistant.sessions.migrate import upgrade_database
from assistant.sessions.sql_schema import METADATA, VERSION_TABLE
from assistant.sessions.sql_store import SqlConversationStore
from tests.contract.sql_backends import SQL_BACKENDS, postgres_database, sqlite_database

pytestmark = pytest.mark.anyio

R0001_TABLES = {"conversations", "conversation_events", VERSION_TABLE}
NEW_TABLES = {"staff_accounts", "staff_logins", "agent_feedback", "case_records", "case_reference_counters"}


@asynccontextmanager
async def database_at_0001(
    backend: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncEngine, str, str | None]]:
    if backend == "sqlite":
        async with sqlite_database(tmp_path / "dasan.sqlite3", target="0001") as (engine, url):
            yield engine, url, None
    else:
        async with postgres_database(target="0001") as (engine, url, schema):
            yield engine, url, schema


async def tables_and_revision(engine: AsyncEngine) -> tuple[set[str], list[str]]:
    async with engine.connect() as conn:
        tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
        revisions = list((await conn.execute(sa.text(f"SELECT version_num FROM {VERSION_TABLE}"))).scalars())
    return tables, revisions


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_upgrading_from_0001_keeps_the_conversations(backend: str, tmp_path: Path) -> None:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with database_at_0001(backend, tmp_path) as (engine, url, schema):
        assert await tables_and_revision(engine) == (R0001_TABLES, ["0001"])
        conversations = SqlConversationStore(engine, clock=clock)
        key = ConversationKey("web", "citizen-1")
        events = [NewEvent("user_turn", clock.now(), {"text": "장롱 버리려면 얼마예요?"}, MessageId("m1"))]
        await conversations.append(key, 0, events, state={"flow": None})
        before = await conversations.load(key)

        await upgrade_database(url, schema=schema)
        await upgrade_database(url, schema=schema)  # idempotent

        assert await tables_and_revision(engine) == (R0001_TABLES | NEW_TABLES, ["0002"])
        assert await conversations.load(key) == before
        await conversations.append(key, 1, [NewEvent("bot_reply", clock.now(), {"text": "마포구는요…"})])
        accounts = SqlAccountStore(engine, clock, Argon2Passwords(time_cost=1, memory_cost_kib=1024))
        await accounts.create("kim", "admin", "correct horse 1")
        assert await accounts.authenticate("kim", "correct horse 1") is not None
        assert (
            await SqlReferenceGenerator(engine).next_reference("BW", date(2026, 3, 2)) == "BW-20260302-0001"
        )


@pytest.mark.parametrize("backend", SQL_BACKENDS)
async def test_the_migrations_create_what_the_schema_declares(backend: str, tmp_path: Path) -> None:
    """Every table and column of ``sql_schema.METADATA`` exists after migrating (the two never drift)."""
    async with database_at_0001(backend, tmp_path) as (engine, url, schema):
        await upgrade_database(url, schema=schema)
        async with engine.connect() as conn:
            columns = await conn.run_sync(
                lambda sync: {
                    table: {column["name"] for column in sa.inspect(sync).get_columns(table)}
                    for table in sa.inspect(sync).get_table_names()
                }
            )
    for table in METADATA.sorted_tables:
        assert columns.get(table.name) == {column.name for column in table.columns}, table.name
