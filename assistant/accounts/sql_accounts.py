"""SqlAccountStore: staff accounts in the service database, passwords as argon2id hashes."""

from __future__ import annotations

import logging
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assistant.accounts.passwords import MAX_PASSWORD_CHARS, Argon2Passwords, check_password_policy
from assistant.accounts.ports import (
    ACCOUNT_NAME,
    ROLES,
    Account,
    AccountError,
    AccountExists,
    AccountId,
    Role,
    UnknownAccount,
)
from assistant.core.clock import Clock
from assistant.core.errors import StorageError
from assistant.sessions.sql_errors import storage_errors
from assistant.sessions.sql_schema import STAFF_ACCOUNTS, STAFF_LOGINS

_log = logging.getLogger(__name__)
_ACCOUNT_COLUMNS = (
    STAFF_ACCOUNTS.c.id,
    STAFF_ACCOUNTS.c.name,
    STAFF_ACCOUNTS.c.role,
    STAFF_ACCOUNTS.c.disabled,
    STAFF_ACCOUNTS.c.created_at,
)


def normalize_name(name: str) -> str:
    """Names are matched without surrounding spaces and case: ``" Kim.J "`` is ``kim.j``."""
    return name.strip().lower()


class SqlAccountStore:
    """``AccountStore`` on the ``staff_accounts`` table (SQLite or PostgreSQL; migrate it with
    ``upgrade_database``). Changing a password or disabling an account deletes its ``staff_logins``
    rows in the same transaction, so no browser stays signed in on the old password."""

    def __init__(self, engine: AsyncEngine, clock: Clock, hasher: Argon2Passwords) -> None:
        self._engine = engine
        self._clock = clock
        self._hasher = hasher

    async def create(self, name: str, role: Role, password: str) -> Account:
        name = validate_name(name)
        if role not in ROLES:
            raise AccountError(f"unknown role {role!r}: use one of {', '.join(ROLES)}")
        check_password_policy(name, password)
        if await self.get(name) is not None:
            raise AccountExists(f"an account named {name!r} exists already")
        password_hash = await self._hasher.hash(password)
        now = self._clock.now()
        try:
            with storage_errors("accounts"):
                async with self._engine.begin() as conn:
                    inserted = await conn.execute(
                        sa.insert(STAFF_ACCOUNTS)
                        .values(
                            name=name,
                            role=role,
                            password_hash=password_hash,
                            disabled=False,
                            created_at=now,
                            updated_at=now,
                        )
                        .returning(STAFF_ACCOUNTS.c.id)
                    )
                    account_id = int(inserted.scalar_one())
        except IntegrityError as exc:  # created by someone else since the check above
            raise AccountExists(f"an account named {name!r} exists already") from exc
        return Account(AccountId(account_id), name, role, now, disabled=False)

    async def authenticate(self, name: str, password: str) -> Account | None:
        key = normalize_name(name)
        row = None
        if ACCOUNT_NAME.match(key) and len(password) <= MAX_PASSWORD_CHARS:
            with storage_errors("accounts"):
                async with self._engine.begin() as conn:
                    row = (
                        await conn.execute(
                            sa.select(*_ACCOUNT_COLUMNS, STAFF_ACCOUNTS.c.password_hash).where(
                                STAFF_ACCOUNTS.c.name == key
                            )
                        )
                    ).one_or_none()
        if row is None:
            await self._hasher.verify_dummy(password[:MAX_PASSWORD_CHARS])
            return None
        if not await self._hasher.verify(row.password_hash, password) or row.disabled:
            return None
        if self._hasher.needs_rehash(row.password_hash):
            await self._rehash(int(row.id), row.password_hash, password)
        return _account(row)

    async def get(self, name: str) -> Account | None:
        key = normalize_name(name)
        if not ACCOUNT_NAME.match(key):
            return None
        with storage_errors("accounts"):
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(sa.select(*_ACCOUNT_COLUMNS).where(STAFF_ACCOUNTS.c.name == key))
                ).one_or_none()
        return None if row is None else _account(row)

    async def list_accounts(self) -> list[Account]:
        with storage_errors("accounts"):
            async with self._engine.begin() as conn:
                rows = (
                    await conn.execute(sa.select(*_ACCOUNT_COLUMNS).order_by(STAFF_ACCOUNTS.c.name))
                ).all()
        return [_account(row) for row in rows]

    async def set_password(self, name: str, password: str) -> None:
        key = normalize_name(name)
        if await self.get(key) is None:
            raise UnknownAccount(f"no account named {key!r}")
        check_password_policy(key, password)
        password_hash = await self._hasher.hash(password)
        await self._update(key, password_hash=password_hash, close_logins=True)

    async def set_disabled(self, name: str, disabled: bool) -> None:
        await self._update(normalize_name(name), disabled=disabled, close_logins=disabled)

    async def _update(self, key: str, *, close_logins: bool, **values: Any) -> None:
        a = STAFF_ACCOUNTS.c
        with storage_errors("accounts"):
            async with self._engine.begin() as conn:
                updated = await conn.execute(
                    sa.update(STAFF_ACCOUNTS)
                    .where(a.name == key)
                    .values(updated_at=self._clock.now(), **values)
                    .returning(a.id)
                )
                account_id = updated.scalar_one_or_none()
                if account_id is None:
                    raise UnknownAccount(f"no account named {key!r}")
                if close_logins:
                    await _close_logins(conn, int(account_id))

    async def _rehash(self, account_id: int, old_hash: str, password: str) -> None:
        """Store a hash with the current parameters, unless the password changed meanwhile. A failure
        is logged, not raised: the login itself succeeded."""
        new_hash = await self._hasher.hash(password)
        a = STAFF_ACCOUNTS.c
        try:
            with storage_errors("accounts"):
                async with self._engine.begin() as conn:
                    await conn.execute(
                        sa.update(STAFF_ACCOUNTS)
                        .where(a.id == account_id, a.password_hash == old_hash)
                        .values(password_hash=new_hash, updated_at=self._clock.now())
                    )
        except StorageError as exc:
            _log.warning("password rehash of account %d failed: %s", account_id, exc)


async def _close_logins(conn: AsyncConnection, account_id: int) -> None:
    await conn.execute(sa.delete(STAFF_LOGINS).where(STAFF_LOGINS.c.account_id == account_id))


def validate_name(name: str) -> str:
    """The normalised name, or ``AccountError`` saying what a name may hold."""
    key = normalize_name(name)
    if not ACCOUNT_NAME.match(key):
        raise AccountError(
            f"invalid account name {name!r}: use 2-64 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return key


def _account(row: sa.Row[*tuple[Any, ...]]) -> Account:
    role = row.role
    if role not in ROLES:
        raise StorageError(f"account {row.id} has an unknown role in the database")
    return Account(
        account_id=AccountId(int(row.id)),
        name=row.name,
        role=role,
        created_at=row.created_at,
        disabled=bool(row.disabled),
    )
