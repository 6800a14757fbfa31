"""The callback delivery reports each outcome (delivered, failed, expired) to an injected recorder, once
per delivery; a failing recorder never fails the delivery."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import DeliveryError
from channels.kakao.callback import CallbackDelivery, DeliveryStatus

pytestmark = pytest.mark.anyio

START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
BODY = {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": "답변"}}]}}


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@dataclass
class ScriptedSender:
    errors: list[DeliveryError] = field(default_factory=list)

    async def send(self, url: str, body: Mapping[str, Any], *, attempt_timeout: timedelta) -> None:
        if self.errors:
            raise self.errors.pop(0)


@dataclass
class RecordingRecorder:
    outcomes: list[DeliveryStatus] = field(default_factory=list)

    def record_kakao_callback(self, outcome: DeliveryStatus) -> None:
        self.outcomes.append(outcome)


def _delivery(sender: ScriptedSender, clock: FakeClock, recorder: Any) -> CallbackDelivery:
    async def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    return CallbackDelivery(sender, clock, attempts=2, sleep=sleep, recorder=recorder)


async def test_each_delivery_outcome_is_recorded_once() -> None:
    clock = FakeClock(START)
    recorder = RecordingRecorder()
    closes = START + timedelta(seconds=60)
    retry = DeliveryError("503", retryable=True)

    await _delivery(ScriptedSender([retry]), clock, recorder).deliver("https://k/a", BODY, closes_at=closes)
    await _delivery(ScriptedSender([retry, retry]), clock, recorder).deliver(
        "https://k/b", BODY, closes_at=closes
    )
    await _delivery(ScriptedSender(), clock, recorder).deliver("https://k/c", BODY, closes_at=clock.now())

    assert recorder.outcomes == ["delivered", "failed", "expired"]


async def test_a_failing_recorder_does_not_fail_the_delivery() -> None:
    class Broken:
        def record_kakao_callback(self, outcome: DeliveryStatus) -> None:
            raise RuntimeError("metrics down")

    clock = FakeClock(START)
    result = await _delivery(ScriptedSender(), clock, Broken()).deliver(
        "https://k/a", BODY, closes_at=START + timedelta(seconds=60)
    )
    assert result.status == "delivered"
