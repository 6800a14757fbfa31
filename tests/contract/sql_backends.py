"""Migrated service databases for SQL contract suites: a SQLite file, or a schema of its own on the real
PostgreSQL (127.0.0.1, database ``test``; override with DASAN_TEST_POSTGRES_URL), dropped afterwards.
An unreachable server skips the case, saying so (the approach of ``test_session_store.py``)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.sessions.migrate import upgrade_database
from assistant.sessions.sql_engine import create_session_engine

POSTGRES_URL = os.environ.get("DASAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
SQL_BACKENDS = ["sqlite", "postgres"]


@asynccontextmanager
async def postgres_database(*, target: str | None = "head") -> AsyncIterator[tuple[AsyncEngine, str, str]]:
    """``(engine, url, schema)`` of a fresh schema, migrated to ``target`` (None: left empty)."""
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
        if target is not None:
            await upgrade_database(POSTGRES_URL, schema=schema, target=target)
        yield engine, POSTGRES_URL, schema
    finally:
        await engine.dispose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@asynccontextmanager
async def sqlite_database(
    path: Path, *, target: str | None = "head"
) -> AsyncIterator[tuple[AsyncEngine, str]]:
    """``(engine, url)`` of a SQLite file, migrated to ``target`` (None: left empty)."""
    url = f"sqlite+aiosqlite:///{path}"
    if target is not None:
        await upgrade_database(url, target=target)
    engine = create_session_engine(url)
    try:
        yield engine, url
    finally:
        await engine.dispose()


@asynccontextmanager
async def sql_database(backend: str, tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    """A migrated database of ``backend`` (``sqlite`` or ``postgres``)."""
    match backend:
        case "sqlite":
            async with sqlite_database(tmp_path / "dasan.sqlite3") as (engine, _):
                yield engine
        case "postgres":
            async with postgres_database() as (engine, _, _):
                yield engine
        case _:
            raise ValueError(backend)
