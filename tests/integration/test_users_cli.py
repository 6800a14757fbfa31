"""`dasan users` as a real subprocess: passwords from stdin and from a hidden prompt on a terminal (a
pty), the exit codes (0 ok, 1 failure with a message naming it, 2 usage), and the accounts it leaves
in the service database (SQLite under the data dir, or a PostgreSQL schema)."""

from __future__ import annotations

import asyncio
import os
import select
import subprocess
import time
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from assistant.accounts.passwords import Argon2Passwords
from assistant.accounts.ports import Account
from assistant.accounts.sql_accounts import SqlAccountStore
from assistant.core.clock import SystemClock
from assistant.sessions.sql_engine import create_session_engine
from tests.contract.sql_backends import POSTGRES_URL
from tests.integration.cli_runner import DASAN, CliResult, cli_env, run_cli

PASSWORD = "correct horse 1"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return cli_env(tmp_path / "data")


def users(args: list[str], env: dict[str, str], cwd: Path, stdin: str | None = "") -> CliResult:
    return run_cli(["users", *args], env, cwd=cwd, stdin=stdin, timeout=120)


def authenticate(url: str, name: str, password: str, schema: str | None = None) -> Account | None:
    async def go() -> Account | None:
        engine = create_session_engine(url, schema=schema)
        try:
            return await SqlAccountStore(engine, SystemClock(), Argon2Passwords()).authenticate(
                name, password
            )
        finally:
            await engine.dispose()

    return asyncio.run(go())


def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'data' / 'dasan.sqlite3'}"


def account_names(tmp_path: Path) -> list[str]:
    """The accounts in the data dir's database (read directly: faster than another `dasan users list`)."""
    if not (tmp_path / "data" / "dasan.sqlite3").exists():
        return []

    async def go() -> list[str]:
        engine = create_session_engine(sqlite_url(tmp_path))
        try:
            accounts = SqlAccountStore(engine, SystemClock(), Argon2Passwords())
            return [account.name for account in await accounts.list_accounts()]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def test_create_from_stdin_then_list(env: dict[str, str], tmp_path: Path) -> None:
    created = users(["create", "kim.agent", "--role", "agent"], env, tmp_path, stdin=PASSWORD + "\n")
    assert created.code == 0, created.stderr
    assert created.stdout == "created agent account kim.agent\n"
    explicit = users(["create", "lee", "--role", "admin", "--password-stdin"], env, tmp_path, stdin=PASSWORD)
    assert explicit.code == 0, explicit.stderr

    listed = users(["list", "--json"], env, tmp_path)
    assert listed.code == 0, listed.stderr
    rows = listed.json()["accounts"]
    assert [(r["name"], r["role"], r["disabled"]) for r in rows] == [
        ("kim.agent", "agent", False),
        ("lee", "admin", False),
    ]
    text = users(["list"], env, tmp_path)
    assert text.code == 0 and text.stdout.splitlines()[0].split()[:3] == ["kim.agent", "agent", "enabled"]

    kim = authenticate(sqlite_url(tmp_path), "kim.agent", PASSWORD)
    assert kim is not None and kim.role == "agent"
    assert authenticate(sqlite_url(tmp_path), "kim.agent", PASSWORD + "\n") is None  # one line, no newline
    assert PASSWORD not in created.stdout + created.stderr


def test_a_taken_name_fails_before_asking_for_a_password(env: dict[str, str], tmp_path: Path) -> None:
    assert users(["create", "kim", "--role", "agent"], env, tmp_path, stdin=PASSWORD).code == 0

    again = users(["create", "KIM", "--role", "admin"], env, tmp_path, stdin="")

    assert again.code == 1
    assert again.stderr.strip() == "dasan: error: an account named 'kim' exists already"


@pytest.mark.parametrize(
    ("args", "stdin", "message"),
    [
        (["create", "kim", "--role", "agent"], "", "no password on standard input"),
        (["create", "kim", "--role", "agent"], "\n", "no password on standard input"),
        (["create", "kim", "--role", "agent"], "short\n", "the password is too short"),
        (["create", "kim.agent.1", "--role", "agent"], "kim.agent.1\n", "must not be the account name"),
        (["create", "김상담", "--role", "agent"], PASSWORD, "invalid account name '김상담'"),
        (["disable", "nobody"], "", "no account named 'nobody'"),
        (["enable", "nobody"], "", "no account named 'nobody'"),
        (["set-password", "nobody"], PASSWORD, "no account named 'nobody'"),
    ],
)
def test_failures_exit_1_naming_the_problem(
    env: dict[str, str], tmp_path: Path, args: list[str], stdin: str, message: str
) -> None:
    result = users(args, env, tmp_path, stdin=stdin)

    assert result.code == 1, result.stdout + result.stderr
    assert result.stderr.startswith("dasan: error: ") and message in result.stderr
    assert account_names(tmp_path) == []


@pytest.mark.parametrize(
    "args",
    [
        ["create", "kim", "--role", "root"],
        ["create", "kim"],
        ["create", "--role", "agent"],
        ["create", "kim", "--role", "agent", "--password", PASSWORD],
        ["create", "kim", PASSWORD, "--role", "agent"],
    ],
    ids=["bad-role", "no-role", "no-name", "password-option", "password-argument"],
)
def test_usage_errors_exit_2(env: dict[str, str], tmp_path: Path, args: list[str]) -> None:
    result = users(args, env, tmp_path, stdin=PASSWORD)

    assert result.code == 2, result.stdout + result.stderr
    assert PASSWORD not in result.stdout
    assert account_names(tmp_path) == []


def test_disable_enable_and_set_password(env: dict[str, str], tmp_path: Path) -> None:
    assert users(["create", "kim", "--role", "supervisor"], env, tmp_path, stdin=PASSWORD).code == 0
    url = sqlite_url(tmp_path)

    disabled = users(["disable", "kim"], env, tmp_path)
    assert disabled.code == 0 and disabled.stdout == "account kim is disabled (its logins are closed)\n"
    assert users(["list", "--json"], env, tmp_path).json()["accounts"][0]["disabled"] is True
    assert authenticate(url, "kim", PASSWORD) is None
    assert users(["enable", "kim"], env, tmp_path).code == 0
    assert authenticate(url, "kim", PASSWORD) is not None

    changed = users(["set-password", "kim"], env, tmp_path, stdin="a brand new secret\n")
    assert changed.code == 0, changed.stderr
    assert authenticate(url, "kim", PASSWORD) is None
    assert authenticate(url, "kim", "a brand new secret") is not None
    weak = users(["set-password", "kim"], env, tmp_path, stdin="short\n")
    assert weak.code == 1 and "too short" in weak.stderr
    assert authenticate(url, "kim", "a brand new secret") is not None


def run_on_a_terminal(args: list[str], env: dict[str, str], cwd: Path, typed: list[str]) -> tuple[int, str]:
    """Run dasan with a pty as its terminal (a new session, so the hidden prompt reads the pty), answer
    each prompt with the next of ``typed``, and return the exit code and everything the terminal showed."""
    master, slave = os.openpty()
    process = subprocess.Popen(
        [str(DASAN), *args],
        stdin=slave,
        stdout=slave,
        stderr=slave,
        env=env,
        cwd=cwd,
        start_new_session=True,
        close_fds=True,
    )
    os.close(slave)
    shown, answers = b"", list(typed)
    answered_at = 0  # answer only a prompt shown since the last answer, not the same one twice
    deadline = time.monotonic() + 120
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:  # the child closed the terminal
                    break
                if not chunk:
                    break
                shown += chunk
                if answers and shown[answered_at:].rstrip().endswith(b":"):
                    os.write(master, answers.pop(0).encode() + b"\n")
                    answered_at = len(shown)
            elif process.poll() is not None:
                break
        code = process.wait(timeout=max(1.0, deadline - time.monotonic()))
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    return code, shown.decode(errors="replace")


def test_the_hidden_prompt_asks_twice_and_never_echoes(env: dict[str, str], tmp_path: Path) -> None:
    code, shown = run_on_a_terminal(
        ["users", "create", "kim", "--role", "admin"], env, tmp_path, [PASSWORD, PASSWORD + "x"]
    )
    assert code == 1, shown
    assert "New password for kim:" in shown and "Repeat it:" in shown
    assert "the two passwords differ" in shown

    code, shown = run_on_a_terminal(
        ["users", "create", "kim", "--role", "admin"], env, tmp_path, [PASSWORD, PASSWORD]
    )
    assert code == 0, shown
    assert "created admin account kim" in shown
    assert PASSWORD not in shown  # hidden input
    assert authenticate(sqlite_url(tmp_path), "kim", PASSWORD) is not None


def test_accounts_on_postgresql(tmp_path: Path) -> None:
    schema = f"dasan_test_{uuid.uuid4().hex[:16]}"
    env = cli_env(tmp_path / "data", DASAN_DATABASE__URL=POSTGRES_URL, DASAN_DATABASE__SCHEMA_NAME=schema)
    try:
        created = users(["create", "kim", "--role", "agent"], env, tmp_path, stdin=PASSWORD)
        if created.code != 0 and "database unavailable" in created.stderr:
            pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable; set DASAN_TEST_POSTGRES_URL")
        assert created.code == 0, created.stderr
        assert users(["create", "kim", "--role", "agent"], env, tmp_path, stdin=PASSWORD).code == 1
        assert authenticate(POSTGRES_URL, "kim", PASSWORD, schema=schema) is not None
        assert not (tmp_path / "data" / "dasan.sqlite3").exists()
    finally:
        asyncio.run(_drop_schema(schema))


async def _drop_schema(schema: str) -> None:
    engine = create_session_engine(POSTGRES_URL)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    except (sa.exc.OperationalError, OSError):
        pass
    finally:
        await engine.dispose()
