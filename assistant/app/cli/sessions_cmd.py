"""`dasan sessions purge|migrate`: retention and schema upkeep of the durable conversation records."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from dataclasses import dataclass
from datetime import timedelta
from typing import Annotated

import typer

from assistant.app.cli.runtime import EXIT_USAGE, fail
from assistant.app.settings import Settings, load_settings
from assistant.core.clock import SystemClock
from assistant.core.errors import DasanError
from assistant.sessions.migrate import upgrade_database
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_store import SqlConversationStore

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
_DEFAULT_RETENTION = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class DurableConfig:
    url: str
    schema: str | None
    retention: timedelta


def durable_config(settings: Settings) -> DurableConfig:
    """The durable store's settings: ``database.url`` (default SQLite under the data dir),
    ``database.schema_name`` and ``retention.conversations``.

    Read defensively until those sections exist in ``Settings``; the composition root will own this.
    """
    database = getattr(settings, "database", None)
    retention = getattr(getattr(settings, "retention", None), "conversations", None)
    url = getattr(database, "url", None)
    schema = getattr(database, "schema_name", None)
    return DurableConfig(
        url=str(url) if url else f"sqlite+aiosqlite:///{settings.data_dir / 'dasan.sqlite3'}",
        schema=str(schema) if schema else None,
        retention=retention if isinstance(retention, timedelta) else _DEFAULT_RETENTION,
    )


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as a positive duration."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"--older-than expects a number and a unit (s, m, h, d, w), like 30d; got {text!r}")
    age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if age <= timedelta(0):
        raise ValueError("--older-than must be more than zero")
    return age


async def purge_sessions(config: DurableConfig, older_than: timedelta) -> dict[str, object]:
    """Migrate (idempotent), then delete conversations not updated within ``older_than``."""
    await upgrade_database(config.url, schema=config.schema)
    engine = create_session_engine(config.url, schema=config.schema)
    try:
        cutoff = SystemClock().now() - older_than
        purged = await SqlConversationStore(engine, clock=SystemClock()).purge(cutoff)
    finally:
        await engine.dispose()
    return {"purged": purged, "older_than_s": int(older_than.total_seconds()), "cutoff": cutoff.isoformat()}


def build() -> typer.Typer:
    app = typer.Typer(help="Conversation records: retention and schema.", no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        """Conversation records: retention and schema."""

    @app.command()
    def purge(
        older_than: Annotated[
            str | None,
            typer.Option("--older-than", help="Age like 30d, 12h, 2w (default: retention.conversations)."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Delete conversations (and their events) not updated within the retention period."""
        try:
            config = durable_config(load_settings())
            age = parse_age(older_than) if older_than is not None else config.retention
        except ValueError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        except DasanError as exc:
            raise fail(str(exc)) from exc
        try:
            result = asyncio.run(purge_sessions(config, age))
        except DasanError as exc:
            raise fail(str(exc)) from exc
        if as_json:
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            sys.stdout.write(f"purged {result['purged']} conversations idle since {result['cutoff']}\n")

    @app.command()
    def migrate() -> None:
        """Create or upgrade the conversation tables (the server also does this at startup)."""
        try:
            config = durable_config(load_settings())
            asyncio.run(upgrade_database(config.url, schema=config.schema))
        except DasanError as exc:
            raise fail(str(exc)) from exc
        sys.stdout.write("session tables are up to date\n")

    return app
