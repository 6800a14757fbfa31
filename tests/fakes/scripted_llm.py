"""ScriptedLLM: an ``LLMClient`` that replays scripted completions, streams and failures, in order.

Each call (``complete`` or ``stream``) takes the next step; a call with no step left fails the test, and
``assert_used_up()`` fails when steps were left over. Steps:

- ``Says(text)``: the completion text; a stream yields it in small pieces (``piece_chars``), then the
  final ``Completion``.
- ``Fails(error)``: raises ``error`` (a stream raises it after yielding ``after`` first, if given).
- ``Hangs()``: never answers; waits until the caller cancels it (a deadline), and records that.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from assistant.core.errors import LLMError
from assistant.llm.ports import ChatRequest, Completion, LLMHealth, TokenDelta


@dataclass(frozen=True, slots=True)
class Says:
    text: str
    piece_chars: int = 3


@dataclass(frozen=True, slots=True)
class Fails:
    error: LLMError
    after: str = ""


@dataclass(frozen=True, slots=True)
class Hangs:
    pass


Step = Says | Fails | Hangs


class ScriptedLLM:
    """See the module docstring. ``requests`` records every request; ``streamed`` every piece a stream
    handed out; ``closed_streams`` how many streams were closed (finished or abandoned)."""

    def __init__(self, *steps: Step, model: str = "scripted") -> None:
        self._steps: deque[Step] = deque(steps)
        self._model = model
        self.requests: list[ChatRequest] = []
        self.streamed: list[str] = []
        self.closed_streams = 0
        self.cancelled = 0

    @property
    def model(self) -> str:
        return self._model

    def assert_used_up(self) -> None:
        assert not self._steps, f"{len(self._steps)} scripted step(s) were never used: {list(self._steps)}"

    def _next(self, request: ChatRequest) -> Step:
        assert self._steps, f"ScriptedLLM called more often than scripted (request {len(self.requests) + 1})"
        self.requests.append(request)
        return self._steps.popleft()

    async def _hang(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled += 1
            raise

    async def complete(self, request: ChatRequest) -> Completion:
        step = self._next(request)
        match step:
            case Says(text=text):
                return Completion(text=text, model=self._model, finish_reason="stop")
            case Fails(error=error):
                raise error
            case Hangs():
                await self._hang()
        raise AssertionError("unreachable")

    async def stream(self, request: ChatRequest) -> AsyncIterator[TokenDelta | Completion]:
        step = self._next(request)
        try:
            match step:
                case Says(text=text, piece_chars=size):
                    for start in range(0, len(text), size):
                        piece = text[start : start + size]
                        self.streamed.append(piece)
                        yield TokenDelta(piece)
                    yield Completion(text=text, model=self._model, finish_reason="stop")
                case Fails(error=error, after=after):
                    if after:
                        self.streamed.append(after)
                        yield TokenDelta(after)
                    raise error
                case Hangs():
                    await self._hang()
        finally:
            self.closed_streams += 1

    async def health(self) -> LLMHealth:
        return LLMHealth(ok=True, detail="scripted")
