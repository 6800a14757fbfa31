"""InMemorySessionStore: the default live store, one process, an asyncio lock per conversation."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from assistant.core.clock import Clock
from assistant.core.events import ConversationKey
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
    apply_append,
)


class InMemorySessionStore:
    """Conversations in a dict. Nothing survives a restart; put a durable store behind it for that."""

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._conversations: dict[ConversationKey, Conversation] = {}
        self._locks: dict[ConversationKey, asyncio.Lock] = {}

    async def load(self, key: ConversationKey) -> Conversation:
        return self._conversations.get(key) or Conversation.new(key)

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        async with self._locks.setdefault(key, asyncio.Lock()):
            current = self._conversations.get(key) or Conversation.new(key)
            result = apply_append(
                current, expected_version, events, state=state, status=status, now=self._clock.now()
            )
            if not result.duplicate:
                self._conversations[key] = result.conversation
            return result

    async def restore(self, conversation: Conversation) -> Conversation:
        async with self._locks.setdefault(conversation.key, asyncio.Lock()):
            current = self._conversations.get(conversation.key)
            if current is not None:
                return current
            self._conversations[conversation.key] = conversation
            return conversation

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        active = [
            ConversationSummary(
                key=c.key, status=c.status, version=c.version, last_text=c.last_text, updated_at=updated_at
            )
            for c in self._conversations.values()
            if c.status != "closed" and (updated_at := c.updated_at) is not None
        ]
        active.sort(key=lambda summary: summary.updated_at, reverse=True)
        return active[: max(0, limit)]

    async def purge(self, older_than: datetime) -> int:
        stale = [
            key
            for key, conversation in self._conversations.items()
            if conversation.updated_at is not None and conversation.updated_at < older_than
        ]
        for key in stale:
            del self._conversations[key]
            lock = self._locks.get(key)
            if lock is not None and not lock.locked():
                del self._locks[key]
        return len(stale)
