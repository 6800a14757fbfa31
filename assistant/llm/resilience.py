"""ResilientLLM: bounded retries within the request deadline, and a circuit breaker, around an LLMClient."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from assistant.core.clock import Clock
from assistant.core.errors import LLMCircuitOpen, LLMError, LLMTimeout, LLMUnavailable
from assistant.llm.ports import ChatRequest, Completion, LLMClient, LLMHealth, TokenDelta

_log = logging.getLogger(__name__)

Sleep = Callable[[timedelta], Awaitable[None]]
"""Waits for a duration; injected so tests never really sleep."""


async def asyncio_sleep(delay: timedelta) -> None:
    """The real ``Sleep``."""
    await asyncio.sleep(delay.total_seconds())


class BreakerState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half_open"


class CircuitBreaker:
    """Closed → open after ``failure_threshold`` consecutive failures → half-open once ``reset_after``
    has passed on ``clock``, when exactly one trial call may go through: its success closes the breaker,
    its failure opens it for another ``reset_after``."""

    def __init__(self, *, failure_threshold: int, reset_after: timedelta, clock: Clock) -> None:
        if failure_threshold < 1:
            raise ValueError("failure_threshold must be at least 1")
        self._threshold = failure_threshold
        self._reset_after = reset_after
        self._clock = clock
        self._failures = 0
        self._opened_at: datetime | None = None
        self._trial_in_flight = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._clock.now() - self._opened_at >= self._reset_after:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def acquire(self) -> bool:
        """Admit one call or raise ``LLMCircuitOpen``. Returns True when the call is the half-open trial."""
        match self.state:
            case BreakerState.CLOSED:
                return False
            case BreakerState.HALF_OPEN if not self._trial_in_flight:
                self._trial_in_flight = True
                return True
            case _:
                raise LLMCircuitOpen(
                    f"circuit open after {self._failures} consecutive failures; "
                    f"retrying after {self._reset_after.total_seconds():g}s"
                )

    def record_success(self, trial: bool) -> None:
        self._failures = 0
        self._opened_at = None
        if trial:
            self._trial_in_flight = False

    def record_failure(self, trial: bool) -> None:
        self._failures += 1
        if trial:
            self._trial_in_flight = False
            self._opened_at = self._clock.now()
        elif self._opened_at is None and self._failures >= self._threshold:
            self._opened_at = self._clock.now()
            _log.warning("LLM circuit opened after %d consecutive failures", self._failures)

    def release(self, trial: bool) -> None:
        """The call was abandoned (cancelled) without telling anything about the server."""
        if trial:
            self._trial_in_flight = False


@dataclass(frozen=True, slots=True)
class Backoff:
    """Exponential backoff with equal jitter: retry n waits between half and all of
    ``min(maximum, initial * multiplier**(n-1))``."""

    initial: timedelta = timedelta(milliseconds=250)
    maximum: timedelta = timedelta(seconds=4)
    multiplier: float = 2.0

    def delay(self, retry: int, rng: random.Random) -> timedelta:
        ceiling = min(self.maximum, self.initial * self.multiplier ** (retry - 1))
        return ceiling / 2 + ceiling / 2 * rng.random()


class ResilientLLM:
    """An ``LLMClient`` that retries the inner client's retryable errors with backoff, never past the
    request's deadline (``ChatRequest.timeout``, measured on ``clock``): each attempt gets only the time
    that is left, and a backoff that would cross the deadline ends the call with the last error. A
    stream is retried only while it has not yielded a delta. The breaker is consulted before every
    attempt; when it is open the call fails fast with ``LLMCircuitOpen``.
    """

    def __init__(
        self,
        inner: LLMClient,
        *,
        max_attempts: int,
        breaker: CircuitBreaker,
        clock: Clock,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio_sleep,
        rng: random.Random | None = None,
    ) -> None:
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self._inner = inner
        self._max_attempts = max_attempts
        self._breaker = breaker
        self._clock = clock
        self._backoff = backoff or Backoff()
        self._sleep = sleep
        self._rng = rng or random.Random()

    @property
    def model(self) -> str:
        return self._inner.model

    @property
    def breaker(self) -> CircuitBreaker:
        return self._breaker

    async def complete(self, request: ChatRequest) -> Completion:
        deadline = self._clock.now() + request.timeout
        attempt = 0
        last: LLMError | None = None
        while True:
            attempt += 1
            attempt_request = self._attempt_request(request, deadline, last)
            trial = self._acquire(last)
            try:
                result = await self._inner.complete(attempt_request)
            except LLMError as exc:
                self._settle(exc, trial)
                await self._pause_or_raise(exc, attempt, deadline)
                last = exc
                continue
            except BaseException:
                self._breaker.release(trial)
                raise
            self._breaker.record_success(trial)
            return result

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        deadline = self._clock.now() + request.timeout
        attempt = 0
        last: LLMError | None = None
        while True:
            attempt += 1
            attempt_request = self._attempt_request(request, deadline, last)
            trial = self._acquire(last)
            received = False
            inner = self._inner.stream(attempt_request)
            try:
                async for item in inner:
                    received = True
                    yield item
            except LLMError as exc:
                self._settle(exc, trial)
                if received:
                    raise  # the caller has seen text: retrying would repeat it
                await self._pause_or_raise(exc, attempt, deadline)
                last = exc
                continue
            except BaseException:
                # Cancelled, or the consumer stopped early: a server that already answered is healthy.
                if received:
                    self._breaker.record_success(trial)
                else:
                    self._breaker.release(trial)
                raise
            finally:
                await _close(inner)
            self._breaker.record_success(trial)
            return

    async def health(self) -> LLMHealth:
        health = await self._inner.health()
        state = self._breaker.state
        if state is BreakerState.CLOSED:
            return health
        return LLMHealth(ok=health.ok, detail=f"{health.detail}; circuit {state}")

    def _attempt_request(
        self, request: ChatRequest, deadline: datetime, last: LLMError | None
    ) -> ChatRequest:
        remaining = deadline - self._clock.now()
        if remaining <= timedelta(0):
            raise LLMTimeout(f"deadline of {request.timeout.total_seconds():g}s passed") from last
        return replace(request, timeout=remaining)

    def _acquire(self, last: LLMError | None) -> bool:
        try:
            return self._breaker.acquire()
        except LLMCircuitOpen as exc:
            if last is None:
                raise
            raise exc from last

    def _settle(self, error: LLMError, trial: bool) -> None:
        if error.retryable:
            self._breaker.record_failure(trial)
        elif isinstance(error, LLMCircuitOpen):
            self._breaker.release(trial)
        else:
            self._breaker.record_success(trial)  # a 4xx answer: the server itself is up

    async def _pause_or_raise(self, error: LLMError, attempt: int, deadline: datetime) -> None:
        """Sleep before the next attempt, or re-raise ``error`` when no retry is allowed or fits."""
        if not error.retryable or attempt >= self._max_attempts:
            raise error
        delay = self._backoff.delay(attempt, self._rng)
        if isinstance(error, LLMUnavailable) and error.retry_after is not None:
            delay = max(delay, error.retry_after)
        if self._clock.now() + delay >= deadline:
            raise error
        _log.warning(
            "LLM attempt %d/%d failed (%s); retrying in %.3fs",
            attempt,
            self._max_attempts,
            type(error).__name__,
            delay.total_seconds(),
        )
        await self._sleep(delay)


async def _close(stream: AsyncIterator[TokenDelta | Completion]) -> None:
    aclose = getattr(stream, "aclose", None)
    if aclose is not None:
        await aclose()
