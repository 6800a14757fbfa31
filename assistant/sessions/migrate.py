"""upgrade_database: bring the session tables to the newest Alembic revision (the app calls it at startup)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.core.errors import StorageError
from assistant.sessions.sql_engine import create_session_engine

_MIGRATIONS = Path(__file__).with_name("migrations")
_ADVISORY_LOCK = 0x64617361_6E5F5331  # "dasan_S1": one migrator at a time per PostgreSQL database


async def upgrade_database(url: str, *, schema: str | None = None, target: str = "head") -> None:
    """Create or upgrade the session tables at ``url``. Idempotent; safe when several instances start.
    ``target`` is an Alembic revision (tests stop at an older one to check an upgrade keeps data)."""
    engine = create_session_engine(url, schema=schema)
    try:
        await upgrade_engine(engine, schema=schema, target=target)
    finally:
        await engine.dispose()


async def upgrade_engine(engine: AsyncEngine, *, schema: str | None = None, target: str = "head") -> None:
    """``upgrade_database`` on an engine from ``create_session_engine`` (the same ``schema``)."""
    try:
        async with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ADVISORY_LOCK})
                if schema is not None:
                    # create_session_engine validated the name, so quoting it is enough.
                    await connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            await connection.run_sync(_upgrade, target)
    except SQLAlchemyError as exc:
        raise StorageError(f"session migrations failed: {type(exc).__name__}: {exc}") from exc


def _upgrade(connection: Connection, target: str) -> None:
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, target)
