"""create_session_engine: an async SQLAlchemy engine for SQLite (aiosqlite) or PostgreSQL (asyncpg)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from assistant.core.errors import ConfigurationError
from assistant.sessions.conversation import dump_json

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
_SQLITE_BUSY_TIMEOUT_S = 30.0


def create_session_engine(url: str, *, schema: str | None = None, echo: bool = False) -> AsyncEngine:
    """An engine for the session tables. ``sqlite://`` and ``postgresql://`` get their async drivers.

    SQLite: WAL, and every transaction starts ``BEGIN IMMEDIATE`` so writers queue on the busy timeout
    instead of failing to upgrade a read lock. PostgreSQL: ``schema`` (created by ``upgrade_database``)
    becomes the connection's ``search_path``.
    """
    parsed = _async_url(url)
    backend = parsed.get_backend_name()
    if schema is not None and not _SCHEMA_NAME.match(schema):
        raise ConfigurationError(
            f"DASAN_DATABASE__SCHEMA_NAME: {schema!r} is not a plain lowercase identifier"
        )
    if backend == "sqlite":
        if schema is not None:
            raise ConfigurationError("DASAN_DATABASE__SCHEMA_NAME: schemas are for PostgreSQL, not SQLite")
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(
            parsed,
            echo=echo,
            json_serializer=dump_json,
            hide_parameters=True,  # bound values (contacts, hashes) never reach logs or error messages
            connect_args={"timeout": _SQLITE_BUSY_TIMEOUT_S},
        )
        _immediate_transactions(engine)
        return engine
    if backend == "postgresql":
        connect_args: dict[str, Any] = {"server_settings": {"search_path": schema}} if schema else {}
        return create_async_engine(
            parsed,
            echo=echo,
            json_serializer=dump_json,
            hide_parameters=True,
            connect_args=connect_args,
            pool_pre_ping=True,
        )
    raise ConfigurationError(f"DASAN_DATABASE__URL: unsupported database {backend!r} (sqlite or postgresql)")


def _async_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise ConfigurationError(f"DASAN_DATABASE__URL: not a database URL: {exc}") from exc
    match parsed.drivername:
        case "sqlite":
            return parsed.set(drivername="sqlite+aiosqlite")
        case "postgresql" | "postgres":
            return parsed.set(drivername="postgresql+asyncpg")
        case _:
            return parsed


def _immediate_transactions(engine: AsyncEngine) -> None:
    """SQLAlchemy's recipe: stop the driver's implicit BEGIN and emit our own."""

    @event.listens_for(engine.sync_engine, "connect")
    def _connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")  # WAL: durable across crashes, not power loss
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
