"""WriteBehindSessionStore: a live store in front of a durable one, with the durable writes taken off
the turn's path and done by background writers.

Decision: ``TieredSessionStore`` mirrors every append to SQL before it returns, which put 5 ms (SQLite)
to 16 ms (PostgreSQL) of database round trips into every turn and, with 200 conversations at once,
queued turns behind SQLite's single writer for up to a second. Here the live store decides each append
(version check, deduplication) exactly as before and the conversation is queued for ``mirror``; queued
versions of one conversation coalesce (a mirror writes every event past the stored one), one
conversation is never mirrored by two writers at once, and ``aclose`` drains the queue. The record
lags the live store by the queue's length (milliseconds), and a crash loses at most that lag; a failed
mirror is logged and heals on the conversation's next append, as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from assistant.core.errors import StorageError
from assistant.core.events import ConversationKey
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
)
from assistant.sessions.ports import DurableSessionStore, LiveSessionStore

_log = logging.getLogger(__name__)


class WriteBehindSessionStore:
    """Reads from ``live`` (falling back to ``durable`` and putting what it finds back); appends go to
    ``live`` and are mirrored to ``durable`` by ``writers`` background tasks (1 for SQLite, whose writes
    serialise anyway; a few for PostgreSQL). ``list_active`` reads ``durable``; ``purge`` drains the
    queue first and purges both. Callers append at a version they loaded through this store (the
    manager always does), so a new conversation's durable record was already looked up."""

    def __init__(self, live: LiveSessionStore, durable: DurableSessionStore, *, writers: int = 1) -> None:
        self._live = live
        self._durable = durable
        self._writers = max(1, writers)
        self._pending: dict[ConversationKey, Conversation] = {}
        self._in_flight: set[ConversationKey] = set()
        self._wakeup = asyncio.Condition()
        self._tasks: list[asyncio.Task[None]] = []
        self._closed = False
        self.mirror_failures = 0
        self.mirrored = 0

    async def load(self, key: ConversationKey) -> Conversation:
        live = await self._live.load(key)
        if live.version > 0:
            return live
        durable = await self._durable.load(key)
        if durable.version == 0:
            return live
        return await self._live.restore(durable)

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        result = await self._live.append(key, expected_version, events, state=state, status=status)
        if not result.duplicate:
            await self._enqueue(result.conversation)
        return result

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        return await self._durable.list_active(limit)

    async def purge(self, older_than: datetime) -> int:
        await self.flush()
        purged = await self._durable.purge(older_than)
        await self._live.purge(older_than)
        return purged

    @property
    def backlog(self) -> int:
        """Conversations waiting for, or in, a durable write."""
        return len(self._pending) + len(self._in_flight)

    async def flush(self) -> None:
        """Return once every append made so far is in the durable store (or failed to get there)."""
        async with self._wakeup:
            await self._wakeup.wait_for(lambda: not self._pending and not self._in_flight)

    async def aclose(self) -> None:
        """Drain the queue, then stop the writers."""
        if not self._tasks:
            return
        await self.flush()
        self._closed = True
        async with self._wakeup:
            self._wakeup.notify_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def _enqueue(self, conversation: Conversation) -> None:
        if self._closed:
            await self._mirror(conversation)  # shutting down: write it now rather than drop it
            return
        if not self._tasks:
            self._tasks = [asyncio.create_task(self._writer()) for _ in range(self._writers)]
        async with self._wakeup:
            queued = self._pending.get(conversation.key)
            if queued is None or queued.version < conversation.version:
                self._pending[conversation.key] = conversation
            self._wakeup.notify()

    async def _writer(self) -> None:
        while True:
            async with self._wakeup:
                await self._wakeup.wait_for(lambda: self._closed or self._ready() is not None)
                key = self._ready()
                if key is None:
                    return
                conversation = self._pending.pop(key)
                self._in_flight.add(key)
            try:
                await self._mirror(conversation)
            finally:
                async with self._wakeup:
                    self._in_flight.discard(key)
                    self._wakeup.notify_all()

    def _ready(self) -> ConversationKey | None:
        return next((key for key in self._pending if key not in self._in_flight), None)

    async def _mirror(self, conversation: Conversation) -> None:
        try:
            await self._durable.mirror(conversation)
            self.mirrored += 1
        except StorageError as exc:
            self.mirror_failures += 1
            _log.warning(
                "session write-behind failed channel=%s version=%d: %s",
                conversation.key.channel,
                conversation.version,
                exc,
            )
        except Exception:  # a writer task must survive anything one conversation throws at it
            self.mirror_failures += 1
            _log.exception("session write-behind crashed channel=%s", conversation.key.channel)
