"""The Twilio phone channel over real sockets.

* Citation SMS through the real ``twilio`` REST client (its own aiohttp transport, subclassed only to
  point at 127.0.0.1) against a local fake of the Messages API.
* The router served by uvicorn, played by ``PhoneSimulator`` and by the ``simulate phone`` command,
  with a dialogue slow enough to need fillers and redirects.
* Webhook response times with a fast and a slow dialogue (slow test; prints a table).
"""

from __future__ import annotations

import asyncio
import json
import socket
import statistics
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
import pytest
import typer
import uvicorn
from fastapi import FastAPI
from pydantic import SecretStr
from twilio.http.async_http_client import AsyncTwilioHttpClient
from typer.testing import CliRunner

from assistant.core.clock import SystemClock
from assistant.core.errors import DeliveryError
from assistant.core.events import DialogueInput, UserTurn
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.ports import ReplyDelta
from channels.twilio import TwilioChannelConfig, TwilioSmsSender, build_twilio_router
from channels.twilio.simulate_cli import register
from channels.twilio.simulator import PhoneSimulator

ACCOUNT_SID = "AC" + "a" * 32
TOKEN = SecretStr("f" * 32)
FROM = "+8221200120"

pytestmark = [
    # the twilio SDK's aiohttp transport still passes auth= (aiohttp deprecates it for 4.0)
    pytest.mark.filterwarnings("ignore:BasicAuth is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The 'auth' parameter is deprecated:DeprecationWarning"),
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# ---------------------------------------------------------------- fake Twilio Messages API


@dataclass
class FakeTwilioMessages:
    """Twilio's ``POST /2010-04-01/Accounts/{sid}/Messages.json`` with its documented replies."""

    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def respond(self, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict[str, Any]]:
        form = {key: values[0] for key, values in parse_qs(body.decode("utf-8")).items()}
        with self.lock:
            self.requests.append({"path": path, "headers": headers, "form": form})
        if path != f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json":
            return 404, {"code": 20404, "message": "The requested resource was not found", "status": 404}
        if form.get("To") == "+15005550001":
            return 400, {
                "code": 21211,
                "message": "The 'To' number +15005550001 is not a valid phone number.",
                "more_info": "https://www.twilio.com/docs/errors/21211",
                "status": 400,
            }
        if form.get("To") == "+821000000500":
            return 500, {"code": 20500, "message": "Internal Server Error", "status": 500}
        return 201, {
            "sid": "SM" + "b" * 32,
            "account_sid": ACCOUNT_SID,
            "api_version": "2010-04-01",
            "body": form.get("Body"),
            "to": form.get("To"),
            "from": form.get("From"),
            "status": "queued",
            "direction": "outbound-api",
            "num_segments": "1",
            "date_created": "Mon, 02 Mar 2026 09:00:00 +0000",
            "uri": f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/SM{'b' * 32}.json",
        }


@contextmanager
def fake_twilio_api() -> Iterator[tuple[FakeTwilioMessages, int]]:
    fake = FakeTwilioMessages()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            status, payload = fake.respond(self.path, dict(self.headers.items()), body)
            data = json.dumps(payload).encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


class LoopbackTwilioHttpClient(AsyncTwilioHttpClient):  # type: ignore[misc]
    """The SDK's own async transport, with api.twilio.com rewritten to the local fake."""

    def __init__(self, port: int) -> None:
        super().__init__(timeout=5)
        self._port = port

    async def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        parts = urlsplit(url)
        assert parts.hostname == "api.twilio.com", url
        local = urlunsplit(("http", f"127.0.0.1:{self._port}", parts.path, parts.query, ""))
        return await super().request(method, local, *args, **kwargs)


@pytest.mark.anyio
async def test_citation_sms_goes_through_the_real_twilio_client() -> None:
    with fake_twilio_api() as (fake, port):
        sender = TwilioSmsSender(ACCOUNT_SID, TOKEN, FROM, http_client=LoopbackTwilioHttpClient(port))
        try:
            await sender.send("+821012345678", "[다산 120] 출처\n[1] 여권 안내 (faq)\nhttps://x.example/1")
            with pytest.raises(DeliveryError) as invalid:
                await sender.send("+15005550001", "x")
            with pytest.raises(DeliveryError) as broken:
                await sender.send("+821000000500", "x")
        finally:
            await sender.close()

    first = fake.requests[0]
    assert first["path"] == f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages.json"
    assert first["form"] == {
        "To": "+821012345678",
        "From": FROM,
        "Body": "[다산 120] 출처\n[1] 여권 안내 (faq)\nhttps://x.example/1",
    }
    assert first["headers"]["Authorization"].startswith("Basic ")
    assert "21211" in str(invalid.value)
    assert invalid.value.retryable is False
    assert broken.value.retryable is True


# ---------------------------------------------------------------- served by uvicorn


class DelayedDialogue:
    """Answers every user turn after ``delay`` seconds of (simulated) thinking, echoing the turn."""

    def __init__(self, delay: float, *, handoff_on: str = "상담사") -> None:
        self._delay = delay
        self._handoff_on = handoff_on
        self.events: list[DialogueInput] = []

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        self.events.append(event)
        if not isinstance(event, UserTurn):
            return Reply(text="")
        if self._delay:
            await asyncio.sleep(self._delay)  # stands in for retrieval and generation
        if self._handoff_on in event.text:
            return Reply(text="상담사에게 연결해 드릴게요.", action="handoff")
        return Reply(text=f"{event.text}에 대해 안내해 드릴게요. 구청 민원실에 문의하시면 돼요.")

    async def stream(self, event: DialogueInput, capabilities: Capabilities) -> Any:
        reply = await self.respond(event, capabilities)
        yield ReplyDelta(reply.text)
        yield reply


def _app(dialogue: DelayedDialogue, config: TwilioChannelConfig) -> FastAPI:
    app = FastAPI()
    app.include_router(build_twilio_router(dialogue, config, SystemClock(), auth_token=TOKEN))
    return app


@contextmanager
def served(app: FastAPI) -> Iterator[str]:
    """uvicorn on a socket that already listens, so clients can connect before it has started."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on", proxy_headers=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _config(**overrides: Any) -> TwilioChannelConfig:
    values: dict[str, Any] = {
        "agent_number": "+8227000120",
        "filler_budget": timedelta(milliseconds=50),
        "answer_poll_wait": timedelta(milliseconds=50),
    }
    values.update(overrides)
    return TwilioChannelConfig.model_validate(values)


@pytest.mark.anyio
async def test_a_simulated_call_over_http_follows_fillers_and_redirects() -> None:
    dialogue = DelayedDialogue(delay=0.25)
    with served(_app(dialogue, _config())) as url:
        async with httpx.AsyncClient(timeout=10) as http:
            caller = PhoneSimulator(http, url, TOKEN)
            greeting = await caller.call()
            answer = await caller.say("여권 발급")
            agent = await caller.say("상담사 연결해 주세요")
            await caller.hang_up(duration_s=30)

    assert greeting.listening
    assert "안녕하세요" in greeting.says[0]
    assert answer.says[0] in {"잠시만 기다려 주세요.", "확인하고 있어요. 잠시만요."}
    assert answer.says[-1].startswith("여권 발급에 대해 안내해 드릴게요.")
    assert answer.listening
    assert agent.dialed == "+8227000120"
    assert agent.ended
    assert [e.text for e in dialogue.events if isinstance(e, UserTurn)] == [
        "여권 발급",
        "상담사 연결해 주세요",
    ]


def test_the_simulate_phone_command_plays_a_call(tmp_path: Path) -> None:
    cli = typer.Typer()
    register(cli)

    @cli.callback()
    def main() -> None:
        """Makes ``phone`` a subcommand, as under ``dasan simulate``."""

    dialogue = DelayedDialogue(delay=0.1)
    with served(_app(dialogue, _config())) as url:
        result = CliRunner().invoke(
            cli,
            ["phone", "--url", url, "--auth-token", TOKEN.get_secret_value(), "--data-dir", str(tmp_path)],
            input="쓰레기 버리는 날\n\n*\n0\n",
        )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert any(line.startswith("assistant: 안녕하세요") for line in lines)
    assert any(line.startswith("assistant: 쓰레기 버리는 날에 대해 안내해 드릴게요.") for line in lines)
    assert "assistant: 잘 듣지 못했어요. 다시 한 번 말씀해 주세요." in lines
    assert "(dial +8227000120)" in lines
    assert "ended after 4 caller turns" in lines[-1]


def test_the_simulator_uses_the_development_token_from_the_data_dir(tmp_path: Path) -> None:
    from channels.twilio.config import resolve_auth_token

    token = resolve_auth_token(None, tmp_path)
    app = FastAPI()
    app.include_router(build_twilio_router(DelayedDialogue(0), _config(), SystemClock(), auth_token=token))
    cli = typer.Typer()
    register(cli)

    @cli.callback()
    def main() -> None:
        """Makes ``phone`` a subcommand."""

    with served(app) as url:
        good = CliRunner().invoke(cli, ["phone", "--url", url, "--data-dir", str(tmp_path)], input="")
        bad = CliRunner().invoke(
            cli, ["phone", "--url", url, "--data-dir", str(tmp_path), "--auth-token", "wrong"], input=""
        )
    assert good.exit_code == 0, good.output
    assert bad.exit_code == 1
    assert "HTTP 403" in bad.output


# ---------------------------------------------------------------- response times


def _p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


class TimingTransport(httpx.AsyncBaseTransport):
    """Times each webhook request the simulator makes (redirects included), by route."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.timings: dict[str, list[float]] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        started = time.perf_counter()
        response = await self._inner.handle_async_request(request)
        await response.aread()
        route = request.url.path.rsplit("/", 1)[1]
        self.timings.setdefault(route, []).append((time.perf_counter() - started) * 1000)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


async def _timed_calls(url: str, calls: int, turns: int) -> dict[str, list[float]]:
    transport = TimingTransport()

    async def one_call(http: httpx.AsyncClient) -> None:
        caller = PhoneSimulator(http, url, TOKEN)
        await caller.call()
        for n in range(turns):
            await caller.say(f"질문 {n}")
        await caller.hang_up(duration_s=60)

    async with httpx.AsyncClient(transport=transport, timeout=30) as http:
        await asyncio.gather(*(one_call(http) for _ in range(calls)))
    return transport.timings


@pytest.mark.slow
@pytest.mark.anyio
async def test_webhook_response_times(capsys: pytest.CaptureFixture[str]) -> None:
    rows: list[str] = []
    scenarios = {
        "fast dialogue (0 ms)": (0.0, _config()),
        "slow dialogue (1.5 s), default budgets": (1.5, TwilioChannelConfig(agent_number="+8227000120")),
    }
    results: dict[str, dict[str, list[float]]] = {}
    for name, (delay, config) in scenarios.items():
        with served(_app(DelayedDialogue(delay), config)) as url:
            results[name] = await _timed_calls(url, calls=4, turns=5)
    for name, timings in results.items():
        for path, values in sorted(timings.items()):
            rows.append(
                f"| {name} | {path} | {len(values)} | {statistics.median(values):.1f} | {_p95(values):.1f} |"
                f" {max(values):.1f} |"
            )
    with capsys.disabled():
        print("\n| scenario | webhook | n | p50 ms | p95 ms | max ms |\n|---|---|---|---|---|---|")
        print("\n".join(rows))
    slow = results["slow dialogue (1.5 s), default budgets"]
    assert len(slow["answer"]) >= 4 * 5  # the slow replies really went through filler and polls
