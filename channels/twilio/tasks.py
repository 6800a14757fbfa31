"""Dialogue turns and side jobs that outlive the webhook that started them, tracked per call.

A turn whose reply is not ready within the filler budget keeps running here while Twilio speaks a
filler and redirects to ``/twilio/voice/answer``, which collects it. Every task belongs to a call,
is cancelled when the call ends or when it is abandoned for longer than ``ttl``, and all are
cancelled on shutdown. Nothing here outlives the process, so a redirect must reach the worker that
started the turn (run one worker per phone deployment, or route by CallSid).
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Coroutine
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from assistant.core.clock import Clock
from assistant.core.replies import Reply

_logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Ready:
    reply: Reply


@dataclass(frozen=True, slots=True)
class Failed:
    error_type: str


@dataclass(frozen=True, slots=True)
class Waiting:
    pass


@dataclass(frozen=True, slots=True)
class Unknown:
    pass


TurnOutcome = Ready | Failed | Waiting | Unknown


@dataclass(frozen=True, slots=True)
class _Tracked:
    call_sid: str
    started_at: datetime
    task: asyncio.Task[Any]
    is_turn: bool


class CallTasks:
    """Background tasks of calls: turns (whose reply is collected) and fire-and-forget jobs."""

    def __init__(self, clock: Clock, *, ttl: timedelta = timedelta(minutes=5)) -> None:
        self._clock = clock
        self._ttl = ttl
        self._tracked: dict[str, _Tracked] = {}

    def start_turn(self, call_sid: str, work: Coroutine[Any, Any, Reply]) -> str:
        """Run ``work`` in the background; returns the turn id that ``wait`` collects it with."""
        return self._track(call_sid, work, is_turn=True, what="turn")

    def spawn(self, call_sid: str, work: Coroutine[Any, Any, None], what: str) -> None:
        """Run a side job (an SMS, a call-ended notice); its failure is logged, never raised."""
        self._track(call_sid, work, is_turn=False, what=what)

    async def wait(self, turn_id: str, call_sid: str, within: timedelta) -> TurnOutcome:
        """The turn's reply if it is ready within ``within`` (then it is forgotten), else Waiting."""
        tracked = self._tracked.get(turn_id)
        if tracked is None or not tracked.is_turn or tracked.call_sid != call_sid:
            return Unknown()
        if not tracked.task.done():
            await asyncio.wait({tracked.task}, timeout=max(within.total_seconds(), 0.0))
        if not tracked.task.done():
            return Waiting()
        del self._tracked[turn_id]
        if tracked.task.cancelled():
            return Failed("CancelledError")
        error = tracked.task.exception()
        if error is not None:
            return Failed(type(error).__name__)
        reply = tracked.task.result()
        if not isinstance(reply, Reply):
            return Failed(type(reply).__name__)
        return Ready(reply)

    def detach(self, turn_id: str) -> None:
        """Nobody will collect this turn's reply: let it finish as a side job."""
        tracked = self._tracked.get(turn_id)
        if tracked is None:
            return
        if tracked.task.done():
            del self._tracked[turn_id]
        else:
            self._tracked[turn_id] = replace(tracked, is_turn=False)

    def cancel(self, turn_id: str) -> None:
        tracked = self._tracked.pop(turn_id, None)
        if tracked is not None:
            tracked.task.cancel()

    def cancel_call(self, call_sid: str) -> None:
        """Cancel the call's turns (nobody is listening any more); its side jobs finish."""
        for task_id, tracked in list(self._tracked.items()):
            if tracked.call_sid == call_sid and tracked.is_turn:
                self.cancel(task_id)

    @property
    def running(self) -> int:
        return sum(1 for tracked in self._tracked.values() if not tracked.task.done())

    async def aclose(self) -> None:
        """Cancel everything still running and wait for it to unwind."""
        tasks = [tracked.task for tracked in self._tracked.values()]
        self._tracked.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def _track(self, call_sid: str, work: Coroutine[Any, Any, Any], *, is_turn: bool, what: str) -> str:
        self._expire()
        task_id = secrets.token_urlsafe(9)
        task = asyncio.get_running_loop().create_task(work, name=f"twilio-{what}-{call_sid}")
        self._tracked[task_id] = _Tracked(call_sid, self._clock.now(), task, is_turn)
        task.add_done_callback(lambda done: self._finished(task_id, call_sid, done, what))
        return task_id

    def _finished(self, task_id: str, call_sid: str, task: asyncio.Task[Any], what: str) -> None:
        tracked = self._tracked.get(task_id)
        collectable = tracked is not None and tracked.is_turn
        if tracked is not None and not collectable:
            del self._tracked[task_id]
        if task.cancelled():
            return
        error = task.exception()  # retrieved here, so an uncollected failure is never "unretrieved"
        if error is not None and not collectable:  # a collected turn's failure is the flow's to report
            _logger.warning("twilio %s failed for call %s: %s", what, call_sid, type(error).__name__)

    def _expire(self) -> None:
        cutoff = self._clock.now() - self._ttl
        for task_id, tracked in list(self._tracked.items()):
            if tracked.started_at < cutoff:
                del self._tracked[task_id]
                tracked.task.cancel()
