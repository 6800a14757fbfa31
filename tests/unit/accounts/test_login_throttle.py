"""LoginThrottle: N failures within the window block the name for a window; success clears it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from assistant.accounts.throttle import LoginThrottle
from assistant.core.clock import FakeClock

WINDOW = timedelta(minutes=15)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


@pytest.fixture
def throttle(clock: FakeClock) -> LoginThrottle:
    return LoginThrottle(clock, max_failures=3, window=WINDOW)


def test_failures_below_the_limit_do_not_block(throttle: LoginThrottle, clock: FakeClock) -> None:
    throttle.failed("kim")
    clock.advance(timedelta(minutes=1))
    throttle.failed("kim")

    assert throttle.retry_after("kim") is None


def test_the_limit_within_the_window_blocks_for_a_window(throttle: LoginThrottle, clock: FakeClock) -> None:
    for _ in range(3):
        throttle.failed("kim")
        clock.advance(timedelta(minutes=2))

    assert throttle.retry_after("kim") == WINDOW - timedelta(minutes=2)
    assert throttle.retry_after(" KIM ") == WINDOW - timedelta(minutes=2)  # the name as matched
    assert throttle.retry_after("lee") is None  # per name
    throttle.failed("kim")  # attempts while blocked do not extend the block
    clock.advance(WINDOW - timedelta(minutes=2) - timedelta(seconds=1))
    assert throttle.retry_after("kim") == timedelta(seconds=1)
    clock.advance(timedelta(seconds=1))
    assert throttle.retry_after("kim") is None

    throttle.failed("kim")  # counting starts afresh
    assert throttle.retry_after("kim") is None


def test_failures_older_than_the_window_do_not_count(throttle: LoginThrottle, clock: FakeClock) -> None:
    throttle.failed("kim")
    throttle.failed("kim")
    clock.advance(WINDOW)
    throttle.failed("kim")
    throttle.failed("kim")

    assert throttle.retry_after("kim") is None
    throttle.failed("kim")
    assert throttle.retry_after("kim") == WINDOW


def test_a_success_clears_the_count(throttle: LoginThrottle) -> None:
    throttle.failed("kim")
    throttle.failed("kim")
    throttle.succeeded("kim")
    throttle.failed("kim")
    throttle.failed("kim")

    assert throttle.retry_after("kim") is None


def test_memory_is_bounded_by_forgetting_the_oldest_names(clock: FakeClock) -> None:
    throttle = LoginThrottle(clock, max_failures=1, window=WINDOW, max_names=2)

    for name in ("a1", "b2", "c3"):
        throttle.failed(name)

    assert throttle.retry_after("a1") is None
    assert throttle.retry_after("b2") == WINDOW and throttle.retry_after("c3") == WINDOW


def test_bad_limits_are_refused(clock: FakeClock) -> None:
    with pytest.raises(ValueError):
        LoginThrottle(clock, max_failures=0, window=WINDOW)
    with pytest.raises(ValueError):
        LoginThrottle(clock, max_failures=3, window=timedelta(0))
