"""Argon2Passwords: argon2id hashes (argon2-cffi) computed in worker threads, and the password policy."""

from __future__ import annotations

import asyncio
import secrets

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.accounts.ports import MIN_PASSWORD_CHARS, WeakPassword

MAX_PASSWORD_CHARS = 1024
"""Longer input is refused before hashing: nobody types it, and it would only cost CPU."""


def check_password_policy(name: str, password: str) -> None:
    """Raise ``WeakPassword`` naming the problem. The policy is length (NIST SP 800-63B: length over
    composition rules) and not the account's own name."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise WeakPassword(f"the password is too short: use at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise WeakPassword(f"the password is too long: use at most {MAX_PASSWORD_CHARS} characters")
    if not password.strip():
        raise WeakPassword("the password is only spaces")
    if password.strip().casefold() == name.strip().casefold():
        raise WeakPassword("the password must not be the account name")


class Argon2Passwords:
    """argon2id with RFC 9106's second recommended profile by default (t=3, 64 MiB, p=4): about 75 ms
    and 64 MiB per hash on the 2-core reference machine.

    Hashing runs in worker threads (it holds the CPU and releases the GIL), at most ``max_concurrent``
    at a time so a burst of logins cannot take every core or ``max_concurrent`` × 64 MiB of memory.
    Tests pass tiny costs; stored hashes carry their parameters, so changing them later only makes
    ``needs_rehash`` true for older hashes (the account store rehashes them at the next login).
    """

    def __init__(
        self,
        *,
        time_cost: int = 3,
        memory_cost_kib: int = 65_536,
        parallelism: int = 4,
        max_concurrent: int = 2,
    ) -> None:
        self._hasher = PasswordHasher(
            time_cost=time_cost,
            memory_cost=memory_cost_kib,
            parallelism=parallelism,
            hash_len=32,
            salt_len=16,
            type=Type.ID,
        )
        self._slots = asyncio.Semaphore(max_concurrent)
        self._dummy: str | None = None

    async def hash(self, password: str) -> str:
        async with self._slots:
            return await asyncio.to_thread(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        """True when ``password`` matches; False on a mismatch or a hash that is not argon2."""
        async with self._slots:
            return await asyncio.to_thread(self._verify, password_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters than the current ones."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except (InvalidHashError, ValueError):
            return True

    async def verify_dummy(self, password: str) -> None:
        """Spend what a real ``verify`` spends, on a hash no password matches: an unknown name must take
        as long as a wrong password, or response times would tell which names exist."""
        if self._dummy is None:
            self._dummy = await self.hash(secrets.token_urlsafe(24))
        await self.verify(self._dummy, password)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False
