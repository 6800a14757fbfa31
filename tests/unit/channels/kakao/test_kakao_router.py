"""POST /kakao/skill over ASGI: inline answers, the callback path with a real local receiver, validation,
errors that never become a 500, duplicates and shutdown."""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assistant.core.clock import Clock, FakeClock, SystemClock
from assistant.core.events import UserTurn
from assistant.core.replies import Reply
from channels.kakao.callback import CallbackSender
from channels.kakao.channel import KakaoChannel, build_kakao_router
from channels.kakao.config import KakaoChannelConfig
from channels.kakao.http_sender import HttpCallbackSender
from channels.kakao.messages import KakaoMessages
from channels.kakao.translator import KakaoTranslator
from channels.kakao.wire_response import KakaoSkillResponse
from tests.unit.channels.kakao.kakao_doubles import (
    Answer,
    Fail,
    FakeKakaoCallbackEndpoint,
    Hang,
    ScriptedDialogue,
)

pytestmark = pytest.mark.anyio

MESSAGES = KakaoMessages()
ANSWER = Reply(
    text="대형폐기물은 구청에 신고한 뒤 스티커를 붙여 내놓으세요.", quick_replies=("수수료", "신고 방법")
)
START = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _config(endpoint: FakeKakaoCallbackEndpoint | None = None, **overrides: Any) -> KakaoChannelConfig:
    options: dict[str, Any] = {
        "inline_budget": timedelta(seconds=0.3),
        "reply_margin": timedelta(seconds=0.1),
        "callback_backoff": timedelta(milliseconds=10),
    }
    if endpoint is not None:
        options["callback_url_prefixes"] = (endpoint.base_url + "/",)
    options.update(overrides)
    return KakaoChannelConfig(**options)


def _ids() -> Callable[[], str]:
    counter = itertools.count(1)
    return lambda: f"corr-{next(counter)}"


@asynccontextmanager
async def serving(
    dialogue: ScriptedDialogue,
    config: KakaoChannelConfig,
    *,
    clock: Clock | None = None,
    sender: CallbackSender | None = None,
    translator: KakaoTranslator | None = None,
) -> AsyncIterator[tuple[httpx.AsyncClient, KakaoChannel]]:
    """The router in a FastAPI app behind httpx's ASGITransport; callbacks go out over real HTTP."""
    async with httpx.AsyncClient(trust_env=False) as outbound:
        channel = KakaoChannel(
            dialogue,
            config,
            sender or HttpCallbackSender(outbound),
            clock or SystemClock(),
            translator=translator,
            correlation_ids=_ids(),
        )
        app = FastAPI()
        app.include_router(channel.router)
        transport = httpx.ASGITransport(app=app)
        try:
            async with httpx.AsyncClient(transport=transport, base_url="http://dasan.test") as client:
                yield client, channel
        finally:
            await channel.aclose(grace=timedelta(0))


def _with_callback(payload: dict[str, Any], url: str | None) -> dict[str, Any]:
    payload = copy.deepcopy(payload)
    if url is None:
        payload["userRequest"].pop("callbackUrl", None)
    else:
        payload["userRequest"]["callbackUrl"] = url
    return payload


def _text_of(body: dict[str, Any]) -> str:
    response = KakaoSkillResponse.model_validate(body)  # every 200 body is a valid SkillResponse
    assert response.template is not None
    return "\n".join(o.simpleText.text for o in response.template.outputs if hasattr(o, "simpleText"))


# -- inline ---------------------------------------------------------------------------------------------


async def test_a_fast_reply_is_answered_inline(real_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of(Answer(ANSWER))
    async with FakeKakaoCallbackEndpoint(SystemClock()) as endpoint:
        config = _config(endpoint)
        async with serving(dialogue, config) as (client, channel):
            answer = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            await channel.aclose()
        assert answer.status_code == 200
        assert answer.json() == KakaoTranslator().encode(ANSWER).to_json()
        assert endpoint.received == []  # answered inline: the callbackUrl stays unused
    ((turn, capabilities),) = dialogue.calls
    assert isinstance(turn, UserTurn) and turn.text == "aaa"
    assert capabilities.reply_budget == config.callback_reply_budget == timedelta(seconds=50)
    assert (capabilities.markdown, capabilities.max_chars, capabilities.max_quick_replies) == (
        False,
        3000,
        10,
    )


async def test_the_v1_docs_payload_is_answered_inline_with_the_short_budget(
    v1_payload: dict[str, Any],
) -> None:
    dialogue = ScriptedDialogue.of(Answer(ANSWER))
    config = _config()
    async with serving(dialogue, config) as (client, _):
        answer = await client.post("/kakao/skill", json=v1_payload)
    assert answer.status_code == 200
    assert _text_of(answer.json()) == ANSWER.text
    assert dialogue.calls[0][1].reply_budget == config.inline_reply_budget == timedelta(seconds=0.2)


async def test_quick_replies_on_the_wire_are_capped_with_short_labels(v1_payload: dict[str, Any]) -> None:
    labels = tuple(f"{n}번째 자주 묻는 질문을 보여 주세요" for n in range(13))
    dialogue = ScriptedDialogue.of(Answer(Reply(text="골라 주세요.", quick_replies=labels)))
    async with serving(dialogue, _config()) as (client, _):
        body = (await client.post("/kakao/skill", json=v1_payload)).json()
    quick = body["template"]["quickReplies"]
    assert len(quick) == 10
    assert all(len(q["label"]) <= 14 and q["messageText"] in labels for q in quick)


# -- the callback path ----------------------------------------------------------------------------------


async def test_a_slow_reply_is_acknowledged_then_posted_to_the_callback_url_once(
    real_payload: dict[str, Any],
) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    clock = SystemClock()
    async with FakeKakaoCallbackEndpoint(clock) as endpoint:
        async with serving(dialogue, _config(endpoint), clock=clock) as (client, channel):
            sent_at = clock.now()
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            assert ack.status_code == 200
            assert ack.json() == {
                "version": "2.0",
                "useCallback": True,
                "data": {"text": "답변을 준비하고 있어요. 잠시만 기다려 주세요."},
            }
            release.set()
            (callback,) = await endpoint.wait_for(1)
            await channel.aclose()  # lets every background task finish: no second POST may follow
            assert channel.background_tasks == 0
        assert len(endpoint.received) == 1
    assert callback.body == KakaoTranslator().encode(ANSWER).to_json()
    assert callback.path == "/v1/bots/5ae9b76d7409b11ec845b746!/callback/token-1"
    assert callback.at < sent_at + timedelta(seconds=60)
    assert dialogue.calls[0][1].reply_budget == timedelta(seconds=50)


async def test_a_failing_receiver_gets_bounded_retries_until_one_succeeds(
    real_payload: dict[str, Any],
) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with FakeKakaoCallbackEndpoint(SystemClock(), statuses=[500, 503]) as endpoint:
        async with serving(dialogue, _config(endpoint, callback_attempts=3)) as (client, channel):
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            assert ack.json()["useCallback"] is True
            release.set()
            await endpoint.wait_for(3)
            await channel.aclose()
        assert len(endpoint.received) == 3
        assert all(r.body == endpoint.received[0].body for r in endpoint.received)


async def test_a_receiver_that_keeps_failing_gets_no_more_than_the_attempts(
    real_payload: dict[str, Any],
) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with FakeKakaoCallbackEndpoint(SystemClock(), statuses=[502] * 10) as endpoint:
        async with serving(dialogue, _config(endpoint, callback_attempts=2)) as (client, channel):
            await client.post("/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url()))
            release.set()
            await endpoint.wait_for(2)
            await channel.aclose()  # the delivery task has given up: nothing more is sent
        assert len(endpoint.received) == 2


async def test_nothing_is_posted_after_the_window_has_closed(real_payload: dict[str, Any]) -> None:
    clock = FakeClock(START)
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with FakeKakaoCallbackEndpoint(clock) as endpoint:
        async with serving(dialogue, _config(endpoint), clock=clock) as (client, channel):
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            assert ack.json()["useCallback"] is True
            clock.advance(timedelta(seconds=61))  # the answer comes after the 1-minute window
            release.set()
            await channel.aclose()
        assert endpoint.received == []


async def test_a_hanging_dialogue_still_gets_an_apology_before_a_short_window_closes(
    real_payload: dict[str, Any],
) -> None:
    clock = SystemClock()
    dialogue = ScriptedDialogue.of(Hang())
    async with FakeKakaoCallbackEndpoint(clock) as endpoint:
        config = _config(
            endpoint,
            inline_budget=timedelta(seconds=0.1),
            reply_margin=timedelta(seconds=0.05),
            callback_window=timedelta(seconds=1.0),
            fast_answer_margin=timedelta(seconds=0.5),
            delivery_reserve=timedelta(seconds=0.5),
            callback_safety_margin=timedelta(seconds=0.2),
        )
        async with serving(dialogue, config, clock=clock) as (client, channel):
            sent_at = clock.now()
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            assert ack.json()["useCallback"] is True
            (callback,) = await endpoint.wait_for(1)
            await channel.aclose()
    assert callback.at < sent_at + config.callback_window
    assert _text_of(callback.body) == MESSAGES.late
    assert dialogue.calls[0][1].reply_budget == timedelta(seconds=0.5)  # the fast-answer hook


async def test_without_a_callback_url_a_slow_reply_gets_a_polite_inline_fallback(
    v1_payload: dict[str, Any],
) -> None:
    dialogue = ScriptedDialogue.of(Hang())
    async with serving(dialogue, _config()) as (client, _):
        started = asyncio.get_running_loop().time()
        answer = await client.post("/kakao/skill", json=v1_payload)
        elapsed = asyncio.get_running_loop().time() - started
    assert answer.status_code == 200
    assert _text_of(answer.json()) == MESSAGES.busy
    assert "다시" in MESSAGES.busy
    assert elapsed < 2.0


async def test_a_callback_url_outside_the_allowed_prefixes_is_never_called(
    real_payload: dict[str, Any],
) -> None:
    dialogue = ScriptedDialogue.of(Hang())
    async with FakeKakaoCallbackEndpoint(SystemClock()) as endpoint:
        config = _config()  # only https://bot-api.kakao.com/ is allowed
        async with serving(dialogue, config) as (client, channel):
            answer = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            await channel.aclose(grace=timedelta(0))
        assert _text_of(answer.json()) == MESSAGES.busy
        assert endpoint.received == []


# -- validation -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "mentions"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe\x00garbage", "not JSON"),
        (b"", "not JSON"),
        (b"[1, 2, 3]", "not a JSON object"),
        (json.dumps({"bot": {"id": "b"}}).encode(), "userRequest"),
        (json.dumps({"bot": {"id": "b"}, "userRequest": {"utterance": "안녕"}}).encode(), "userRequest.user"),
    ],
)
async def test_a_malformed_payload_is_a_400_with_a_json_reason(body: bytes, mentions: str) -> None:
    dialogue = ScriptedDialogue.of()
    async with serving(dialogue, _config()) as (client, _):
        answer = await client.post("/kakao/skill", content=body, headers={"content-type": "application/json"})
    assert answer.status_code == 400
    assert answer.headers["content-type"] == "application/json"
    error = answer.json()["error"]
    assert error["code"] == "invalid_payload"
    assert mentions in error["message"]
    assert dialogue.calls == []


async def test_an_oversized_body_is_refused(v1_payload: dict[str, Any]) -> None:
    payload = copy.deepcopy(v1_payload)
    payload["padding"] = "x" * 70_000
    async with serving(ScriptedDialogue.of(), _config()) as (client, _):
        answer = await client.post("/kakao/skill", json=payload)
    assert answer.status_code == 413
    assert answer.json()["error"]["code"] == "payload_too_large"


async def test_a_bot_outside_the_allow_list_is_a_403(real_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of()
    async with serving(dialogue, _config(allowed_bot_ids=frozenset({"another-bot"}))) as (client, _):
        answer = await client.post("/kakao/skill", json=_with_callback(real_payload, None))
    assert answer.status_code == 403
    assert answer.json()["error"]["code"] == "forbidden_bot"
    assert dialogue.calls == []


async def test_an_allowed_bot_is_served(real_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of(Answer(ANSWER))
    config = _config(allowed_bot_ids="another-bot, 5ae9b76d7409b11ec845b746!")
    async with serving(dialogue, config) as (client, _):
        answer = await client.post("/kakao/skill", json=_with_callback(real_payload, None))
    assert answer.status_code == 200


async def test_an_empty_utterance_is_answered_without_the_dialogue(v1_payload: dict[str, Any]) -> None:
    payload = copy.deepcopy(v1_payload)
    payload["userRequest"]["utterance"] = "   "
    dialogue = ScriptedDialogue.of()
    async with serving(dialogue, _config()) as (client, _):
        answer = await client.post("/kakao/skill", json=payload)
    assert _text_of(answer.json()) == MESSAGES.empty_utterance
    assert dialogue.calls == []


# -- failures never become a 500 ------------------------------------------------------------------------


async def test_an_exception_in_the_dialogue_is_a_valid_apology(
    v1_payload: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    dialogue = ScriptedDialogue.of(Fail(RuntimeError("boom with the citizen's words in it")))
    caplog.set_level(logging.INFO, logger="channels.kakao")
    async with serving(dialogue, _config()) as (client, _):
        answer = await client.post("/kakao/skill", json=v1_payload)
    assert answer.status_code == 200
    assert answer.headers["x-correlation-id"] == "corr-1"
    text = _text_of(answer.json())
    assert text == MESSAGES.apology("corr-1")
    assert "120" in text and "corr-1" in text
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "RuntimeError" in logged and "corr-1" in logged
    assert "citizen's words" not in logged and "Traceback" not in caplog.text


async def test_a_broken_encoder_still_yields_a_valid_skill_response(v1_payload: dict[str, Any]) -> None:
    class ExplodingTranslator(KakaoTranslator):
        def encode(self, reply: Reply) -> KakaoSkillResponse:
            raise ValueError("encoder bug")

    async with serving(ScriptedDialogue.of(Answer(ANSWER)), _config(), translator=ExplodingTranslator()) as (
        client,
        _,
    ):
        answer = await client.post("/kakao/skill", json=v1_payload)
    assert answer.status_code == 200
    assert _text_of(answer.json()) == MESSAGES.apology("corr-1")


# -- duplicates -----------------------------------------------------------------------------------------


async def test_concurrent_duplicates_are_one_turn(v1_payload: dict[str, Any]) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with serving(dialogue, _config(inline_budget=timedelta(seconds=3))) as (client, _):
        first = asyncio.create_task(client.post("/kakao/skill", json=v1_payload))
        await dialogue.called.wait()
        second = asyncio.create_task(client.post("/kakao/skill", json=v1_payload))
        release.set()
        answers = await asyncio.gather(first, second)
    assert len(dialogue.calls) == 1
    assert [a.json() for a in answers] == [KakaoTranslator().encode(ANSWER).to_json()] * 2


async def test_a_repeat_within_the_window_reuses_the_answer_and_after_it_is_a_new_turn(
    v1_payload: dict[str, Any],
) -> None:
    clock = FakeClock(START)
    other = Reply(text="두 번째 답변입니다.")
    dialogue = ScriptedDialogue.of(Answer(ANSWER), Answer(other))
    async with serving(dialogue, _config(), clock=clock) as (client, _):
        first = await client.post("/kakao/skill", json=v1_payload)
        clock.advance(timedelta(seconds=4))
        again = await client.post("/kakao/skill", json=v1_payload)
        clock.advance(timedelta(seconds=2))  # 6 s after the first: a new question
        later = await client.post("/kakao/skill", json=v1_payload)
    assert first.json() == again.json()
    assert _text_of(later.json()) == other.text
    assert len(dialogue.calls) == 2
    first_turn, second_turn = (call[0] for call in dialogue.calls)
    assert first_turn.message_id != second_turn.message_id
    dialogue.assert_used_up()


async def test_different_users_or_utterances_are_separate_turns(v1_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of(default=ANSWER)
    other_user = copy.deepcopy(v1_payload)
    other_user["userRequest"]["user"]["id"] = "another-user"
    other_text = copy.deepcopy(v1_payload)
    other_text["userRequest"]["utterance"] = "다른 질문"
    async with serving(dialogue, _config()) as (client, _):
        for payload in (v1_payload, other_user, other_text):
            assert (await client.post("/kakao/skill", json=payload)).status_code == 200
    assert len(dialogue.calls) == 3


async def test_a_redelivered_callback_url_is_posted_to_only_once(real_payload: dict[str, Any]) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with FakeKakaoCallbackEndpoint(SystemClock()) as endpoint:
        payload = _with_callback(real_payload, endpoint.callback_url())
        async with serving(dialogue, _config(endpoint)) as (client, channel):
            first = await client.post("/kakao/skill", json=payload)
            second = await client.post("/kakao/skill", json=payload)
            release.set()
            await endpoint.wait_for(1)
            await channel.aclose()
        assert first.json()["useCallback"] is True
        assert _text_of(second.json()) == MESSAGES.busy
        assert len(endpoint.received) == 1
    assert len(dialogue.calls) == 1


async def test_duplicates_with_their_own_callback_urls_each_get_the_one_answer(
    real_payload: dict[str, Any],
) -> None:
    release = asyncio.Event()
    dialogue = ScriptedDialogue.of(Answer(ANSWER, release))
    async with (
        FakeKakaoCallbackEndpoint(SystemClock()) as endpoint,
        serving(dialogue, _config(endpoint)) as (client, channel),
    ):
        for token in ("token-a", "token-b"):
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url(token))
            )
            assert ack.json()["useCallback"] is True
        release.set()
        received = await endpoint.wait_for(2)
        await channel.aclose()
    assert sorted(r.path.rsplit("/", 1)[1] for r in received) == ["token-a", "token-b"]
    assert len(dialogue.calls) == 1


# -- shutdown -------------------------------------------------------------------------------------------


async def test_aclose_cancels_pending_callbacks_and_refuses_new_turns(real_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of(Hang())
    async with FakeKakaoCallbackEndpoint(SystemClock()) as endpoint:
        async with serving(dialogue, _config(endpoint)) as (client, channel):
            ack = await client.post(
                "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
            )
            assert ack.json()["useCallback"] is True
            assert channel.background_tasks == 2  # the turn and its delivery
            await channel.aclose(grace=timedelta(0))
            assert channel.background_tasks == 0
            after = await client.post("/kakao/skill", json=_with_callback(real_payload, None))
        assert _text_of(after.json()) == MESSAGES.busy
        assert endpoint.received == []
    assert len(dialogue.calls) == 1


async def test_the_router_lifespan_closes_the_channel(real_payload: dict[str, Any]) -> None:
    dialogue = ScriptedDialogue.of(Hang())
    async with (
        FakeKakaoCallbackEndpoint(SystemClock()) as endpoint,
        httpx.AsyncClient(trust_env=False) as out,
    ):
        config = _config(endpoint, shutdown_grace=timedelta(0))
        app = FastAPI()
        app.include_router(build_kakao_router(dialogue, config, HttpCallbackSender(out), SystemClock()))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://dasan.test") as client:
            async with app.router.lifespan_context(app):
                ack = await client.post(
                    "/kakao/skill", json=_with_callback(real_payload, endpoint.callback_url())
                )
                assert ack.json()["useCallback"] is True
            after = await client.post("/kakao/skill", json=_with_callback(real_payload, None))
        assert _text_of(after.json()) == MESSAGES.busy
        assert endpoint.received == []
