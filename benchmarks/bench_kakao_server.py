"""The server half of ``bench_kakao.py``: dasan's app with per-turn notes, and the fast scripted model.

``--serve-port P`` builds the services and ``create_app`` exactly as ``dasan serve`` does and serves them
with uvicorn on 127.0.0.1:P, wrapped in ``TagTurns``: each request's ``X-Bench-Turn`` header goes into a
context variable that the turn's tasks inherit, and a logging filter (``TurnNotes``) reads, for that
turn, the answer pipeline's ``answer mode=…`` record and the Kakao channel's timing and delivery
records. ``GET /_bench/turns`` hands the notes back with the event loop's lag (sampled every 50 ms)
and, with ``DASAN_BENCH_PROFILE_LOOP=1``, where the loop thread spent its time (and every thread's
stack, in the server log, whenever the loop stalls for 0.5 s). Nothing in dasan is
changed or patched.

``--fake-llm-port P`` serves ``tests.fakes.openai_server.FakeOpenAIServer`` with a prompt-aware default:
the first sentence of source [1], cited, or ``{"query": question}`` for a rewrite, in 50–200 ms.
"""

from __future__ import annotations

import argparse
import asyncio
import contextvars
import faulthandler
import logging
import os
import random
import re
import sys
import threading
import time
import traceback
from collections import Counter
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

import uvicorn
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

ROOT = Path(__file__).resolve().parents[1]
TURN_HEADER = "x-bench-turn"
NOTES_PATH = "/_bench/turns"
PROFILE_ENV = "DASAN_BENCH_PROFILE_LOOP"
STALL_S = 0.5


def pct(values: Sequence[float], q: float) -> float | None:
    """Nearest-rank percentile; None without values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5))) - 1]


# -- the server process (``--serve-port``) ------------------------------------------------------------

_TURN: contextvars.ContextVar[str | None] = contextvars.ContextVar("bench_turn", default=None)


class TurnNotes(logging.Filter):
    """Reads, for the tagged turn, the answer pipeline's ``answer mode=%s reason=%s …`` record and the
    Kakao channel's ``kakao skill %s status=%d in %.0f ms`` and ``kakao callback %s after %d attempt(s)``
    records; the ASGI wrapper adds the time the app took. Loop lag is sampled every 50 ms."""

    def __init__(self) -> None:
        super().__init__()
        self.by_turn: dict[str, dict[str, Any]] = {}
        self.lag_ms: list[float] = []
        self.stalls: list[tuple[float, int]] = []  # (seconds since the reset, lag in ms)
        self.since = time.monotonic()
        self.sampler: StackSampler | None = None

    def note(self, turn: str, **values: Any) -> None:
        self.by_turn.setdefault(turn, {}).update(values)

    def filter(self, record: logging.LogRecord) -> bool:
        turn, args, msg = _TURN.get(), record.args, record.msg
        if not isinstance(msg, str) or not isinstance(args, tuple):
            return True
        if msg.startswith("answer mode=%s reason=%s") and len(args) == 4:
            if turn is not None:
                self.note(turn, mode=args[0], reason=args[1], answer_ms=_ms(args[3]))
            return False  # recorded here, not printed (the server logs at WARNING)
        if msg.startswith("kakao skill %s status=%d in %.0f ms") and len(args) == 4:
            if turn is not None:
                self.note(turn, channel_mode=args[0], handle_ms=_ms(args[2]))
            return False
        if msg.startswith("kakao callback %s after %d attempt") and len(args) == 3:
            if turn is not None:
                self.note(turn, delivery=args[0], attempts=args[1])
            return False
        return record.levelno >= logging.WARNING

    async def sample_lag(self, every: float = 0.05, *, dump_stalls: bool = False) -> None:
        """Appends the loop's lag every ``every`` s. ``dump_stalls``: when the loop does not come back
        within ``STALL_S``, faulthandler's own thread (it needs no GIL) writes every thread's stack to
        stderr, which names what held the loop or the GIL."""
        loop = asyncio.get_running_loop()
        while True:
            if dump_stalls:
                faulthandler.dump_traceback_later(STALL_S, file=sys.stderr)
            before = loop.time()
            await asyncio.sleep(every)
            lag = (loop.time() - before - every) * 1000
            self.lag_ms.append(lag)
            if lag >= STALL_S * 1000:
                self.stalls.append((round(time.monotonic() - self.since, 2), round(lag)))


def _ms(value: object) -> float | None:
    return round(float(value), 1) if isinstance(value, int | float) else None


class TagTurns:
    """ASGI wrapper: puts the ``X-Bench-Turn`` header in ``_TURN`` (tasks the request starts inherit it),
    notes how long the app took to send the whole response, and serves ``GET /_bench/turns`` (with
    ``facts``, the server's resolved settings worth recording)."""

    def __init__(self, app: ASGIApp, notes: TurnNotes, facts: Mapping[str, Any] | None = None) -> None:
        self._app = app
        self._notes = notes
        self._facts = dict(facts or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if scope["path"] == NOTES_PATH:
            lag = self._notes.lag_ms
            if scope.get("query_string", b"").startswith(b"reset"):  # the measured run starts now
                lag.clear()
                self._notes.stalls.clear()
                self._notes.since = time.monotonic()
                self._notes.sampler = self._notes.sampler and self._notes.sampler.restarted()
            lag_ms = {"p50": pct(lag, 50), "p99": pct(lag, 99), "max": max(lag, default=None)}
            body: dict[str, Any] = {"turns": self._notes.by_turn, "loop_lag_ms": lag_ms, **self._facts}
            body["loop_stalls"] = self._notes.stalls
            if self._notes.sampler is not None:
                body["loop_profile"] = self._notes.sampler.top()
            await JSONResponse(body)(scope, receive, send)
            return
        turn = next((v.decode() for k, v in scope["headers"] if k == TURN_HEADER.encode()), None)
        if turn is None:
            await self._app(scope, receive, send)
            return
        _TURN.set(turn)
        started = time.perf_counter()

        async def timed_send(message: MutableMapping[str, Any]) -> None:
            await send(message)
            if message["type"] == "http.response.body" and not message.get("more_body", False):
                self._notes.note(turn, app_ms=round((time.perf_counter() - started) * 1000, 1))

        await self._app(scope, receive, timed_send)


class StackSampler:
    """``--profile-loop``: samples the event loop thread's stack every 5 ms; ``top()`` says where it spent
    its time (the innermost dasan frame and the innermost frame), to find what blocks the loop."""

    def __init__(self) -> None:
        self._counts: Counter[str] = Counter()
        self._stop = threading.Event()
        self._loop_thread = threading.get_ident()
        self._thread = threading.Thread(target=self._run, name="stack-sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            frame = sys._current_frames().get(self._loop_thread)
            if frame is None:
                continue
            stack = traceback.extract_stack(frame)
            ours = [
                f
                for f in stack
                if f"{os.sep}site-packages{os.sep}" not in f.filename and str(ROOT) in f.filename
            ]
            where = f"{Path(ours[-1].filename).relative_to(ROOT)}:{ours[-1].lineno}" if ours else "-"
            self._counts[
                f"{where} in {stack[-1].name} ({Path(stack[-1].filename).name}:{stack[-1].lineno})"
            ] += 1

    def restarted(self) -> StackSampler:
        self._stop.set()
        fresh = StackSampler()
        fresh.start()
        return fresh

    def top(self, n: int = 30) -> list[str]:
        total = sum(self._counts.values()) or 1
        return [f"{count / total:6.1%}  {key}" for key, count in self._counts.most_common(n)]


async def serve(port: int) -> None:
    from assistant.app.channel_mounts import kakao_callback_budget
    from assistant.app.cli.runtime import configure_logging
    from assistant.app.http import create_app
    from assistant.app.services import build_services
    from assistant.app.settings import load_settings

    settings = load_settings()
    configure_logging(settings)
    notes = TurnNotes()
    for name in ("assistant.answering.pipeline", "channels.kakao.channel"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.INFO)
        logger.addFilter(notes)
    services = await build_services(settings)
    profile = bool(os.environ.get(PROFILE_ENV))
    lag = asyncio.create_task(notes.sample_lag(dump_stalls=profile))
    if profile:
        notes.sampler = StackSampler()
        notes.sampler.start()
    try:
        facts = {"callback_budget_s": kakao_callback_budget(settings).total_seconds()}
        app = TagTurns(create_app(services), notes, facts)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", access_log=False)
        await uvicorn.Server(config).serve()
    finally:  # uvicorn re-raises SIGTERM after its graceful shutdown: this may not run
        lag.cancel()
        await services.aclose()


# -- the fast scripted model (``--fake-llm-port``) -------------------------------------------------------

_SOURCE_ONE = re.compile(r"^\[1\] [^\n]*\n(?P<text>.*?)(?=\n\[\d+\] |\n\n|\Z)", re.S | re.M)
_QUESTION = re.compile(r"\[질문\]\n(?P<q>.+?)\s*\Z", re.S)
_SENTENCE_END = re.compile(r"(?<=[.?!])\s+")


def citing_answer(prompt: str) -> str:
    """The first sentence of source [1], cited: what a good model says for a FAQ question."""
    found = _SOURCE_ONE.search(prompt)
    text = found["text"].strip() if found else ""
    first = _SENTENCE_END.split(text, maxsplit=1)[0].strip() if text else ""
    return f"{first} [1]" if first else "제공된 자료에서 답을 찾을 수 없습니다."


def serve_fake_llm(port: int, seed: int) -> None:
    sys.path.insert(0, str(ROOT))  # tests.fakes lives beside the packages
    from tests.fakes.openai_server import Behaviour, FakeOpenAIServer, JsonReply, Reply, _requested_schema

    rng = random.Random(seed)

    class CitingLLM(FakeOpenAIServer):
        """Prompt-aware default: a cited first sentence of [1], or ``{"query": question}``, in 50–200 ms."""

        def _default(self, body: Mapping[str, Any]) -> Behaviour:
            messages = body.get("messages") or []
            prompt = next(
                (str(m.get("content", "")) for m in reversed(messages) if m.get("role") == "user"), ""
            )
            delay = timedelta(milliseconds=rng.uniform(50, 200))
            if _requested_schema(body) is not None:
                question = _QUESTION.search(prompt)
                return JsonReply({"query": question["q"] if question else prompt[-100:]}, delay=delay)
            return Reply(citing_answer(prompt), delay=delay)

    with CitingLLM(model="fake-vllm-model", port=port):
        print(f"citing fake LLM on 127.0.0.1:{port}", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    role = parser.add_mutually_exclusive_group(required=True)
    role.add_argument("--serve-port", type=int)
    role.add_argument("--fake-llm-port", type=int)
    parser.add_argument("--seed", type=int, default=20261125)
    args = parser.parse_args()
    if args.serve_port:
        asyncio.run(serve(args.serve_port))
    else:
        serve_fake_llm(args.fake_llm_port, args.seed)


if __name__ == "__main__":
    main()
