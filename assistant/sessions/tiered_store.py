"""TieredSessionStore: a live store (memory, Redis) in front of a durable one (SQL), written through."""

from __future__ import annotations

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


class TieredSessionStore:
    """Reads from ``live`` and falls back to ``durable`` (putting what it finds back into ``live``).

    Appends are decided by ``live`` (the version check and deduplication), then written through to
    ``durable`` synchronously with ``mirror``, before ``append`` returns. A failed write-through is logged,
    not raised: the turn already happened, and the next mirror of that conversation fills the gap.
    ``list_active`` and ``purge`` go to ``durable``, which survives restarts; ``purge`` clears ``live`` too.
    """

    def __init__(self, live: LiveSessionStore, durable: DurableSessionStore) -> None:
        self._live = live
        self._durable = durable
        self.write_through_failures = 0

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
        if expected_version == 0:
            # A caller that believes the conversation is new must not start it over in live while
            # the durable record (say, after live's TTL) holds it: hydrate, so the check sees it.
            await self.load(key)
        result = await self._live.append(key, expected_version, events, state=state, status=status)
        try:
            await self._durable.mirror(result.conversation)
        except StorageError as exc:
            self.write_through_failures += 1
            _log.warning(
                "session write-through failed channel=%s version=%d: %s",
                key.channel,
                result.conversation.version,
                exc,
            )
        return result

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        return await self._durable.list_active(limit)

    async def purge(self, older_than: datetime) -> int:
        purged = await self._durable.purge(older_than)
        await self._live.purge(older_than)
        return purged
