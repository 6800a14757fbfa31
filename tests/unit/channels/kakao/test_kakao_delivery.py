"""Callback delivery (bounded retries inside the window), the httpx sender and the dedupe maps."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from assistant.core.clock import FakeClock, SystemClock
from assistant.core.errors import DeliveryError
from assistant.core.events import ConversationKey, MessageId, UserTurn
from assistant.core.replies import Reply
from channels.kakao.callback import MIN_ATTEMPT, CallbackDelivery
from channels.kakao.dedupe import RecentTurns, UsedCallbacks
from channels.kakao.http_sender import HttpCallbackSender
from tests.unit.channels.kakao.kakao_doubles import FakeKakaoCallbackEndpoint

pytestmark = pytest.mark.anyio

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "답변"}}]}}


@dataclass
class RecordingSender:
    """Records each attempt (time, timeout); fails with the scripted errors first, then succeeds."""

    clock: FakeClock
    errors: list[DeliveryError] = field(default_factory=list)
    always_fail: DeliveryError | None = None
    attempts: list[tuple[datetime, timedelta]] = field(default_factory=list)

    async def send(self, url: str, body: Mapping[str, Any], *, attempt_timeout: timedelta) -> None:
        self.attempts.append((self.clock.now(), attempt_timeout))
        if self.errors:
            raise self.errors.pop(0)
        if self.always_fail is not None:
            raise self.always_fail


def _delivery(sender: RecordingSender, clock: FakeClock, **overrides: Any) -> CallbackDelivery:
    async def sleep(seconds: float) -> None:  # backoff moves the fake clock, not the test
        clock.advance(timedelta(seconds=seconds))

    options: dict[str, Any] = {
        "attempts": 3,
        "attempt_timeout": timedelta(seconds=5),
        "backoff": timedelta(seconds=0.5),
        "safety_margin": timedelta(seconds=1),
    }
    options.update(overrides)
    return CallbackDelivery(sender, clock, sleep=sleep, **options)


async def test_a_healthy_endpoint_gets_exactly_one_attempt() -> None:
    clock = FakeClock(START)
    sender = RecordingSender(clock)
    result = await _delivery(sender, clock).deliver(
        "https://k/cb", BODY, closes_at=START + timedelta(seconds=60)
    )
    assert (result.status, result.attempts, len(sender.attempts)) == ("delivered", 1, 1)


async def test_retryable_failures_are_retried_with_backoff_then_delivered() -> None:
    clock = FakeClock(START)
    sender = RecordingSender(clock, errors=[DeliveryError("503", retryable=True)] * 2)
    result = await _delivery(sender, clock).deliver(
        "https://k/cb", BODY, closes_at=START + timedelta(seconds=60)
    )
    assert (result.status, result.attempts) == ("delivered", 3)
    times = [at for at, _ in sender.attempts]
    assert [t - START for t in times] == [timedelta(0), timedelta(seconds=0.5), timedelta(seconds=1.5)]


async def test_a_final_error_is_not_retried() -> None:
    clock = FakeClock(START)
    sender = RecordingSender(clock, errors=[DeliveryError("400: used callbackUrl", retryable=False)])
    result = await _delivery(sender, clock).deliver(
        "https://k/cb", BODY, closes_at=START + timedelta(seconds=60)
    )
    assert (result.status, len(sender.attempts)) == ("failed", 1)


async def test_attempts_are_bounded() -> None:
    clock = FakeClock(START)
    sender = RecordingSender(clock, always_fail=DeliveryError("502", retryable=True))
    result = await _delivery(sender, clock, attempts=4).deliver(
        "https://k/cb", BODY, closes_at=START + timedelta(seconds=60)
    )
    assert (result.status, len(sender.attempts)) == ("failed", 4)


async def test_retries_stop_before_the_window_closes_and_attempts_fit_in_it() -> None:
    clock = FakeClock(START)
    closes_at = START + timedelta(seconds=8)
    sender = RecordingSender(clock, always_fail=DeliveryError("503", retryable=True))
    delivery = _delivery(sender, clock, attempts=10, backoff=timedelta(seconds=2))
    result = await delivery.deliver("https://k/cb", BODY, closes_at=closes_at)
    assert result.status == "expired"
    assert 1 < len(sender.attempts) < 10
    for at, timeout in sender.attempts:
        assert at + timeout <= closes_at - timedelta(seconds=1)  # safety margin kept


async def test_nothing_is_sent_once_the_window_has_closed() -> None:
    clock = FakeClock(START)
    sender = RecordingSender(clock)
    closes_at = START + timedelta(seconds=1) + MIN_ATTEMPT / 2  # less than MIN_ATTEMPT after the margin
    result = await _delivery(sender, clock).deliver("https://k/cb", BODY, closes_at=closes_at)
    assert (result.status, sender.attempts) == ("expired", [])


async def test_a_hanging_sender_is_cut_at_the_attempt_timeout() -> None:
    class HangingSender:
        calls = 0

        async def send(self, url: str, body: Mapping[str, Any], *, attempt_timeout: timedelta) -> None:
            self.calls += 1
            await asyncio.Event().wait()

    sender = HangingSender()
    delivery = CallbackDelivery(
        sender,
        SystemClock(),
        attempts=2,
        attempt_timeout=timedelta(seconds=0.05),
        backoff=timedelta(0),
        safety_margin=timedelta(0),
    )
    result = await delivery.deliver("https://k/cb", BODY, closes_at=datetime.now(UTC) + timedelta(seconds=5))
    assert (result.status, sender.calls) == ("failed", 2)


# -- the httpx sender against a real local endpoint -------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "retryable"), [(500, True), (503, True), (429, True), (400, False), (404, False)]
)
async def test_http_sender_classifies_error_statuses(status: int, retryable: bool) -> None:
    async with (
        FakeKakaoCallbackEndpoint(SystemClock(), statuses=[status]) as endpoint,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        with pytest.raises(DeliveryError) as caught:
            await HttpCallbackSender(client).send(
                endpoint.callback_url(), BODY, attempt_timeout=timedelta(seconds=5)
            )
        assert caught.value.retryable is retryable
        assert [r.body for r in endpoint.received] == [BODY]


async def test_http_sender_posts_the_json_body() -> None:
    async with (
        FakeKakaoCallbackEndpoint(SystemClock()) as endpoint,
        httpx.AsyncClient(trust_env=False) as client,
    ):
        await HttpCallbackSender(client).send(
            endpoint.callback_url("t-9"), BODY, attempt_timeout=timedelta(seconds=5)
        )
    (received,) = endpoint.received
    assert received.body == BODY
    assert received.path.endswith("/callback/t-9")


async def test_http_sender_reports_a_refused_connection_as_retryable() -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there now
    async with httpx.AsyncClient(trust_env=False) as client:
        with pytest.raises(DeliveryError) as caught:
            await HttpCallbackSender(client).send(
                f"http://127.0.0.1:{port}/cb", BODY, attempt_timeout=timedelta(seconds=2)
            )
    assert caught.value.retryable


# -- dedupe --------------------------------------------------------------------------------------------


async def test_recent_turns_are_forgotten_after_the_window() -> None:
    clock = FakeClock(START)
    recent = RecentTurns(clock, timedelta(seconds=5))
    turn = UserTurn(ConversationKey("kakao", "u"), MessageId("m"), START, "안녕")
    task: asyncio.Task[Reply] = asyncio.create_task(asyncio.sleep(0, Reply(text="x")))
    recent.remember("fp", turn, task, "c1")
    clock.advance(timedelta(seconds=4.9))
    found = recent.find("fp")
    assert found is not None and found.correlation_id == "c1"
    assert recent.find("other") is None
    clock.advance(timedelta(seconds=0.1))
    assert recent.find("fp") is None
    assert len(recent) == 0
    await task


def test_a_callback_url_can_be_claimed_once() -> None:
    clock = FakeClock(START)
    used = UsedCallbacks(clock, timedelta(seconds=120))
    assert used.claim("https://k/cb/1")
    assert not used.claim("https://k/cb/1")
    assert used.claim("https://k/cb/2")
    clock.advance(timedelta(seconds=121))
    assert used.claim("https://k/cb/1")  # long expired: only memory is bounded, Kakao refuses it anyway
