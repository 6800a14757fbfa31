"""`dasan sessions purge|migrate`: retention and schema upkeep of the service database (conversations,
expired staff logins, agent feedback, case records)."""

from __future__ import annotations

import asyncio
import json
import re
import sys
from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Annotated

import typer

from assistant.app.cli.runtime import EXIT_USAGE, fail
from assistant.app.database_factory import build_retention_sweeper, database_target, open_database
from assistant.app.settings import Settings, load_settings
from assistant.core.clock import SystemClock
from assistant.core.errors import DasanError
from assistant.sessions.migrate import upgrade_database
from assistant.sessions.sql_store import SqlConversationStore

_AGE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``30d``, ``12h``, ``90m``, ``2w`` or ``45s`` as a positive duration."""
    match = _AGE.match(text)
    if match is None:
        raise ValueError(f"--older-than expects a number and a unit (s, m, h, d, w), like 30d; got {text!r}")
    age = timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    if age <= timedelta(0):
        raise ValueError("--older-than must be more than zero")
    return age


async def purge_sessions(settings: Settings, older_than: timedelta) -> dict[str, object]:
    """Migrate (idempotent), then delete conversations not updated within ``older_than``, feedback and
    case records past ``retention.feedback`` / ``retention.case_records``, and lapsed logins."""
    clock = SystemClock()
    async with AsyncExitStack() as stack:
        engine = await open_database(settings, stack)
        conversations = SqlConversationStore(engine, clock=clock)
        sweeper = build_retention_sweeper(settings, engine, clock, conversations=conversations)
        report = await sweeper.run_once(conversations_older_than=older_than)
    return {
        "purged": report.conversations,
        "older_than_s": int(older_than.total_seconds()),
        "cutoff": (report.at - older_than).isoformat(),
        "logins_purged": report.logins,
        "feedback_purged": report.feedback,
        "case_records_purged": report.case_records,
    }


def build() -> typer.Typer:
    app = typer.Typer(help="The service database: retention and schema.", no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        """The service database (conversations, logins, feedback, case records): retention and schema."""

    @app.command()
    def purge(
        older_than: Annotated[
            str | None,
            typer.Option(
                "--older-than", help="Conversations idle this long, like 30d, 12h, 2w (default: retention)."
            ),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    ) -> None:
        """Delete conversations (and their events) not updated within the retention period, feedback and
        case records past theirs, and expired staff logins."""
        try:
            settings = load_settings()
            age = parse_age(older_than) if older_than is not None else settings.retention.conversations
        except ValueError as exc:
            raise fail(str(exc), EXIT_USAGE) from exc
        except DasanError as exc:
            raise fail(str(exc)) from exc
        try:
            result = asyncio.run(purge_sessions(settings, age))
        except DasanError as exc:
            raise fail(str(exc)) from exc
        if as_json:
            sys.stdout.write(json.dumps(result) + "\n")
        else:
            sys.stdout.write(
                f"purged {result['purged']} conversations idle since {result['cutoff']}, "
                f"{result['logins_purged']} expired logins, {result['feedback_purged']} feedback ratings "
                f"and {result['case_records_purged']} case records past retention\n"
            )

    @app.command()
    def migrate() -> None:
        """Create or upgrade the service database's tables (the server also does this at startup)."""
        try:
            target = database_target(load_settings())
            asyncio.run(upgrade_database(target.url, schema=target.schema))
        except DasanError as exc:
            raise fail(str(exc)) from exc
        sys.stdout.write("database tables are up to date\n")

    return app
