"""`dasan users create|list|disable|enable|set-password`: staff accounts of the agent copilot.

Passwords are read from a hidden prompt (typed twice) or, when standard input is not a terminal (or
with ``--password-stdin``), from its first line. There is no password argument (it would land in the
shell history and the process list) and never a default password.
"""

from __future__ import annotations

import asyncio
import getpass
import json
import logging
import sys
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from enum import StrEnum
from typing import Annotated, TypeVar

import typer

from assistant.accounts.passwords import check_password_policy
from assistant.accounts.ports import Account, AccountExists, UnknownAccount
from assistant.accounts.sql_accounts import SqlAccountStore, normalize_name, validate_name
from assistant.app.cli.runtime import configure_logging, fail
from assistant.app.database_factory import build_accounts, open_database
from assistant.app.settings import load_settings
from assistant.core.clock import SystemClock
from assistant.core.errors import DasanError

T = TypeVar("T")


class RoleChoice(StrEnum):
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"


_PASSWORD_STDIN = typer.Option(
    "--password-stdin",
    help="Read the password from the first line of standard input (the default when it is not a terminal).",
)


def run_with_accounts(body: Callable[[SqlAccountStore], Awaitable[T]]) -> T:
    """Open (and migrate) the service database only: no index, models or servers are started. Our
    errors become exit code 1 with their message."""

    async def go() -> T:
        async with AsyncExitStack() as stack:
            engine = await open_database(settings, stack)
            return await body(build_accounts(engine, SystemClock()))

    try:
        settings = load_settings()
        configure_logging(settings)
        logging.getLogger("alembic").setLevel(logging.WARNING)  # "Context impl SQLiteImpl." on every run
        return asyncio.run(go())
    except DasanError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise fail("interrupted") from exc


def read_password(name: str, *, from_stdin: bool) -> str:
    """The new password for ``name``: one line of stdin, or a hidden prompt typed twice. Checked
    against the policy here so a weak one fails before anything is hashed."""
    if from_stdin or not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            raise fail("no password on standard input: give it as the first line")
    else:
        try:
            password = getpass.getpass(f"New password for {name}: ")
            if not password:
                raise fail("no password given")
            if getpass.getpass("Repeat it: ") != password:
                raise fail("the two passwords differ; nothing was changed")
        except (EOFError, KeyboardInterrupt) as exc:
            raise fail("no password given") from exc
    try:
        check_password_policy(name, password)
    except DasanError as exc:
        raise fail(str(exc)) from exc
    return password


def _row(account: Account) -> dict[str, object]:
    return {
        "name": account.name,
        "role": account.role,
        "disabled": account.disabled,
        "created_at": account.created_at.isoformat(),
    }


def build() -> typer.Typer:
    app = typer.Typer(help="Staff accounts of the agent copilot.", no_args_is_help=True)

    @app.callback()
    def _group() -> None:
        """Staff accounts of the agent copilot (agents, supervisors, admins)."""

    @app.command()
    def create(
        name: Annotated[str, typer.Argument(help="Account name: lowercase letters, digits, '.', '_', '-'.")],
        role: Annotated[RoleChoice, typer.Option("--role", help="What the account may do.")],
        password_stdin: Annotated[bool, _PASSWORD_STDIN] = False,
    ) -> None:
        """Create an account. The password is asked for (hidden, twice) or read from stdin."""

        async def body(accounts: SqlAccountStore) -> Account:
            key = validate_name(name)
            if await accounts.get(key) is not None:  # say so before asking for a password
                raise AccountExists(f"an account named {key!r} exists already")
            return await accounts.create(key, role.value, read_password(key, from_stdin=password_stdin))

        account = run_with_accounts(body)
        sys.stdout.write(f"created {account.role} account {account.name}\n")

    @app.command("list")
    def list_accounts(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """List the accounts."""

        async def body(accounts: SqlAccountStore) -> list[Account]:
            return await accounts.list_accounts()

        rows = [_row(account) for account in run_with_accounts(body)]
        if as_json:
            sys.stdout.write(json.dumps({"accounts": rows}, ensure_ascii=False) + "\n")
            return
        if not rows:
            sys.stdout.write("no accounts yet; create one with `dasan users create NAME --role admin`\n")
            return
        width = max(len(str(row["name"])) for row in rows)
        for row in rows:
            state = "disabled" if row["disabled"] else "enabled"
            sys.stdout.write(
                f"{row['name']!s:<{width}}  {row['role']!s:<10}  {state:<8}  {row['created_at']}\n"
            )

    def set_disabled(name: str, disabled: bool) -> None:
        async def body(accounts: SqlAccountStore) -> None:
            await accounts.set_disabled(name, disabled)

        run_with_accounts(body)
        state = "disabled (its logins are closed)" if disabled else "enabled"
        sys.stdout.write(f"account {normalize_name(name)} is {state}\n")

    @app.command()
    def disable(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
        """Disable an account and close its open logins."""
        set_disabled(name, True)

    @app.command()
    def enable(name: Annotated[str, typer.Argument(help="Account name.")]) -> None:
        """Enable a disabled account."""
        set_disabled(name, False)

    @app.command("set-password")
    def set_password(
        name: Annotated[str, typer.Argument(help="Account name.")],
        password_stdin: Annotated[bool, _PASSWORD_STDIN] = False,
    ) -> None:
        """Set a new password (asked for, or read from stdin) and close the account's open logins."""
        key = normalize_name(name)

        async def body(accounts: SqlAccountStore) -> None:
            if await accounts.get(key) is None:  # say so before asking for a password
                raise UnknownAccount(f"no account named {key!r}")
            await accounts.set_password(key, read_password(key, from_stdin=password_stdin))

        run_with_accounts(body)
        sys.stdout.write(f"password of {key} changed; its open logins are closed\n")

    return app
