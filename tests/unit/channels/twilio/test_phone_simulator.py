"""PhoneSimulator waits out <Pause> before a <Redirect> when told to, as Twilio does on a live call."""

from __future__ import annotations

import httpx
import pytest
from pydantic import SecretStr

from channels.twilio.simulator import PhoneSimulator

pytestmark = pytest.mark.anyio

FILLER = '<Response><Say>잠시만 기다려 주세요.</Say><Pause length="2"/><Redirect>/next</Redirect></Response>'
ANSWER = '<Response><Gather input="speech" action="/gather"><Say>답이에요.</Say></Gather></Response>'


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _twilio(request: httpx.Request) -> httpx.Response:
    body = FILLER if request.url.path.endswith("/incoming") else ANSWER
    return httpx.Response(200, text=body, headers={"content-type": "text/xml"})


@pytest.mark.parametrize("waits", [True, False], ids=["live-call", "tests"])
async def test_pauses_before_a_redirect_are_waited_out_only_when_asked(waits: bool) -> None:
    paused: list[float] = []

    async def pause(seconds: float) -> None:
        paused.append(seconds)

    async with httpx.AsyncClient(transport=httpx.MockTransport(_twilio)) as http:
        caller = PhoneSimulator(http, "http://dasan.test", SecretStr("token"), pause=pause if waits else None)
        heard = await caller.call()

    assert [kind for kind, _ in heard.events] == ["say", "pause", "say", "listen"]
    assert paused == ([2.0] if waits else [])


def test_the_dialogue_budget_leaves_the_polls_time_and_is_short_for_the_embedded_model() -> None:
    from datetime import timedelta

    from channels.twilio.config import TwilioChannelConfig

    config = TwilioChannelConfig(answer_deadline=timedelta(seconds=20))
    assert config.reply_budget_for(embedded=False) == timedelta(seconds=17)
    assert config.reply_budget_for(embedded=True) == timedelta(seconds=3)
    short = TwilioChannelConfig(answer_deadline=timedelta(seconds=2))
    assert short.reply_budget_for(embedded=True) == timedelta(seconds=1.5)  # never past the deadline
