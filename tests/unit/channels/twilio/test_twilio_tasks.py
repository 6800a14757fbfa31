"""CallTasks: background turns collected by id, bounded waits, cancellation per call and at shutdown."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from assistant.core.clock import FakeClock
from assistant.core.replies import Reply
from channels.twilio.tasks import CallTasks, Failed, Ready, Unknown, Waiting

pytestmark = pytest.mark.anyio

SHORT = timedelta(milliseconds=5)
LONG = timedelta(seconds=5)


async def _reply_after(gate: asyncio.Event, text: str) -> Reply:
    await gate.wait()
    return Reply(text=text)


async def _boom() -> Reply:
    raise RuntimeError("boom")


async def test_a_turn_is_waiting_until_ready_then_collected_once() -> None:
    tasks = CallTasks(FakeClock())
    gate = asyncio.Event()
    turn = tasks.start_turn("CA1", _reply_after(gate, "답"))
    assert await tasks.wait(turn, "CA1", SHORT) == Waiting()
    gate.set()
    assert await tasks.wait(turn, "CA1", LONG) == Ready(Reply(text="답"))
    assert await tasks.wait(turn, "CA1", SHORT) == Unknown()


async def test_a_turn_belongs_to_its_call() -> None:
    tasks = CallTasks(FakeClock())
    turn = tasks.start_turn("CA1", _reply_after(asyncio.Event(), "x"))
    assert await tasks.wait(turn, "CA2", SHORT) == Unknown()
    assert await tasks.wait("nonsense", "CA1", SHORT) == Unknown()
    await tasks.aclose()


async def test_a_failed_turn_reports_its_error_type() -> None:
    tasks = CallTasks(FakeClock())
    turn = tasks.start_turn("CA1", _boom())
    assert await tasks.wait(turn, "CA1", LONG) == Failed("RuntimeError")


async def test_ending_a_call_cancels_its_turns_but_not_other_calls() -> None:
    tasks = CallTasks(FakeClock())
    mine = tasks.start_turn("CA1", _reply_after(asyncio.Event(), "x"))
    other_gate = asyncio.Event()
    other = tasks.start_turn("CA2", _reply_after(other_gate, "y"))
    tasks.cancel_call("CA1")
    assert await tasks.wait(mine, "CA1", SHORT) == Unknown()
    other_gate.set()
    assert await tasks.wait(other, "CA2", LONG) == Ready(Reply(text="y"))


async def test_abandoned_turns_expire_and_shutdown_cancels_the_rest() -> None:
    clock = FakeClock()
    tasks = CallTasks(clock, ttl=timedelta(minutes=5))
    old = tasks.start_turn("CA1", _reply_after(asyncio.Event(), "x"))
    clock.advance(timedelta(minutes=6))
    fresh_gate = asyncio.Event()
    tasks.start_turn("CA2", _reply_after(fresh_gate, "y"))
    assert await tasks.wait(old, "CA1", SHORT) == Unknown()
    assert tasks.running == 1
    await tasks.aclose()
    assert tasks.running == 0


async def test_side_jobs_are_forgotten_when_done_and_failures_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    tasks = CallTasks(FakeClock())
    done = asyncio.Event()

    async def job() -> None:
        done.set()
        raise ValueError("nope")

    tasks.spawn("CA1", job(), "sms")
    await done.wait()  # the job raised in the same step; its done callbacks run before aclose's gather
    await tasks.aclose()
    assert tasks.running == 0
    assert any("twilio sms failed for call CA1: ValueError" in r.getMessage() for r in caplog.records)


async def test_a_detached_turn_finishes_as_a_side_job() -> None:
    tasks = CallTasks(FakeClock())
    gate = asyncio.Event()
    turn = tasks.start_turn("CA1", _reply_after(gate, "x"))
    tasks.detach(turn)
    assert await tasks.wait(turn, "CA1", SHORT) == Unknown()
    assert tasks.running == 1
    gate.set()
    await tasks.aclose()
