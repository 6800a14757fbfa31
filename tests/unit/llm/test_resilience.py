"""ResilientLLM and CircuitBreaker: retries, the deadline, backoff and breaker states, on a FakeClock."""

from __future__ import annotations

import asyncio
import itertools
import random
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import (
    LLMBadRequest,
    LLMCircuitOpen,
    LLMContextLength,
    LLMError,
    LLMStreamInterrupted,
    LLMTimeout,
    LLMUnavailable,
)
from assistant.llm.ports import ChatMessage, ChatRequest, Completion, LLMHealth, TokenDelta, Usage
from assistant.llm.resilience import Backoff, BreakerState, CircuitBreaker, ResilientLLM

pytestmark = pytest.mark.anyio

REQUEST = ChatRequest(messages=(ChatMessage("user", "주차 요금은?"),), timeout=timedelta(seconds=10))
DONE = Completion(text="안녕하세요", model="m", finish_reason="stop", usage=Usage(3, 2))


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass(frozen=True)
class Outcome:
    """One scripted call: it takes ``takes`` on the clock, yields ``items``, then raises ``error`` if set.
    With ``gate`` it sets ``started`` and waits for ``gate`` first (to hold a call in flight)."""

    items: tuple[TokenDelta | Completion, ...] = (DONE,)
    error: LLMError | None = None
    takes: timedelta = timedelta(0)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)


def fails(error: LLMError, takes: timedelta = timedelta(0)) -> Outcome:
    return Outcome(items=(), error=error, takes=takes)


@dataclass
class ScriptedLLM:
    """Replays outcomes in order and records the requests it got; ``used_up`` says the script ran out."""

    clock: FakeClock
    outcomes: deque[Outcome]
    requests: list[ChatRequest] = field(default_factory=list)
    closed_streams: int = 0

    @property
    def model(self) -> str:
        return "m"

    @property
    def used_up(self) -> bool:
        return not self.outcomes

    async def _begin(self, request: ChatRequest) -> Outcome:
        assert self.outcomes, "ScriptedLLM called more often than scripted"
        self.requests.append(request)
        outcome = self.outcomes.popleft()
        outcome.started.set()
        if outcome.gate is not None:
            await outcome.gate.wait()
        self.clock.advance(min(outcome.takes, request.timeout))  # a real client honours its budget
        return outcome

    async def complete(self, request: ChatRequest) -> Completion:
        outcome = await self._begin(request)
        if outcome.error is not None:
            raise outcome.error
        final = outcome.items[-1]
        assert isinstance(final, Completion)
        return final

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        outcome = await self._begin(request)
        try:
            for item in outcome.items:
                yield item
            if outcome.error is not None:
                raise outcome.error
        finally:
            self.closed_streams += 1

    async def health(self) -> LLMHealth:
        return LLMHealth(ok=True, detail="scripted")


@dataclass
class RecordingSleep:
    """Records each requested sleep and moves the fake clock instead of waiting."""

    clock: FakeClock
    delays: list[timedelta] = field(default_factory=list)

    async def __call__(self, delay: timedelta) -> None:
        self.delays.append(delay)
        self.clock.advance(delay)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sleep(clock: FakeClock) -> RecordingSleep:
    return RecordingSleep(clock)


def build(
    clock: FakeClock,
    sleep: RecordingSleep,
    *outcomes: Outcome,
    max_attempts: int = 3,
    threshold: int = 100,
    reset_after: timedelta = timedelta(seconds=30),
) -> tuple[ResilientLLM, ScriptedLLM]:
    inner = ScriptedLLM(clock, deque(outcomes))
    breaker = CircuitBreaker(failure_threshold=threshold, reset_after=reset_after, clock=clock)
    llm = ResilientLLM(
        inner,
        max_attempts=max_attempts,
        breaker=breaker,
        clock=clock,
        backoff=Backoff(initial=timedelta(milliseconds=200), maximum=timedelta(seconds=1)),
        sleep=sleep,
        rng=random.Random(7),
    )
    return llm, inner


async def collect(stream: AsyncIterator[TokenDelta | Completion]) -> list[TokenDelta | Completion]:
    return [item async for item in stream]


# -- retries -------------------------------------------------------------------------------------------


async def test_retryable_errors_are_retried_with_growing_jittered_backoff(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(clock, sleep, fails(LLMUnavailable("503")), fails(LLMTimeout("slow")), Outcome())

    assert await llm.complete(REQUEST) == DONE
    assert inner.used_up
    assert len(sleep.delays) == 2
    first, second = sleep.delays
    assert timedelta(milliseconds=100) <= first <= timedelta(milliseconds=200)
    assert timedelta(milliseconds=200) <= second <= timedelta(milliseconds=400)


async def test_backoff_is_capped_at_its_maximum() -> None:
    backoff = Backoff(initial=timedelta(seconds=1), maximum=timedelta(seconds=3))
    rng = random.Random(1)
    delays = [backoff.delay(retry, rng) for retry in range(1, 8)]
    assert all(timedelta(0) < d <= timedelta(seconds=3) for d in delays)
    assert max(delays[4:]) >= timedelta(seconds=1.5)


@pytest.mark.parametrize("error", [LLMContextLength("too long"), LLMBadRequest("bad", status=422)])
async def test_non_retryable_errors_are_raised_at_once(
    clock: FakeClock, sleep: RecordingSleep, error: LLMError
) -> None:
    llm, inner = build(clock, sleep, fails(error))

    with pytest.raises(type(error)) as raised:
        await llm.complete(REQUEST)
    assert raised.value is error
    assert inner.used_up and not sleep.delays


async def test_attempts_are_bounded(clock: FakeClock, sleep: RecordingSleep) -> None:
    llm, inner = build(clock, sleep, *[fails(LLMUnavailable(f"503 #{i}")) for i in range(3)])

    with pytest.raises(LLMUnavailable, match="503 #2"):
        await llm.complete(REQUEST)
    assert inner.used_up
    assert len(sleep.delays) == 2


async def test_every_attempt_gets_only_what_is_left_of_the_deadline(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    script = [fails(LLMTimeout("slow"), takes=timedelta(seconds=3)) for _ in range(10)]
    llm, inner = build(clock, sleep, *script, max_attempts=10)
    start = clock.now()

    with pytest.raises(LLMTimeout):
        await llm.complete(REQUEST)

    budgets = [r.timeout for r in inner.requests]
    assert budgets[0] == REQUEST.timeout
    assert all(later < earlier for earlier, later in itertools.pairwise(budgets))
    assert all(b > timedelta(0) for b in budgets)
    assert 1 < len(inner.requests) < 10  # the deadline, not max_attempts, ended it
    assert clock.now() - start <= REQUEST.timeout  # never slept past the deadline


async def test_a_backoff_that_would_cross_the_deadline_is_not_slept(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(
        clock, sleep, fails(LLMUnavailable("503"), takes=timedelta(seconds=9.99)), Outcome(), max_attempts=5
    )

    with pytest.raises(LLMUnavailable):
        await llm.complete(REQUEST)
    assert sleep.delays == []
    assert len(inner.requests) == 1


async def test_retry_after_from_the_server_stretches_the_backoff(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    hint = timedelta(seconds=2)
    llm, _ = build(clock, sleep, fails(LLMUnavailable("429", retry_after=hint)), Outcome())

    assert await llm.complete(REQUEST) == DONE
    assert sleep.delays == [hint]


async def test_retry_after_beyond_the_deadline_gives_up_without_sleeping(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(
        clock, sleep, fails(LLMUnavailable("429", retry_after=timedelta(seconds=60))), Outcome()
    )

    with pytest.raises(LLMUnavailable, match="429"):
        await llm.complete(REQUEST)
    assert sleep.delays == [] and not inner.used_up


# -- streams -------------------------------------------------------------------------------------------


async def test_a_stream_that_fails_before_any_delta_is_retried(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    ok = Outcome(items=(TokenDelta("안녕"), TokenDelta("하세요"), DONE))
    llm, inner = build(clock, sleep, fails(LLMUnavailable("connect")), ok)

    items = await collect(llm.stream(REQUEST))

    assert items == [TokenDelta("안녕"), TokenDelta("하세요"), DONE]
    assert inner.used_up and len(sleep.delays) == 1


async def test_a_stream_that_breaks_after_a_delta_is_not_retried(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    broken = Outcome(items=(TokenDelta("안녕"),), error=LLMStreamInterrupted("dropped"))
    llm, inner = build(clock, sleep, broken, Outcome(items=(TokenDelta("다시"), DONE)))
    seen: list[TokenDelta | Completion] = []

    with pytest.raises(LLMStreamInterrupted) as raised:
        async for item in llm.stream(REQUEST):
            seen.append(item)

    assert raised.value.retryable  # the caller may decide to try again, knowing it saw text
    assert seen == [TokenDelta("안녕")]
    assert len(inner.requests) == 1 and not sleep.delays


async def test_a_stream_stopped_early_closes_the_inner_stream(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(clock, sleep, Outcome(items=(TokenDelta("a"), TokenDelta("b"), DONE)))

    stream = llm.stream(REQUEST)
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]

    assert inner.closed_streams == 1
    assert llm.breaker.state is BreakerState.CLOSED


# -- the circuit breaker -------------------------------------------------------------------------------


async def test_breaker_opens_after_consecutive_failures_and_fails_fast(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(
        clock, sleep, fails(LLMUnavailable("1")), fails(LLMUnavailable("2")), threshold=2, max_attempts=1
    )
    for _ in range(2):
        with pytest.raises(LLMUnavailable):
            await llm.complete(REQUEST)

    with pytest.raises(LLMCircuitOpen) as raised:
        await llm.complete(REQUEST)

    assert not raised.value.retryable
    assert llm.breaker.state is BreakerState.OPEN
    assert len(inner.requests) == 2
    assert "circuit open" in (await llm.health()).detail


async def test_breaker_opening_mid_call_stops_the_retries(clock: FakeClock, sleep: RecordingSleep) -> None:
    llm, inner = build(
        clock, sleep, fails(LLMUnavailable("1")), fails(LLMUnavailable("2")), Outcome(), threshold=2
    )

    with pytest.raises(LLMCircuitOpen) as raised:
        await llm.complete(REQUEST)

    assert isinstance(raised.value.__cause__, LLMUnavailable)
    assert len(inner.requests) == 2


async def test_half_open_admits_one_trial_whose_success_closes(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    gate = asyncio.Event()
    held = Outcome(gate=gate)
    llm, inner = build(
        clock,
        sleep,
        fails(LLMUnavailable("down")),
        held,
        threshold=1,
        max_attempts=1,
        reset_after=timedelta(seconds=30),
    )
    with pytest.raises(LLMUnavailable):
        await llm.complete(REQUEST)
    clock.advance(timedelta(seconds=29))
    with pytest.raises(LLMCircuitOpen):
        await llm.complete(REQUEST)

    clock.advance(timedelta(seconds=1))
    assert llm.breaker.state is BreakerState.HALF_OPEN
    trial = asyncio.create_task(llm.complete(REQUEST))
    await held.started.wait()
    with pytest.raises(LLMCircuitOpen):
        await llm.complete(REQUEST)  # a second caller while the trial is in flight
    gate.set()

    assert await trial == DONE
    assert llm.breaker.state is BreakerState.CLOSED
    assert inner.used_up


async def test_half_open_trial_failure_reopens_for_another_period(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, inner = build(
        clock,
        sleep,
        fails(LLMUnavailable("a")),
        fails(LLMTimeout("b")),
        Outcome(),
        threshold=1,
        max_attempts=1,
    )
    with pytest.raises(LLMUnavailable):
        await llm.complete(REQUEST)
    clock.advance(timedelta(seconds=30))
    with pytest.raises(LLMTimeout):
        await llm.complete(REQUEST)

    assert llm.breaker.state is BreakerState.OPEN
    clock.advance(timedelta(seconds=30))
    assert await llm.complete(REQUEST) == DONE
    assert inner.used_up


async def test_client_errors_do_not_count_against_the_breaker(
    clock: FakeClock, sleep: RecordingSleep
) -> None:
    llm, _ = build(
        clock,
        sleep,
        fails(LLMUnavailable("a")),
        fails(LLMContextLength("long")),
        fails(LLMUnavailable("b")),
        Outcome(),
        threshold=2,
        max_attempts=1,
    )
    for expected in (LLMUnavailable, LLMContextLength, LLMUnavailable):
        with pytest.raises(expected):
            await llm.complete(REQUEST)

    assert llm.breaker.state is BreakerState.CLOSED
    assert await llm.complete(REQUEST) == DONE


async def test_a_cancelled_trial_frees_the_half_open_slot(clock: FakeClock, sleep: RecordingSleep) -> None:
    held = Outcome(gate=asyncio.Event())
    llm, inner = build(
        clock, sleep, fails(LLMUnavailable("down")), held, Outcome(), threshold=1, max_attempts=1
    )
    with pytest.raises(LLMUnavailable):
        await llm.complete(REQUEST)
    clock.advance(timedelta(seconds=30))
    trial = asyncio.create_task(llm.complete(REQUEST))
    await held.started.wait()
    trial.cancel()
    with pytest.raises(asyncio.CancelledError):
        await trial

    assert await llm.complete(REQUEST) == DONE  # a new trial is admitted
    assert llm.breaker.state is BreakerState.CLOSED
    assert inner.used_up


def test_breaker_state_machine(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_after=timedelta(seconds=10), clock=clock)
    for _ in range(2):
        assert breaker.acquire() is False
        breaker.record_failure(False)
    breaker.record_success(False)  # a success resets the consecutive count
    for _ in range(3):
        breaker.acquire()
        breaker.record_failure(False)
    assert breaker.state is BreakerState.OPEN
    with pytest.raises(LLMCircuitOpen):
        breaker.acquire()
    clock.advance(timedelta(seconds=10))
    assert breaker.acquire() is True
    with pytest.raises(LLMCircuitOpen):
        breaker.acquire()
    breaker.record_success(True)
    assert breaker.state is BreakerState.CLOSED
    assert breaker.acquire() is False
