"""Accounts and logins of the staff who use the copilot (agents, supervisors, admins).

Passwords are never stored: only argon2id hashes. A login is a random bearer secret handed to the browser
once (as an HttpOnly cookie); the store keeps only its SHA-256, so a leaked table opens no session.
There is never a default account or password: ``dasan users create NAME --role ROLE`` makes the first.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, NewType, Protocol, get_args

from assistant.core.errors import DasanError

Role = Literal["agent", "supervisor", "admin"]
ROLES: tuple[Role, ...] = get_args(Role)
AccountId = NewType("AccountId", int)

ACCOUNT_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,63}$")
"""Account names: lowercase ASCII, 2–64 characters (they appear in audit fields, never a person's PII)."""
MIN_PASSWORD_CHARS = 10


class AccountError(DasanError):
    """An account operation was refused; the message says why (shown to the operator as is)."""


class AccountExists(AccountError):
    """``create`` with a name that is taken."""


class UnknownAccount(AccountError):
    """An operation on a name that has no account."""


class WeakPassword(AccountError):
    """The password breaks the policy (too short, or equal to the account name)."""


@dataclass(frozen=True, slots=True)
class Account:
    account_id: AccountId
    name: str
    role: Role
    created_at: datetime
    disabled: bool = False

    def may(self, needed: Role) -> bool:
        """Roles are ordered agent < supervisor < admin; a higher role may do what a lower one may."""
        return ROLES.index(self.role) >= ROLES.index(needed)


@dataclass(frozen=True, slots=True)
class Login:
    """An open login: whose it is and when it lapses (sliding: each use extends it)."""

    account: Account
    expires_at: datetime


class AccountStore(Protocol):
    """Accounts. Names are checked against ``ACCOUNT_NAME``, passwords against the policy."""

    async def create(self, name: str, role: Role, password: str) -> Account:
        """Raises ``AccountExists``, ``WeakPassword`` or ``AccountError`` (bad name)."""
        ...

    async def authenticate(self, name: str, password: str) -> Account | None:
        """The account when the password matches and it is enabled, else None. Takes the same time for
        an unknown name as for a wrong password. Rehashes when the hash parameters changed."""
        ...

    async def get(self, name: str) -> Account | None: ...

    async def list_accounts(self) -> list[Account]: ...

    async def set_password(self, name: str, password: str) -> None:
        """Raises ``UnknownAccount`` or ``WeakPassword``; closes the account's open logins."""
        ...

    async def set_disabled(self, name: str, disabled: bool) -> None:
        """Raises ``UnknownAccount``; disabling closes the account's open logins."""
        ...


class LoginStore(Protocol):
    """Server-side logins, keyed by the SHA-256 of a random secret."""

    async def open(self, account: Account) -> str:
        """A new login for ``account``; returns the secret (the only time it exists in clear)."""
        ...

    async def resolve(self, secret: str) -> Login | None:
        """The login, extended, or None when unknown, expired or its account is disabled."""
        ...

    async def close(self, secret: str) -> None: ...
