"""What the copilot needs from the rest of dasan, as ports (``assistant.app.services.Services`` and
``assistant.accounts.throttle.LoginThrottle`` fit them)."""

from __future__ import annotations

from datetime import timedelta
from typing import Protocol

from assistant.accounts.ports import AccountStore, LoginStore
from assistant.sessions.feedback import FeedbackStore
from assistant.sessions.ports import SessionStore


class CopilotStores(Protocol):
    """The stores, opened on first use (the app's services open them lazily)."""

    async def sessions(self) -> SessionStore: ...

    async def accounts(self) -> AccountStore: ...

    async def logins(self) -> LoginStore: ...

    async def feedback(self) -> FeedbackStore: ...


class LoginGate(Protocol):
    """Failed-login throttling per account name."""

    def retry_after(self, name: str) -> timedelta | None:
        """How long ``name`` stays blocked, or None when it may try now."""
        ...

    def failed(self, name: str) -> None: ...

    def succeeded(self, name: str) -> None: ...
