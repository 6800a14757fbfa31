"""Test doubles for the Kakao channel: a scripted dialogue and a fake Kakao callback endpoint on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from assistant.core.clock import Clock
from assistant.core.events import DialogueInput
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.ports import ReplyDelta

SHARED_KAKAO = Path(__file__).resolve().parents[4].parent / "shared" / "protocols" / "kakao"
REAL_PAYLOAD = "skillpayload_callback_liam-kor_sanitized.json"
V1_DOCS_PAYLOAD = "skillpayload_official_docs_v1_example.json"
RESPONSE_EXAMPLES = "skillresponse_examples_constructed.json"


def shared_json(name: str) -> dict[str, Any]:
    """A file from ../shared/protocols/kakao, read at test time (the caller skips when it is absent)."""
    data: dict[str, Any] = json.loads((SHARED_KAKAO / name).read_text(encoding="utf-8"))
    return data


# -- the dialogue ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Answer:
    """Answer ``reply`` once ``release`` is set (at once without one)."""

    reply: Reply
    release: asyncio.Event | None = None


@dataclass(frozen=True, slots=True)
class Fail:
    """Raise ``error``."""

    error: BaseException


@dataclass(frozen=True, slots=True)
class Hang:
    """Never answer (until cancelled)."""


Step = Answer | Fail | Hang


@dataclass
class ScriptedDialogue:
    """Implements ``DialogueManager``: each ``respond`` takes the next step; with the script used up it
    answers ``default`` (or fails loudly when there is none). Records every call."""

    steps: list[Step] = field(default_factory=list)
    default: Reply | None = None
    calls: list[tuple[DialogueInput, Capabilities]] = field(default_factory=list)
    called: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def of(cls, *steps: Step, default: Reply | None = None) -> ScriptedDialogue:
        return cls(steps=list(steps), default=default)

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        self.calls.append((event, capabilities))
        self.called.set()
        if self.steps:
            step = self.steps.pop(0)
        elif self.default is not None:
            step = Answer(self.default)
        else:
            raise AssertionError(f"ScriptedDialogue: unexpected call #{len(self.calls)}")
        match step:
            case Answer(reply=reply, release=release):
                if release is not None:
                    await release.wait()
                return reply
            case Fail(error=error):
                raise error
            case Hang():
                await asyncio.Event().wait()
                raise AssertionError("unreachable")

    async def stream(
        self, event: DialogueInput, capabilities: Capabilities
    ) -> AsyncIterator[ReplyDelta | Reply]:
        reply = await self.respond(event, capabilities)
        yield ReplyDelta(reply.text)
        yield reply

    def assert_used_up(self) -> None:
        assert not self.steps, f"{len(self.steps)} scripted steps were not used"


# -- Kakao's callback endpoint ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReceivedCallback:
    path: str
    body: dict[str, Any]
    at: datetime


class FakeKakaoCallbackEndpoint:
    """Kakao's callback API at its wire protocol: ``POST /v1/bots/{bot}/callback/{token}`` on a real
    127.0.0.1 socket, served by uvicorn in the test's own event loop. ``statuses`` scripts the HTTP
    status of successive POSTs (200 once used up). Every POST is recorded with the ``clock``'s time."""

    def __init__(self, clock: Clock, statuses: Sequence[int] = ()) -> None:
        self._clock = clock
        self._statuses = list(statuses)
        self.received: list[ReceivedCallback] = []
        self._arrived = asyncio.Condition()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> Self:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind(("127.0.0.1", 0))
        sock.listen(64)
        app = Starlette(routes=[Route("/v1/bots/{bot}/callback/{token}", self._receive, methods=["POST"])])
        config = uvicorn.Config(
            app, lifespan="off", log_config=None, log_level=logging.WARNING, access_log=False
        )
        self._socket = sock
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve(sockets=[sock]))
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
        if self._socket is not None:
            self._socket.close()

    @property
    def base_url(self) -> str:
        assert self._socket is not None
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}"

    def callback_url(self, token: str = "token-1", bot: str = "5ae9b76d7409b11ec845b746!") -> str:
        return f"{self.base_url}/v1/bots/{bot}/callback/{token}"

    async def wait_for(self, count: int, within: timedelta = timedelta(seconds=5)) -> list[ReceivedCallback]:
        async with asyncio.timeout(within.total_seconds()), self._arrived:
            await self._arrived.wait_for(lambda: len(self.received) >= count)
        return list(self.received)

    async def _receive(self, request: Request) -> JSONResponse:
        body = json.loads(await request.body())
        status = self._statuses.pop(0) if self._statuses else 200
        async with self._arrived:
            self.received.append(ReceivedCallback(request.url.path, body, self._clock.now()))
            self._arrived.notify_all()
        if status != 200:
            return JSONResponse({"status": "FAIL", "message": f"scripted {status}"}, status_code=status)
        return JSONResponse({"taskId": request.path_params["token"], "status": "SUCCESS"})
