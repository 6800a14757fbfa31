"""SqlLoginStore: server-side logins keyed by the SHA-256 of a random secret, with sliding expiry."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts.ports import ROLES, Account, AccountError, AccountId, Login, UnknownAccount
from assistant.core.clock import Clock
from assistant.core.errors import StorageError
from assistant.sessions.sql_errors import storage_errors
from assistant.sessions.sql_schema import STAFF_ACCOUNTS, STAFF_LOGINS

_SECRET_BYTES = 32
_MAX_SECRET_CHARS = 128


def secret_digest(secret: str) -> str:
    """What the table keeps of a secret: its SHA-256 in hex. A plain hash suffices (no KDF): the
    secret is 256 random bits, so there is nothing to guess."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


class SqlLoginStore:
    """``LoginStore`` on ``staff_logins``. A login lapses ``ttl`` after its last use; ``resolve``
    extends it, writing at most once per ``refresh_every`` (so a busy copilot page polling every few
    seconds does not turn every read into a write; the expiry is then at most that much earlier than
    a write per request would give). Logins of disabled accounts resolve to None."""

    def __init__(
        self,
        engine: AsyncEngine,
        clock: Clock,
        ttl: timedelta,
        *,
        refresh_every: timedelta = timedelta(minutes=1),
    ) -> None:
        if ttl <= timedelta(0):
            raise ValueError("a login ttl must be more than zero")
        self._engine = engine
        self._clock = clock
        self._ttl = ttl
        self._refresh_every = min(refresh_every, ttl / 10)

    async def open(self, account: Account) -> str:
        """Raises ``UnknownAccount`` when the account is gone, ``AccountError`` when it is disabled."""
        secret = secrets.token_urlsafe(_SECRET_BYTES)
        now = self._clock.now()
        a = STAFF_ACCOUNTS.c
        with storage_errors("logins"):
            async with self._engine.begin() as conn:
                disabled = (
                    await conn.execute(sa.select(a.disabled).where(a.id == account.account_id))
                ).scalar_one_or_none()
                if disabled is None:
                    raise UnknownAccount(f"no account named {account.name!r}")
                if disabled:
                    raise AccountError(f"the account {account.name!r} is disabled")
                await conn.execute(
                    sa.insert(STAFF_LOGINS).values(
                        secret_sha256=secret_digest(secret),
                        account_id=account.account_id,
                        created_at=now,
                        expires_at=now + self._ttl,
                        last_seen_at=now,
                    )
                )
        return secret

    async def resolve(self, secret: str) -> Login | None:
        if not secret or len(secret) > _MAX_SECRET_CHARS:
            return None
        digest = secret_digest(secret)
        now = self._clock.now()
        a, g = STAFF_ACCOUNTS.c, STAFF_LOGINS.c
        with storage_errors("logins"):
            async with self._engine.begin() as conn:
                row = (
                    await conn.execute(
                        sa.select(
                            a.id, a.name, a.role, a.disabled, a.created_at, g.expires_at, g.last_seen_at
                        )
                        .select_from(STAFF_LOGINS.join(STAFF_ACCOUNTS, a.id == g.account_id))
                        .where(g.secret_sha256 == digest)
                    )
                ).one_or_none()
                if row is None:
                    return None
                if row.expires_at <= now or row.disabled:
                    await conn.execute(sa.delete(STAFF_LOGINS).where(g.secret_sha256 == digest))
                    return None
                expires_at: datetime = row.expires_at
                if now - row.last_seen_at >= self._refresh_every:
                    expires_at = now + self._ttl
                    await conn.execute(
                        sa.update(STAFF_LOGINS)
                        .where(g.secret_sha256 == digest)
                        .values(expires_at=expires_at, last_seen_at=now)
                    )
        if row.role not in ROLES:
            raise StorageError(f"account {row.id} has an unknown role in the database")
        account = Account(
            account_id=AccountId(int(row.id)),
            name=row.name,
            role=row.role,
            created_at=row.created_at,
            disabled=False,
        )
        return Login(account=account, expires_at=expires_at)

    async def close(self, secret: str) -> None:
        if not secret or len(secret) > _MAX_SECRET_CHARS:
            return
        with storage_errors("logins"):
            async with self._engine.begin() as conn:
                await conn.execute(
                    sa.delete(STAFF_LOGINS).where(STAFF_LOGINS.c.secret_sha256 == secret_digest(secret))
                )

    async def purge_expired(self) -> int:
        """Delete logins that lapsed; returns how many. (``resolve`` also drops the one it is given.)"""
        with storage_errors("logins"):
            async with self._engine.begin() as conn:
                deleted = await conn.execute(
                    sa.delete(STAFF_LOGINS).where(STAFF_LOGINS.c.expires_at <= self._clock.now())
                )
        return int(deleted.rowcount)
