"""The grounded generation call: render the answer prompt and stream it (joined, or piece by piece)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Sequence
from dataclasses import dataclass
from datetime import timedelta

from assistant.answering.answer import HistoryTurn
from assistant.answering.text import strip_citations
from assistant.answering.turn import Turn
from assistant.core.errors import LLMError
from assistant.llm.ports import ChatRequest, Completion, LLMClient
from assistant.llm.prompt import Prompt


class GenerationFailed(Exception):
    """The model gave no usable text: ``reason`` is ``deadline`` or ``llm_error:<ErrorType>``."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AnswerPrompts:
    """``text`` (``grounded_answer``) for screens, ``spoken`` (``spoken_answer``) for the phone. Both
    declare ``question``, ``sources``, ``history`` and the ``no_answer`` constant."""

    text: Prompt
    spoken: Prompt

    def for_channel(self, *, spoken: bool) -> Prompt:
        return self.spoken if spoken else self.text


class GroundedGenerator:
    """Asks the model for a cited answer from the packed sources. ``max_tokens`` None keeps the prompt's
    default; only the last ``history_turns`` turns go into the prompt, to keep it lean for small models.
    Every failure (an ``LLMError``, the budget running out) becomes ``GenerationFailed``."""

    def __init__(
        self,
        llm: LLMClient,
        prompts: AnswerPrompts,
        *,
        max_tokens: int | None = None,
        history_turns: int = 4,
    ) -> None:
        self._llm = llm
        self._prompts = prompts
        self._max_tokens = max_tokens
        self._history_turns = history_turns

    def no_answer(self, spoken: bool) -> str:
        return self._prompts.for_channel(spoken=spoken).constants.get("no_answer", "")

    async def complete(self, turn: Turn, history: Sequence[HistoryTurn], budget: timedelta) -> str:
        """The whole answer, generated as a stream and joined. When ``budget`` runs out (or the caller is
        cancelled) the stream is closed, and with it the connection, so the model stops at its next
        token: llama-cpp-python's server finishes a non-streamed completion even after its client left,
        keeping its one slot busy for every later question (see ``benchmarks/README.md``)."""
        pieces = self.stream(turn, history, budget)
        try:
            return "".join([piece async for piece in pieces])
        finally:
            await pieces.aclose()

    async def stream(
        self, turn: Turn, history: Sequence[HistoryTurn], budget: timedelta
    ) -> AsyncGenerator[str, None]:
        """Yields text pieces. Each wait for the next piece is bounded by what is left of ``budget``."""
        request = self._request(turn, history, budget)
        loop = asyncio.get_running_loop()
        ends = loop.time() + budget.total_seconds()
        items = self._llm.stream(request)
        try:
            while True:
                left = ends - loop.time()
                if left <= 0:
                    raise GenerationFailed("deadline")
                try:
                    item = await asyncio.wait_for(anext(items), left)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise GenerationFailed("deadline") from exc
                except LLMError as exc:
                    raise GenerationFailed(f"llm_error:{type(exc).__name__}") from exc
                if isinstance(item, Completion):
                    continue
                if item.text:
                    yield item.text
        finally:
            aclose = getattr(items, "aclose", None)
            if aclose is not None:
                await aclose()

    def _request(self, turn: Turn, history: Sequence[HistoryTurn], budget: timedelta) -> ChatRequest:
        prompt = self._prompts.for_channel(spoken=turn.spoken)
        recent = list(history)[-self._history_turns :] if self._history_turns else []
        rendered = prompt.render(
            {
                "question": turn.question,
                "sources": [source.prompt_item() for source in turn.packed],
                "history": [{"role": t.role, "text": strip_citations(t.text)} for t in recent],
            }
        )
        turn.prompt_version = rendered.version
        return rendered.to_request(max_tokens=self._max_tokens, timeout=budget)
