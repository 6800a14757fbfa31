"""A Kakao i Open Builder stand-in for development: sends real SkillPayloads, receives callbacks, renders.

``KakaoSimulator.ask(text)`` POSTs a payload shaped like a captured one (see
../shared/protocols/kakao/skillpayload_callback_liam-kor_sanitized.json) to ``{base_url}/kakao/skill``.
With a ``CallbackReceiver`` the payload carries a one-time ``callbackUrl`` on 127.0.0.1, and a
``useCallback`` acknowledgement is followed by waiting for the POST to it. Every answer is checked
against ``KakaoSkillResponse`` (the wire limits), then ``render`` turns it into terminal lines.
The server must accept the receiver's URL: ``DASAN_KAKAO__CALLBACK_URL_PREFIXES=http://127.0.0.1``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from types import TracebackType
from typing import Any, Literal, Self

import httpx
import uvicorn
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from channels.kakao.channel import SKILL_PATH
from channels.kakao.wire_response import (
    BasicCardOutput,
    KakaoButton,
    KakaoSkillResponse,
    ListCardOutput,
    SimpleTextOutput,
)


def build_skill_payload(
    utterance: str, *, bot_id: str, user_key: str, callback_url: str | None = None
) -> dict[str, Any]:
    """A SkillPayload with the structure of a real one (fallback block, botUserKey user)."""
    user_request: dict[str, Any] = {
        "block": {"id": "dasan-simulator-block", "name": "폴백 블록"},
        "user": {
            "id": user_key,
            "type": "botUserKey",
            "properties": {"botUserKey": user_key, "isFriend": True, "bot_user_key": user_key},
        },
        "utterance": utterance,
        "params": {"surface": "Kakaotalk.plusfriend"},
        "lang": "ko",
        "timezone": "Asia/Seoul",
    }
    if callback_url is not None:
        user_request["callbackUrl"] = callback_url
    return {
        "bot": {"id": bot_id, "name": "다산 시뮬레이터"},
        "intent": {
            "id": "dasan-simulator-block",
            "name": "폴백 블록",
            "extra": {"reason": {"code": 1, "message": "OK"}},
        },
        "action": {
            "id": "dasan-simulator-skill",
            "name": "dasan",
            "params": {},
            "detailParams": {},
            "clientExtra": {},
        },
        "userRequest": user_request,
        "contexts": [],
    }


class CallbackReceiver:
    """A local stand-in for Kakao's callback endpoint: ``POST /callback/{token}`` on 127.0.0.1.

    It serves from its own thread (so that it never takes over the caller's signal handlers) and
    hands each body to the asyncio loop that called ``expect``. A second POST to the same token is
    refused with 400, like a used Kakao callbackUrl.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host = host
        self._port = port
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Future[dict[str, Any]]]] = {}
        self._used: set[str] = set()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((self._host, self._port))
        sock.listen(64)
        app = Starlette(routes=[Route("/callback/{token}", self._receive, methods=["POST"])])
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, log_level=logging.WARNING, access_log=False
        )
        self._socket = sock
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="kakao-callback-receiver", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=5)
        if self._socket is not None:
            self._socket.close()
        self._server = self._thread = self._socket = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def url(self, token: str) -> str:
        if self._socket is None:
            raise RuntimeError("the callback receiver is not running")
        port = int(self._socket.getsockname()[1])
        return f"http://{self._host}:{port}/callback/{token}"

    def expect(self, token: str) -> asyncio.Future[dict[str, Any]]:
        """A future for the body that will be POSTed to ``url(token)``."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[dict[str, Any]] = loop.create_future()
        with self._lock:
            self._waiting[token] = (loop, future)
        return future

    def forget(self, token: str) -> None:
        with self._lock:
            self._waiting.pop(token, None)

    async def _receive(self, request: Request) -> JSONResponse:
        token = request.path_params["token"]
        try:
            body = json.loads(await request.body())
        except ValueError:
            return JSONResponse({"status": "FAIL", "message": "not JSON"}, status_code=400)
        with self._lock:
            if token in self._used or token not in self._waiting:
                return JSONResponse(
                    {"status": "FAIL", "message": "unknown or used callback"}, status_code=400
                )
            self._used.add(token)
            loop, future = self._waiting.pop(token)
        loop.call_soon_threadsafe(_settle, future, body)
        return JSONResponse({"taskId": token, "status": "SUCCESS"})


def _settle(future: asyncio.Future[dict[str, Any]], body: dict[str, Any]) -> None:
    if not future.done():
        future.set_result(body)


@dataclass(frozen=True, slots=True)
class SimulatedExchange:
    """One question and what came back: inline, through the callback, or an error."""

    utterance: str
    mode: Literal["inline", "callback", "error"]
    status: int
    elapsed: timedelta
    response: KakaoSkillResponse | None = None
    holding_text: str | None = None
    error: str | None = None


class KakaoSimulator:
    """Plays Kakao's side of the skill protocol against a running dasan server."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        *,
        bot_id: str,
        user_key: str,
        receiver: CallbackReceiver | None = None,
        callback_timeout: timedelta = timedelta(seconds=65),
    ) -> None:
        self._http = http
        self._url = base_url.rstrip("/") + SKILL_PATH
        self._bot_id = bot_id
        self._user_key = user_key
        self._receiver = receiver
        self._callback_timeout = callback_timeout

    async def ask(self, utterance: str) -> SimulatedExchange:
        started = time.monotonic()
        token = uuid.uuid4().hex
        receiver = self._receiver
        future = receiver.expect(token) if receiver is not None else None
        callback_url = receiver.url(token) if receiver is not None else None
        payload = build_skill_payload(
            utterance, bot_id=self._bot_id, user_key=self._user_key, callback_url=callback_url
        )

        def done(
            mode: Literal["inline", "callback", "error"],
            status: int,
            *,
            body: dict[str, Any] | None = None,
            holding: str | None = None,
            error: str | None = None,
        ) -> SimulatedExchange:
            if receiver is not None and mode != "callback":
                receiver.forget(token)
            elapsed = timedelta(seconds=time.monotonic() - started)
            response = None
            if body is not None:
                try:
                    response = KakaoSkillResponse.model_validate(body)
                except ValidationError as exc:
                    mode, error = "error", f"invalid SkillResponse: {exc.errors()[:3]}"
            return SimulatedExchange(utterance, mode, status, elapsed, response, holding, error)

        try:
            answer = await self._http.post(self._url, json=payload, timeout=10.0)
        except httpx.HTTPError as exc:
            return done("error", 0, error=f"{type(exc).__name__}: {exc}")
        try:
            body = answer.json()
        except ValueError:
            return done("error", answer.status_code, error=f"not JSON: {answer.text[:200]}")
        if answer.status_code != 200:
            return done("error", answer.status_code, error=json.dumps(body, ensure_ascii=False))
        if not body.get("useCallback"):
            return done("inline", 200, body=body)
        holding = (body.get("data") or {}).get("text")
        if future is None:
            return done("error", 200, holding=holding, error="useCallback without a callbackUrl")
        try:
            async with asyncio.timeout(self._callback_timeout.total_seconds()):
                posted = await future
        except TimeoutError:
            return done("error", 200, holding=holding, error="no callback arrived in time")
        return done("callback", 200, body=posted, holding=holding)


def render(exchange: SimulatedExchange) -> list[str]:
    """Terminal lines: the text, the links and buttons, the quick replies."""
    lines: list[str] = []
    if exchange.holding_text:
        lines.append(f"(대기 메시지) {exchange.holding_text}")
    if exchange.error is not None:
        lines.append(f"[오류 {exchange.status}] {exchange.error}")
        return lines
    template = exchange.response.template if exchange.response is not None else None
    if template is None:
        return lines
    for output in template.outputs:
        match output:
            case SimpleTextOutput(simpleText=simple):
                lines.append(simple.text)
            case BasicCardOutput(basicCard=card):
                lines.append(f"[카드] {card.title or ''} {card.description or ''}".rstrip())
                lines.extend(f"  {_button(b)}" for b in card.buttons)
            case ListCardOutput(listCard=cards):
                lines.append(f"[목록] {cards.header.title}")
                for item in cards.items:
                    link = f" <{item.link.web}>" if item.link is not None else ""
                    lines.append(f"  - {item.title}{link}")
    if template.quickReplies:
        lines.append("[바로가기] " + " | ".join(q.label for q in template.quickReplies))
    lines.append(f"({exchange.mode}, {exchange.elapsed.total_seconds():.1f}s)")
    return lines


def _button(button: KakaoButton) -> str:
    match button.action:
        case "webLink":
            return f"[링크] {button.label} <{button.webLinkUrl}>"
        case "phone":
            return f"[전화] {button.label} ({button.phoneNumber})"
        case "operator":
            return f"[상담원] {button.label}"
        case "message":
            return f"[메시지] {button.label} → {button.messageText}"
