"""In-process deduplication: the same user + utterance inside a short window is one turn.

Kakao's payload has no request id, so a double-sent message (or a re-delivery) looks like a new
request. ``RecentTurns`` maps a payload fingerprint to the running turn for ``window`` after its first
receipt; a later delivery joins that turn instead of starting another. It lives in one process: with
several workers, the derived ``UserTurn.message_id`` lets the shared (Redis) session store make the
dialogue idempotent as well. ``UsedCallbacks`` remembers callbackUrls already taken, because each is
single-use.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from assistant.core.clock import Clock
from assistant.core.events import UserTurn
from assistant.core.replies import Reply


@dataclass(frozen=True, slots=True)
class RunningTurn:
    """One dialogue turn shared by every delivery of the same message."""

    turn: UserTurn
    task: asyncio.Task[Reply]
    correlation_id: str
    expires_at: datetime


class RecentTurns:
    """Fingerprint → the turn started for it, forgotten ``window`` after the first delivery."""

    def __init__(self, clock: Clock, window: timedelta) -> None:
        self._clock = clock
        self._window = window
        self._entries: OrderedDict[str, RunningTurn] = OrderedDict()

    def find(self, fingerprint: str) -> RunningTurn | None:
        self._expire()
        return self._entries.get(fingerprint)

    def remember(
        self, fingerprint: str, turn: UserTurn, task: asyncio.Task[Reply], correlation_id: str
    ) -> RunningTurn:
        entry = RunningTurn(turn, task, correlation_id, self._clock.now() + self._window)
        self._entries[fingerprint] = entry
        self._entries.move_to_end(fingerprint)
        return entry

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def _expire(self) -> None:
        now = self._clock.now()
        while self._entries:
            fingerprint, entry = next(iter(self._entries.items()))
            if entry.expires_at > now:
                break
            del self._entries[fingerprint]


class UsedCallbacks:
    """callbackUrls already claimed by a delivery, kept until their window has surely closed."""

    def __init__(self, clock: Clock, ttl: timedelta) -> None:
        self._clock = clock
        self._ttl = ttl
        self._claimed: OrderedDict[str, datetime] = OrderedDict()

    def claim(self, url: str) -> bool:
        """True the first time ``url`` is seen (within ``ttl``), False for a reuse."""
        now = self._clock.now()
        while self._claimed and next(iter(self._claimed.values())) <= now:
            self._claimed.popitem(last=False)
        if url in self._claimed:
            return False
        self._claimed[url] = now + self._ttl
        return True
