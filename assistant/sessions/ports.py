"""The session store port, and the two extra abilities a tiered store needs of its live and durable parts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from assistant.core.events import ConversationKey
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
)


class SessionStore(Protocol):
    """Conversations as append-only event logs with a version number.

    Every implementation behaves the same (tests/contract/test_session_store.py):

    - ``load`` returns an empty conversation at version 0 for a key nobody wrote to.
    - ``append`` numbers ``events`` after the last one and bumps the version by one, replacing ``state``
      and ``status`` when given. A batch with a message id the conversation already holds is a no-op with
      ``duplicate=True`` (checked first, so a retried webhook yields one turn); otherwise a version other
      than ``expected_version`` raises ``ConversationConflict`` (reload and retry once).
    - ``list_active`` lists conversations not ``closed``, most recently updated first.
    - ``purge`` deletes conversations not updated since ``older_than`` and returns how many.

    Payloads and state are JSON objects and must already be redacted: stores never see raw PII.
    Failures of the backing service raise ``StorageError``.
    """

    async def load(self, key: ConversationKey) -> Conversation: ...

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult: ...

    async def list_active(self, limit: int) -> list[ConversationSummary]: ...

    async def purge(self, older_than: datetime) -> int: ...


class LiveSessionStore(SessionStore, Protocol):
    """A fast store in front of a durable one (in memory, Redis)."""

    async def restore(self, conversation: Conversation) -> Conversation:
        """Put ``conversation`` back, at its version, unless the key already holds one; return what the
        store holds afterwards."""
        ...


class DurableSessionStore(SessionStore, Protocol):
    """The store of record behind a live store (SQL)."""

    async def mirror(self, conversation: Conversation) -> None:
        """Bring the record up to ``conversation`` (as the live store holds it): write its events past the
        last stored one, with its version, state and status. A conversation no newer than the record is
        ignored, so mirroring is idempotent and a missed write heals on the next."""
        ...
