"""TurnTimingLog: a bounded record of recent turn timings, looked up by message id and summarised."""

from __future__ import annotations

from collections import OrderedDict, deque
from dataclasses import dataclass

from assistant.core.events import ConversationKey, MessageId
from assistant.dialogue.manager_ports import TurnTiming


@dataclass(frozen=True, slots=True)
class TimingSummary:
    """Percentiles of the manager's own time per turn (answer pipeline excluded), in milliseconds."""

    turns: int
    p50_ms: float
    p95_ms: float
    max_ms: float


def percentile(values: list[float], q: float) -> float:
    """The nearest-rank percentile ``q`` (0..100) of ``values`` (0.0 when empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


class TurnTimingLog:
    """A ``TurnObserver`` keeping the last ``capacity`` timings; ``take`` pops one by conversation and
    message id (the HTTP layer turns it into a ``Server-Timing`` header)."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._recent: deque[TurnTiming] = deque(maxlen=capacity)
        self._by_message: OrderedDict[tuple[ConversationKey, MessageId], TurnTiming] = OrderedDict()
        self._capacity = capacity

    def turn_done(self, timing: TurnTiming) -> None:
        self._recent.append(timing)
        self._by_message[timing.key, timing.message_id] = timing
        while len(self._by_message) > self._capacity:
            self._by_message.popitem(last=False)

    def take(self, key: ConversationKey, message_id: MessageId) -> TurnTiming | None:
        return self._by_message.pop((key, message_id), None)

    def summary(self) -> TimingSummary:
        own = [t.dialogue_ms for t in self._recent]
        return TimingSummary(
            turns=len(own),
            p50_ms=percentile(own, 50),
            p95_ms=percentile(own, 95),
            max_ms=max(own, default=0.0),
        )
