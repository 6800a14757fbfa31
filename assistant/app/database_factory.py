"""Builds the service database and the stores on it: staff accounts and logins, feedback, retention."""

from __future__ import annotations

from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts.passwords import Argon2Passwords
from assistant.accounts.sql_accounts import SqlAccountStore
from assistant.accounts.sql_logins import SqlLoginStore
from assistant.accounts.throttle import LoginThrottle
from assistant.app.retention import PurgesBefore, RetentionSweeper
from assistant.app.settings import Settings
from assistant.core.clock import Clock
from assistant.dialogue.flows.sql_records import SqlCaseRecordStore
from assistant.sessions.migrate import upgrade_engine
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_feedback import SqlFeedbackStore


@dataclass(frozen=True, slots=True)
class DatabaseTarget:
    """Where the service database lives."""

    url: str
    schema: str | None


def database_target(settings: Settings) -> DatabaseTarget:
    """``DASAN_DATABASE__URL``, or SQLite at ``<data dir>/dasan.sqlite3``."""
    section = settings.database
    url = section.url or f"sqlite+aiosqlite:///{settings.data_dir / 'dasan.sqlite3'}"
    return DatabaseTarget(url=url, schema=section.schema_name)


async def open_database(settings: Settings, stack: AsyncExitStack) -> AsyncEngine:
    """The engine every SQL store shares, its tables migrated (idempotent; several instances may
    start at once). ``stack`` disposes of it; push what uses it afterwards, so that closes first."""
    target = database_target(settings)
    engine = create_session_engine(target.url, schema=target.schema)
    stack.push_async_callback(engine.dispose)
    await upgrade_engine(engine, schema=target.schema)
    return engine


def build_accounts(engine: AsyncEngine, clock: Clock) -> SqlAccountStore:
    return SqlAccountStore(engine, clock, Argon2Passwords())


def build_logins(settings: Settings, engine: AsyncEngine, clock: Clock) -> SqlLoginStore:
    return SqlLoginStore(engine, clock, settings.accounts.login_ttl)


def build_login_throttle(settings: Settings, clock: Clock) -> LoginThrottle:
    section = settings.accounts
    return LoginThrottle(clock, max_failures=section.max_failed_logins, window=section.failed_login_window)


def build_retention_sweeper(
    settings: Settings,
    engine: AsyncEngine,
    clock: Clock,
    *,
    conversations: PurgesBefore | None = None,
    interval: timedelta = timedelta(hours=1),
) -> RetentionSweeper:
    return RetentionSweeper(
        feedback=SqlFeedbackStore(engine),
        case_records=SqlCaseRecordStore(engine),
        logins=build_logins(settings, engine, clock),
        conversations=conversations,
        clock=clock,
        retention=settings.retention,
        interval=interval,
    )
