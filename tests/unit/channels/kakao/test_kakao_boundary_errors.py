"""The never-a-500 boundaries count what they caught in ``dasan_errors_total{type="kakao.<Type>"}`` (the app's
real ``Metrics``, read back from ``GET /metrics``) and still answer a valid SkillResponse; a callback answer
is told the budget the composition root chose for the model."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import Response

from assistant.app.metrics import Metrics, metrics_endpoint
from assistant.core.clock import SystemClock
from assistant.core.events import UserTurn
from assistant.core.replies import Reply
from channels.kakao.channel import KakaoChannel
from channels.kakao.config import KakaoChannelConfig
from channels.kakao.http_sender import HttpCallbackSender
from channels.kakao.messages import KakaoMessages
from channels.kakao.simulator import build_skill_payload
from channels.kakao.translator import KakaoTranslator
from channels.kakao.wire_request import KakaoSkillRequest
from channels.kakao.wire_response import KakaoSkillResponse
from tests.unit.channels.kakao.kakao_doubles import Answer, Fail, FakeKakaoCallbackEndpoint, ScriptedDialogue

pytestmark = pytest.mark.anyio

ANSWER = Reply(text="대형폐기물은 구청에 신고한 뒤 스티커를 붙여 내놓으세요.")


def config(endpoint: FakeKakaoCallbackEndpoint | None = None, **overrides: Any) -> KakaoChannelConfig:
    options: dict[str, Any] = {
        "inline_budget": timedelta(seconds=0.3),
        "reply_margin": timedelta(seconds=0.1),
    }
    if endpoint is not None:
        options["callback_url_prefixes"] = (endpoint.base_url + "/",)
    return KakaoChannelConfig(**{**options, **overrides})


def payload(callback_url: str | None = None) -> dict[str, Any]:
    return build_skill_payload(
        "대형폐기물 어떻게 버려요?", bot_id="bot-1", user_key="user-1", callback_url=callback_url
    )


class ExplodingTranslator(KakaoTranslator):
    """Fails where it is told to: ``decode`` (the request boundary) or ``encode`` (the callback task)."""

    def __init__(self, where: str) -> None:
        super().__init__()
        self._where = where

    def decode(self, request: KakaoSkillRequest, received_at: datetime) -> UserTurn:
        if self._where == "decode":
            raise LookupError("decode broke")
        return super().decode(request, received_at)

    def encode(self, reply: Reply) -> KakaoSkillResponse:
        if self._where == "encode":
            raise ArithmeticError("encode broke")
        return super().encode(reply)


class BrokenRecorder:
    def record_error(self, error: str) -> None:
        raise RuntimeError("metrics down")


@asynccontextmanager
async def serving(
    channel_of: Any, metrics: Metrics | None = None
) -> AsyncIterator[tuple[httpx.AsyncClient, KakaoChannel]]:
    async with httpx.AsyncClient(trust_env=False) as outbound:
        channel: KakaoChannel = channel_of(HttpCallbackSender(outbound))
        app = FastAPI()
        app.include_router(channel.router)
        if metrics is not None:

            @app.get("/metrics")
            def scrape() -> Response:
                return metrics_endpoint(metrics.registry)

        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://dasan.test") as client:
                yield client, channel
        finally:
            await channel.aclose(grace=timedelta(0))


async def errors_counted(client: httpx.AsyncClient) -> dict[str, float]:
    text = (await client.get("/metrics")).text
    return {
        sample.labels["type"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dasan_errors_total"
    }


def apology_text(body: dict[str, Any]) -> str:
    response = KakaoSkillResponse.model_validate(body)  # a valid SkillResponse, not an error
    assert response.template is not None
    (output,) = response.template.outputs
    text: str = output.simpleText.text  # type: ignore[union-attr]
    return text


async def test_a_failed_turn_is_counted_and_still_answered_with_an_apology() -> None:
    metrics = Metrics(CollectorRegistry())
    dialogue = ScriptedDialogue.of(Fail(RuntimeError("db down")))

    def channel_of(sender: HttpCallbackSender) -> KakaoChannel:
        return KakaoChannel(
            dialogue, config(), sender, SystemClock(), errors=metrics, correlation_ids=lambda: "c1"
        )

    async with serving(channel_of, metrics) as (client, _):
        before = await errors_counted(client)
        answer = await client.post("/kakao/skill", json=payload())
        after = await errors_counted(client)

    assert answer.status_code == 200
    assert apology_text(answer.json()) == KakaoMessages().apology("c1")
    assert before == {}
    assert after == {"kakao.RuntimeError": 1.0}


async def test_a_failed_request_is_counted_and_answered_with_the_last_resort_apology() -> None:
    metrics = Metrics(CollectorRegistry())

    def channel_of(sender: HttpCallbackSender) -> KakaoChannel:
        return KakaoChannel(
            ScriptedDialogue.of(),
            config(),
            sender,
            SystemClock(),
            translator=ExplodingTranslator("decode"),
            errors=metrics,
            correlation_ids=lambda: "c2",
        )

    async with serving(channel_of, metrics) as (client, _):
        answer = await client.post("/kakao/skill", json=payload())
        counted = await errors_counted(client)

    assert answer.status_code == 200 and answer.headers["x-correlation-id"] == "c2"
    assert "c2" in apology_text(answer.json())
    assert counted == {"kakao.LookupError": 1.0}


async def test_a_callback_that_cannot_be_encoded_is_counted_and_posts_the_last_resort() -> None:
    metrics = Metrics(CollectorRegistry())
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    clock = SystemClock()
    async with FakeKakaoCallbackEndpoint(clock) as endpoint:

        def channel_of(sender: HttpCallbackSender) -> KakaoChannel:
            return KakaoChannel(
                dialogue,
                config(endpoint),
                sender,
                clock,
                translator=ExplodingTranslator("encode"),
                errors=metrics,
                correlation_ids=lambda: "c3",
            )

        async with serving(channel_of, metrics) as (client, channel):
            ack = await client.post("/kakao/skill", json=payload(endpoint.callback_url()))
            release.set()
            (callback,) = await endpoint.wait_for(1)
            await channel.aclose()
            counted = await errors_counted(client)

    assert ack.json()["useCallback"] is True
    assert "c3" in apology_text(callback.body)
    assert counted == {"kakao.ArithmeticError": 1.0}


async def test_a_failing_recorder_never_breaks_the_answer() -> None:
    dialogue = ScriptedDialogue.of(Fail(RuntimeError("db down")))

    def channel_of(sender: HttpCallbackSender) -> KakaoChannel:
        return KakaoChannel(
            dialogue, config(), sender, SystemClock(), errors=BrokenRecorder(), correlation_ids=lambda: "c4"
        )

    async with serving(channel_of) as (client, _):
        answer = await client.post("/kakao/skill", json=payload())

    assert answer.status_code == 200
    assert apology_text(answer.json()) == KakaoMessages().apology("c4")


# -- the callback answer's budget -----------------------------------------------------------------------


async def test_a_callback_answer_is_told_the_budget_the_composition_root_chose() -> None:
    dialogue = ScriptedDialogue.of(Answer(ANSWER), Answer(ANSWER))
    async with FakeKakaoCallbackEndpoint(SystemClock()) as endpoint:

        def channel_of(sender: HttpCallbackSender) -> KakaoChannel:
            return KakaoChannel(
                dialogue, config(endpoint), sender, SystemClock(), callback_budget=timedelta(seconds=7)
            )

        async with serving(channel_of) as (client, _):
            with_callback = await client.post("/kakao/skill", json=payload(endpoint.callback_url()))
            without = await client.post(
                "/kakao/skill",
                json=build_skill_payload("다른 질문이에요", bot_id="bot-1", user_key="user-1"),
            )

    assert with_callback.status_code == without.status_code == 200
    budgets = [capabilities.reply_budget for _, capabilities in dialogue.calls]
    assert budgets == [timedelta(seconds=7), timedelta(seconds=0.2)]  # the inline budget is unchanged


def test_the_embedded_model_gets_the_short_callback_budget_never_a_longer_one() -> None:
    default = KakaoChannelConfig()
    assert default.callback_reply_budget_for(embedded=False) == timedelta(seconds=50)
    assert default.callback_reply_budget_for(embedded=True) == default.embedded_callback_budget
    assert default.embedded_callback_budget < default.callback_reply_budget
    short_window = KakaoChannelConfig(
        callback_window=timedelta(seconds=8),
        fast_answer_margin=timedelta(seconds=2),
        embedded_callback_budget=timedelta(seconds=10),
    )
    assert short_window.callback_reply_budget_for(embedded=True) == timedelta(seconds=6)
    from_env = KakaoChannelConfig.model_validate({"embedded_callback_budget": "4.5"})
    assert from_env.embedded_callback_budget == timedelta(seconds=4.5)
    with pytest.raises(ValueError, match="embedded_callback_budget"):
        KakaoChannelConfig(embedded_callback_budget=timedelta(0))
