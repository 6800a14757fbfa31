"""Contract suite for ``AccountStore`` and ``LoginStore`` (SqlAccountStore, SqlLoginStore) on SQLite and
the real PostgreSQL: creation rules, authentication (timing-safe for unknown names, rehashing), disabling,
password changes closing logins, sliding login expiry and purge."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts.passwords import Argon2Passwords
from assistant.accounts.ports import AccountError, AccountExists, UnknownAccount, WeakPassword
from assistant.accounts.sql_accounts import SqlAccountStore
from assistant.accounts.sql_logins import SqlLoginStore
from assistant.core.clock import FakeClock
from assistant.sessions.sql_schema import STAFF_ACCOUNTS, STAFF_LOGINS
from tests.contract.sql_backends import SQL_BACKENDS, sql_database

pytestmark = pytest.mark.anyio

PASSWORD = "correct horse 1"
TTL = timedelta(hours=12)


class RecordingPasswords(Argon2Passwords):
    """Real argon2id with cheap costs, recording which hashes were verified (None: the dummy)."""

    def __init__(self, *, time_cost: int = 1) -> None:
        super().__init__(time_cost=time_cost, memory_cost_kib=1024, parallelism=1)
        self.verified: list[str | None] = []

    async def verify(self, password_hash: str, password: str) -> bool:
        self.verified.append(password_hash)
        return await super().verify(password_hash, password)

    async def verify_dummy(self, password: str) -> None:
        before = len(self.verified)
        await super().verify_dummy(password)
        assert len(self.verified) == before + 1  # the dummy really ran a verify
        self.verified[-1:] = [None]


@dataclass
class Stores:
    engine: AsyncEngine
    clock: FakeClock
    passwords: RecordingPasswords
    accounts: SqlAccountStore
    logins: SqlLoginStore


@pytest.fixture(params=SQL_BACKENDS)
async def stores(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Stores]:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    async with sql_database(request.param, tmp_path) as engine:
        passwords = RecordingPasswords()
        yield Stores(
            engine,
            clock,
            passwords,
            SqlAccountStore(engine, clock, passwords),
            SqlLoginStore(engine, clock, TTL),
        )


async def stored_hash(engine: AsyncEngine, name: str) -> str:
    async with engine.connect() as conn:
        value = (
            await conn.execute(sa.select(STAFF_ACCOUNTS.c.password_hash).where(STAFF_ACCOUNTS.c.name == name))
        ).scalar_one()
    return str(value)


async def login_rows(engine: AsyncEngine) -> list[sa.Row[tuple[str, int]]]:
    async with engine.connect() as conn:
        return list(
            (await conn.execute(sa.select(STAFF_LOGINS.c.secret_sha256, STAFF_LOGINS.c.account_id))).all()
        )


# ── accounts ────────────────────────────────────────────────────────────────────────────────────────────


async def test_create_get_and_list(stores: Stores) -> None:
    kim = await stores.accounts.create("kim.agent", "agent", PASSWORD)
    lee = await stores.accounts.create(" Lee-Sup ", "supervisor", PASSWORD)

    assert (kim.name, kim.role, kim.disabled, kim.created_at) == (
        "kim.agent",
        "agent",
        False,
        stores.clock.now(),
    )
    assert lee.name == "lee-sup"  # names are matched without case and surrounding spaces
    assert await stores.accounts.get("KIM.AGENT") == kim
    assert await stores.accounts.get("nobody") is None
    assert await stores.accounts.get("not a name!") is None
    assert [a.name for a in await stores.accounts.list_accounts()] == ["kim.agent", "lee-sup"]
    assert kim.may("agent") and not kim.may("supervisor") and lee.may("agent")


async def test_the_hash_is_argon2id_never_the_password(stores: Stores) -> None:
    await stores.accounts.create("kim", "admin", PASSWORD)

    stored = await stored_hash(stores.engine, "kim")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_a_taken_name_is_refused_even_when_racing(stores: Stores) -> None:
    await stores.accounts.create("kim", "agent", PASSWORD)
    with pytest.raises(AccountExists, match="'kim' exists already"):
        await stores.accounts.create("Kim", "admin", "another password")

    results = await asyncio.gather(
        *(stores.accounts.create("park", "agent", PASSWORD) for _ in range(4)), return_exceptions=True
    )
    assert sum(not isinstance(r, BaseException) for r in results) == 1
    assert all(isinstance(r, AccountExists) for r in results if isinstance(r, BaseException))
    assert [a.name for a in await stores.accounts.list_accounts()] == ["kim", "park"]


@pytest.mark.parametrize(
    ("name", "role", "password", "error", "message"),
    [
        ("kim", "agent", "short", WeakPassword, "too short"),
        ("kimberly.lee", "agent", "KIMBERLY.LEE", WeakPassword, "account name"),
        ("kim", "agent", " " * 12, WeakPassword, "only spaces"),
        ("kim", "agent", "x" * 1025, WeakPassword, "too long"),
        ("김상담", "agent", PASSWORD, AccountError, "invalid account name"),
        ("k", "agent", PASSWORD, AccountError, "invalid account name"),
        ("-kim", "agent", PASSWORD, AccountError, "invalid account name"),
        ("kim", "root", PASSWORD, AccountError, "unknown role 'root'"),
    ],
)
async def test_bad_names_roles_and_passwords_are_refused(
    stores: Stores, name: str, role: str, password: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        await stores.accounts.create(name, role, password)  # type: ignore[arg-type]
    assert await stores.accounts.list_accounts() == []


async def test_authenticate(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)

    assert await stores.accounts.authenticate(" KIM", PASSWORD) == kim
    assert await stores.accounts.authenticate("kim", PASSWORD + "x") is None
    assert await stores.accounts.authenticate("kim", "") is None


async def test_an_unknown_name_still_costs_a_verify(stores: Stores) -> None:
    await stores.accounts.create("kim", "agent", PASSWORD)
    stores.passwords.verified.clear()

    assert await stores.accounts.authenticate("nobody", PASSWORD) is None
    assert await stores.accounts.authenticate("not a valid name", PASSWORD) is None
    assert await stores.accounts.authenticate("kim", "x" * 5000) is None

    assert stores.passwords.verified == [None, None, None]


async def test_disabled_accounts_cannot_sign_in_until_enabled(stores: Stores) -> None:
    await stores.accounts.create("kim", "agent", PASSWORD)

    await stores.accounts.set_disabled("kim", True)
    assert await stores.accounts.authenticate("kim", PASSWORD) is None
    assert (await stores.accounts.get("kim")) is not None and (await stores.accounts.get("kim")).disabled  # type: ignore[union-attr]

    await stores.accounts.set_disabled("kim", False)
    assert await stores.accounts.authenticate("kim", PASSWORD) is not None
    with pytest.raises(UnknownAccount):
        await stores.accounts.set_disabled("nobody", True)


async def test_set_password_replaces_the_old_one(stores: Stores) -> None:
    await stores.accounts.create("kim", "agent", PASSWORD)

    await stores.accounts.set_password("kim", "a brand new secret")

    assert await stores.accounts.authenticate("kim", PASSWORD) is None
    assert await stores.accounts.authenticate("kim", "a brand new secret") is not None
    with pytest.raises(UnknownAccount, match="no account named 'nobody'"):
        await stores.accounts.set_password("nobody", "a brand new secret")
    with pytest.raises(WeakPassword):
        await stores.accounts.set_password("kim", "short")
    assert await stores.accounts.authenticate("kim", "a brand new secret") is not None


async def test_a_hash_with_old_parameters_is_replaced_at_the_next_login(stores: Stores) -> None:
    await stores.accounts.create("kim", "agent", PASSWORD)
    old = await stored_hash(stores.engine, "kim")
    stronger = RecordingPasswords(time_cost=2)
    assert stronger.needs_rehash(old)
    accounts = SqlAccountStore(stores.engine, stores.clock, stronger)

    assert await accounts.authenticate("kim", "wrong password") is None
    assert await stored_hash(stores.engine, "kim") == old  # only a correct password rehashes
    assert await accounts.authenticate("kim", PASSWORD) is not None

    new = await stored_hash(stores.engine, "kim")
    assert new != old and not stronger.needs_rehash(new)
    assert await accounts.authenticate("kim", PASSWORD) is not None


# ── logins ──────────────────────────────────────────────────────────────────────────────────────────────


async def test_a_login_resolves_to_its_account_and_only_its_digest_is_stored(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)

    secret = await stores.logins.open(kim)

    assert len(secret) >= 43  # 32 random bytes, url-safe base64
    login = await stores.logins.resolve(secret)
    assert login is not None and login.account == kim
    assert login.expires_at == stores.clock.now() + TTL
    rows = await login_rows(stores.engine)
    assert [(r.secret_sha256, r.account_id) for r in rows] == [
        (hashlib.sha256(secret.encode()).hexdigest(), kim.account_id)
    ]
    assert await stores.logins.open(kim) != secret


async def test_logins_slide_and_lapse(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)
    secret = await stores.logins.open(kim)

    for _ in range(3):  # a long day of use: 33 hours, never idle for 12
        stores.clock.advance(timedelta(hours=11))
        login = await stores.logins.resolve(secret)
        assert login is not None and login.expires_at == stores.clock.now() + TTL

    stores.clock.advance(TTL)
    assert await stores.logins.resolve(secret) is None
    assert await login_rows(stores.engine) == []  # the lapsed login was dropped


async def test_resolving_often_writes_the_expiry_at_most_once_a_minute(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)
    secret = await stores.logins.open(kim)
    opened = stores.clock.now()

    stores.clock.advance(timedelta(seconds=30))
    login = await stores.logins.resolve(secret)
    assert login is not None and login.expires_at == opened + TTL
    stores.clock.advance(timedelta(seconds=30))
    login = await stores.logins.resolve(secret)
    assert login is not None and login.expires_at == stores.clock.now() + TTL


async def test_close_unknown_and_malformed_secrets(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)
    secret = await stores.logins.open(kim)

    assert await stores.logins.resolve("") is None
    assert await stores.logins.resolve("x" * 10_000) is None
    assert await stores.logins.resolve(secret[:-1]) is None
    await stores.logins.close("not a login")
    assert await stores.logins.resolve(secret) is not None

    await stores.logins.close(secret)
    assert await stores.logins.resolve(secret) is None


async def test_disabling_or_a_new_password_closes_every_login(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)
    lee = await stores.accounts.create("lee", "agent", PASSWORD)
    kim_secrets = [await stores.logins.open(kim) for _ in range(2)]
    lee_secret = await stores.logins.open(lee)

    await stores.accounts.set_disabled("kim", True)
    assert [await stores.logins.resolve(s) for s in kim_secrets] == [None, None]
    with pytest.raises(AccountError, match="disabled"):
        await stores.logins.open(kim)
    await stores.accounts.set_disabled("kim", False)
    assert [await stores.logins.resolve(s) for s in kim_secrets] == [None, None]  # stay closed

    await stores.accounts.set_password("lee", "a brand new secret")
    assert await stores.logins.resolve(lee_secret) is None
    assert await login_rows(stores.engine) == []


async def test_purge_expired_deletes_only_lapsed_logins(stores: Stores) -> None:
    kim = await stores.accounts.create("kim", "agent", PASSWORD)
    old = await stores.logins.open(kim)
    stores.clock.advance(timedelta(hours=6))
    fresh = await stores.logins.open(kim)
    stores.clock.advance(timedelta(hours=7))  # old lapsed 1 hour ago; fresh has 5 hours left

    assert await stores.logins.purge_expired() == 1
    assert await stores.logins.purge_expired() == 0
    assert await stores.logins.resolve(fresh) is not None
    assert await stores.logins.resolve(old) is None
