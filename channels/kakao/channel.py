"""``KakaoChannel`` and ``build_kakao_router``: ``POST /kakao/skill`` within Kakao's 5-second budget.

One request:

1. parse and validate the SkillPayload (malformed → 400, a bot not in ``allowed_bot_ids`` → 403,
   both as ``{"error": {"code", "message"}}``);
2. join the running turn of an identical delivery (same bot, user and utterance within
   ``dedupe_window``) or start one: ``dialogue.respond(turn, capabilities)`` in a tracked task, told
   ``inline_budget - reply_margin`` without a callbackUrl and ``callback_window - fast_answer_margin``
   (about 50 s; ``embedded_callback_budget`` with the slow embedded model) with one, so that the answer
   pipeline falls back to a fast answer in time;
3. wait up to ``inline_budget``: a ready reply is answered inline; otherwise, with a callbackUrl,
   answer ``{"version":"2.0","useCallback":true,"data":{"text":holding_text}}`` at once and deliver
   the final SkillResponse to the callbackUrl once, before its window closes (``_deliver``);
   without one, answer a polite "ask again shortly" text. Never a timeout error.

Anything unexpected inside a turn or a request becomes a valid skill response with an apology, the
call centre's number and a correlation id (logged with the exception type and counted as
``kakao.<ExceptionType>`` by the injected ``ErrorRecorder``; never a 500, never a stack trace on the
wire). Background tasks are tracked; ``aclose()`` (also run by the router's lifespan) lets them
finish within ``shutdown_grace`` and cancels the rest.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from assistant.core.clock import Clock
from assistant.core.errors import InvalidInbound
from assistant.core.events import UserTurn
from assistant.core.replies import Reply
from assistant.dialogue.ports import DialogueManager
from channels.kakao.boundary_errors import BoundaryErrors, ErrorRecorder
from channels.kakao.callback import CallbackDelivery, CallbackRecorder, CallbackSender, Sleep
from channels.kakao.config import KakaoChannelConfig
from channels.kakao.dedupe import RecentTurns, RunningTurn, UsedCallbacks
from channels.kakao.messages import KakaoMessages
from channels.kakao.translator import KakaoTranslator, fingerprint
from channels.kakao.wire_request import KakaoSkillRequest
from channels.kakao.wire_response import KakaoSkillResponse

_log = logging.getLogger(__name__)

SKILL_PATH = "/kakao/skill"
CORRELATION_HEADER = "X-Correlation-Id"

Mode = Literal["inline", "callback", "busy", "empty", "rejected", "error"]


@dataclass(frozen=True, slots=True)
class SkillOutcome:
    """What ``handle`` answers: HTTP status, JSON body, and how the request was served."""

    status: int
    body: dict[str, Any]
    correlation_id: str
    mode: Mode


def _error_body(code: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "message": message}}


def _new_correlation_id() -> str:
    return uuid.uuid4().hex[:12]


class KakaoChannel:
    """Owns the skill route, the dedupe map and the background turn and callback tasks."""

    def __init__(
        self,
        dialogue: DialogueManager,
        config: KakaoChannelConfig,
        callback_sender: CallbackSender,
        clock: Clock,
        *,
        translator: KakaoTranslator | None = None,
        correlation_ids: Callable[[], str] = _new_correlation_id,
        sleep: Sleep = asyncio.sleep,
        recorder: CallbackRecorder | None = None,
        errors: ErrorRecorder | None = None,
        callback_budget: timedelta | None = None,
    ) -> None:
        self._dialogue = dialogue
        self._config = config
        self._callback_budget = config.callback_reply_budget if callback_budget is None else callback_budget
        self._errors = BoundaryErrors(errors)
        self._clock = clock
        self._translator = translator or KakaoTranslator(
            operator_handoff=config.operator_handoff,
            messages=KakaoMessages(callcenter=config.callcenter_number),
            dedupe_window=config.dedupe_window,
        )
        self._messages = self._translator.messages
        self._new_id = correlation_ids
        self._delivery = CallbackDelivery(
            callback_sender,
            clock,
            attempts=config.callback_attempts,
            attempt_timeout=config.callback_attempt_timeout,
            backoff=config.callback_backoff,
            safety_margin=config.callback_safety_margin,
            sleep=sleep,
            recorder=recorder,
        )
        self._recent = RecentTurns(clock, config.dedupe_window)
        self._used_callbacks = UsedCallbacks(clock, config.callback_window * 2)
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self.router = self._build_router()

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def background_tasks(self) -> int:
        """Turn and callback tasks still running."""
        return sum(1 for task in self._tasks if not task.done())

    async def aclose(self, grace: timedelta | None = None) -> None:
        """Stops taking turns, gives running tasks ``grace`` (default ``shutdown_grace``) to finish,
        then cancels and awaits the rest."""
        self._closed = True
        grace = self._config.shutdown_grace if grace is None else grace
        pending = {task for task in self._tasks if not task.done()}
        if pending and grace > timedelta(0):
            await asyncio.wait(pending, timeout=grace.total_seconds())
        leftover = [task for task in self._tasks if not task.done()]
        for task in leftover:
            task.cancel()
        if leftover:
            _log.warning("kakao channel closed with %d background tasks cancelled", len(leftover))
        await asyncio.gather(*self._tasks, return_exceptions=True)

    # -- one request ----------------------------------------------------------------------------------

    async def handle(self, body: bytes) -> SkillOutcome:
        """Serves one ``POST /kakao/skill`` body. Never raises (except cancellation)."""
        correlation_id = self._new_id()
        loop = asyncio.get_running_loop()
        started = loop.time()
        try:
            outcome = await self._handle(body, correlation_id, started)
        except Exception as exc:  # the request boundary: never a 500
            _log.error(
                "kakao skill request failed: %s (correlation_id=%s)", type(exc).__name__, correlation_id
            )
            self._errors.count(exc)
            outcome = SkillOutcome(200, self._last_resort(correlation_id), correlation_id, "error")
        _log.info(
            "kakao skill %s status=%d in %.0f ms (correlation_id=%s)",
            outcome.mode,
            outcome.status,
            (loop.time() - started) * 1000,
            correlation_id,
        )
        return outcome

    async def _handle(self, body: bytes, correlation_id: str, started: float) -> SkillOutcome:
        received_at = self._clock.now()
        try:
            request = _parse(body)
        except InvalidInbound as exc:
            return SkillOutcome(400, _error_body("invalid_payload", str(exc)), correlation_id, "rejected")
        allowed = self._config.allowed_bot_ids
        if allowed and request.bot.id not in allowed:
            message = "this bot is not allowed to call this skill"
            return SkillOutcome(403, _error_body("forbidden_bot", message), correlation_id, "rejected")
        if self._closed:
            return self._ok(self._translator.text(self._messages.busy), correlation_id, "busy")
        turn = self._translator.decode(request, received_at)
        if not turn.text:
            return self._ok(self._translator.text(self._messages.empty_utterance), correlation_id, "empty")

        callback_url = self._usable_callback(request.callback_url, correlation_id)
        key = fingerprint(request)
        running = self._recent.find(key)
        if running is None:
            budget = self._callback_budget if callback_url else self._config.inline_reply_budget
            task = self._spawn(self._run_turn(turn, budget, correlation_id))
            running = self._recent.remember(key, turn, task, correlation_id)
        else:
            _log.info(
                "kakao duplicate delivery joins turn %s (correlation_id=%s)",
                running.correlation_id,
                correlation_id,
            )

        left = self._config.inline_budget.total_seconds() - (asyncio.get_running_loop().time() - started)
        if not running.task.done() and left > 0:
            await asyncio.wait({running.task}, timeout=left)
        reply = _result(running.task)
        if reply is not None:
            return self._ok(self._translator.encode(reply), correlation_id, "inline")
        if callback_url is not None and self._used_callbacks.claim(callback_url):
            self._spawn(self._deliver(running, callback_url, received_at, correlation_id))
            holding = self._translator.holding(self._config.holding_text)
            return self._ok(holding, correlation_id, "callback")
        return self._ok(self._translator.text(self._messages.busy), correlation_id, "busy")

    # -- background work ------------------------------------------------------------------------------

    async def _run_turn(self, turn: UserTurn, budget: timedelta, correlation_id: str) -> Reply:
        """The dialogue turn, bounded by the callback window; errors become an apology reply."""
        hard_limit = self._config.callback_window - self._config.delivery_reserve
        try:
            async with asyncio.timeout(hard_limit.total_seconds()):
                return await self._dialogue.respond(turn, self._translator.capabilities(budget))
        except TimeoutError as exc:
            _log.warning("kakao turn exceeded %s (correlation_id=%s)", hard_limit, correlation_id)
            self._errors.count(exc)
            return Reply(text=self._messages.late)
        except Exception as exc:  # a task boundary: log the type and the correlation id only
            _log.error("kakao turn failed: %s (correlation_id=%s)", type(exc).__name__, correlation_id)
            self._errors.count(exc)
            return Reply(text=self._messages.apology(correlation_id))

    async def _deliver(
        self, running: RunningTurn, url: str, received_at: datetime, correlation_id: str
    ) -> None:
        """Waits for the turn until ``delivery_reserve`` before the window closes, then POSTs once."""
        try:
            closes_at = received_at + self._config.callback_window
            wait = (closes_at - self._config.delivery_reserve - self._clock.now()).total_seconds()
            if not running.task.done() and wait > 0:
                await asyncio.wait({running.task}, timeout=wait)
            reply = _result(running.task)
            if reply is None:
                _log.warning(
                    "kakao answer not ready before the callback deadline (correlation_id=%s)", correlation_id
                )
                reply = Reply(text=self._messages.late)
            try:
                body = self._translator.encode(reply).to_json()
            except Exception as exc:  # an unencodable reply still gets a valid answer
                _log.error("kakao encode failed: %s (correlation_id=%s)", type(exc).__name__, correlation_id)
                self._errors.count(exc)
                body = self._last_resort(correlation_id)
            result = await self._delivery.deliver(
                url, body, closes_at=closes_at, correlation_id=correlation_id
            )
            _log.info(
                "kakao callback %s after %d attempt(s) (correlation_id=%s)",
                result.status,
                result.attempts,
                correlation_id,
            )
        except Exception as exc:  # a task boundary
            _log.error(
                "kakao callback task failed: %s (correlation_id=%s)", type(exc).__name__, correlation_id
            )
            self._errors.count(exc)

    def _spawn(self, work: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- helpers --------------------------------------------------------------------------------------

    def _usable_callback(self, url: str | None, correlation_id: str) -> str | None:
        if url is None:
            return None
        if url.startswith(self._config.callback_url_prefixes):
            return url
        _log.warning(
            "kakao callbackUrl outside callback_url_prefixes ignored (correlation_id=%s)", correlation_id
        )
        return None

    @staticmethod
    def _ok(response: KakaoSkillResponse, correlation_id: str, mode: Mode) -> SkillOutcome:
        return SkillOutcome(200, response.to_json(), correlation_id, mode)

    def _last_resort(self, correlation_id: str) -> dict[str, Any]:
        """A valid SkillResponse built without the translator, for when something else broke."""
        text = self._messages.apology(correlation_id)
        return {"version": "2.0", "template": {"outputs": [{"simpleText": {"text": text}}]}}

    # -- HTTP -----------------------------------------------------------------------------------------

    def _build_router(self) -> APIRouter:
        @asynccontextmanager
        async def lifespan(_: Any) -> AsyncIterator[None]:
            yield
            await self.aclose()

        router = APIRouter(lifespan=lifespan)
        limit = self._config.max_body_bytes

        @router.post(SKILL_PATH, summary="Kakao i Open Builder skill endpoint (SkillPayload → SkillResponse)")
        async def kakao_skill(request: Request) -> JSONResponse:
            body = bytearray()
            async for chunk in request.stream():
                body.extend(chunk)
                if len(body) > limit:
                    correlation_id = self._new_id()
                    content = _error_body("payload_too_large", f"the body exceeds {limit} bytes")
                    return JSONResponse(
                        content, status_code=413, headers={CORRELATION_HEADER: correlation_id}
                    )
            outcome = await self.handle(bytes(body))
            return JSONResponse(
                outcome.body, status_code=outcome.status, headers={CORRELATION_HEADER: outcome.correlation_id}
            )

        return router


def build_kakao_router(
    dialogue: DialogueManager,
    settings: KakaoChannelConfig,
    callback_sender: CallbackSender,
    clock: Clock,
    *,
    translator: KakaoTranslator | None = None,
    correlation_ids: Callable[[], str] = _new_correlation_id,
    recorder: CallbackRecorder | None = None,
    errors: ErrorRecorder | None = None,
    callback_budget: timedelta | None = None,
) -> APIRouter:
    """The ``/kakao/skill`` router. Its lifespan closes the channel (app shutdown awaits the tasks);
    build a ``KakaoChannel`` directly to hold it and call ``aclose()`` yourself. ``recorder`` counts
    callback delivery outcomes and ``errors`` what the boundaries caught (pass the app's ``Metrics`` to
    both). ``callback_budget`` is what the dialogue is told when a callbackUrl lets the answer come
    later; unset, ``settings.callback_reply_budget`` (about 50 s). The composition root passes
    ``settings.callback_reply_budget_for(embedded=...)``: the short ``embedded_callback_budget`` for the
    slow embedded model."""
    channel = KakaoChannel(
        dialogue,
        settings,
        callback_sender,
        clock,
        translator=translator,
        correlation_ids=correlation_ids,
        recorder=recorder,
        errors=errors,
        callback_budget=callback_budget,
    )
    return channel.router


def _parse(body: bytes) -> KakaoSkillRequest:
    try:
        payload = json.loads(body)
    except (UnicodeDecodeError, ValueError) as exc:
        raise InvalidInbound("the body is not JSON") from exc
    if not isinstance(payload, dict):
        raise InvalidInbound("the body is not a JSON object")
    try:
        return KakaoSkillRequest.model_validate(payload)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(body)'}: {err['msg']}" for err in exc.errors()[:5]
        ]
        raise InvalidInbound("not a Kakao SkillPayload: " + "; ".join(problems)) from exc


def _result(task: asyncio.Task[Reply]) -> Reply | None:
    """The task's reply once it finished normally; ``None`` while running, cancelled or failed."""
    if not task.done() or task.cancelled() or task.exception() is not None:
        return None
    return task.result()
