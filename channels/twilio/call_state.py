"""Per-call state between webhooks (re-prompt count, last answer, pending SMS offers) and its store."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from assistant.core.clock import Clock
from assistant.core.replies import Citation

_SWEEP_EVERY = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class CallState:
    """One call as the phone channel remembers it. ``caller`` is PII: used for the SMS, never logged."""

    call_sid: str
    started_at: datetime
    caller: str = field(default="", repr=False)
    turns: int = 0
    misses: int = 0
    polls: int = 0
    fillers: int = 0
    last_spoken: tuple[str, ...] = ()
    sms_offer: tuple[Citation, ...] = ()
    hotline_offer: bool = False
    """The call ends after a handoff no agent could take; the caller was asked whether to get the
    hotline by SMS first."""
    emergency_guidance: tuple[str, ...] = ()
    handed_off: bool = False


class CallStateStore(Protocol):
    """Where call state lives between webhooks (in process; a shared store for several workers)."""

    async def get(self, call_sid: str) -> CallState | None: ...

    async def put(self, state: CallState) -> None: ...

    async def delete(self, call_sid: str) -> None: ...


class InMemoryCallStateStore:
    """Call state in this process, forgotten after ``max_age`` or beyond ``max_calls`` (oldest first)."""

    def __init__(
        self, clock: Clock, *, max_age: timedelta = timedelta(hours=4), max_calls: int = 10_000
    ) -> None:
        self._clock = clock
        self._max_age = max_age
        self._max_calls = max_calls
        self._calls: dict[str, CallState] = {}
        self._swept_at: datetime | None = None

    async def get(self, call_sid: str) -> CallState | None:
        return self._calls.get(call_sid)

    async def put(self, state: CallState) -> None:
        self._calls.pop(state.call_sid, None)
        self._calls[state.call_sid] = state
        self._evict()

    async def delete(self, call_sid: str) -> None:
        self._calls.pop(call_sid, None)

    def __len__(self) -> int:
        return len(self._calls)

    def _evict(self) -> None:
        now = self._clock.now()
        if self._swept_at is None or now - self._swept_at >= _SWEEP_EVERY:
            self._swept_at = now
            cutoff = now - self._max_age
            stale = [sid for sid, state in self._calls.items() if state.started_at < cutoff]
            for sid in stale:
                del self._calls[sid]
        while len(self._calls) > self._max_calls:
            del self._calls[next(iter(self._calls))]
