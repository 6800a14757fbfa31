"""How a call ended, for whoever records call outcomes (statistics, follow-up, check-in retries)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from assistant.core.events import ConversationKey

TERMINAL_STATUSES = frozenset({"completed", "busy", "failed", "no-answer", "canceled"})
"""``CallStatus`` values after which Twilio sends nothing more for the call."""


@dataclass(frozen=True, slots=True)
class CallOutcome:
    """One finished call: Twilio's final ``CallStatus``, its duration and what the assistant did."""

    key: ConversationKey
    status: str
    ended_at: datetime
    duration: timedelta | None
    turns: int
    handed_off: bool


class CallOutcomeSink(Protocol):
    """Records finished calls; called in the background, so it may take its time."""

    async def record(self, outcome: CallOutcome) -> None: ...
