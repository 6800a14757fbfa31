"""The grounded-answer step of a turn: the pipeline called within the turn's budget, its time measured
apart from the manager's own, and its failures turned into something the turn can still say."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from assistant.answering.answer import Answer, HistoryTurn
from assistant.core.errors import UpstreamError
from assistant.core.replies import AnswerMode, Audience, Capabilities, Citation, Reply
from assistant.dialogue.manager_ports import Answerer
from assistant.dialogue.ports import ReplyDelta

_log = logging.getLogger(__name__)


@dataclass
class TurnClock:
    """One turn's stopwatch: the budget left for answering, and the time spent inside the pipeline; and
    what the turn's observers are told: the safety categories that fired, and about its answer (the
    last one, when a turn answers twice) its ``answer_mode`` and ``fallback_reason``, or the ``error``
    type that stopped it."""

    timer: Callable[[], float]
    budget: timedelta
    started: float = field(init=False)
    answer_ms: float = 0.0
    route: str = "unknown"
    safety_flags: tuple[str, ...] = ()
    answer_mode: AnswerMode | None = None
    fallback_reason: str | None = None
    error: str | None = None

    def __post_init__(self) -> None:
        self.started = self.timer()

    def elapsed_ms(self) -> float:
        return (self.timer() - self.started) * 1000

    def remaining(self) -> timedelta:
        return max(timedelta(0), self.budget - timedelta(milliseconds=self.elapsed_ms()))


@dataclass(frozen=True, slots=True)
class Answered:
    """What the step produced: an ``answer``, or the ``error`` (an ``UpstreamError`` type name) that
    stopped it after ``streamed`` text had already gone out."""

    answer: Answer | None
    error: str | None = None
    streamed: str = ""

    @property
    def failed(self) -> bool:
        """Nothing useful: the pipeline failed or the knowledge did not cover the question."""
        return self.answer is None or self.answer.mode == "abstain"

    @property
    def citations(self) -> tuple[Citation, ...]:
        return self.answer.citations if self.answer is not None else ()

    def text(self, fallback: str) -> str:
        """The answer's text; after a failure, what was streamed and then ``fallback``."""
        if self.answer is not None:
            return self.answer.text
        return f"{self.streamed}\n{fallback}" if self.streamed else fallback

    def as_reply(self, fallback: str, *, audience: Audience = "user") -> Reply:
        return Reply(text=self.text(fallback), citations=self.citations, audience=audience)


class AnswerStep:
    """Calls the ``Answerer`` (``answer``, or ``stream`` forwarding its deltas) and times it."""

    def __init__(self, answers: Answerer, timer: Callable[[], float]) -> None:
        self._answers = answers
        self._timer = timer

    async def run(
        self,
        question: str,
        earlier: Sequence[HistoryTurn],
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
    ) -> AsyncIterator[ReplyDelta | Answered]:
        """Yields deltas (when ``streaming``) and then exactly one ``Answered``."""
        deadline = clock.remaining()
        spoken = capabilities.spoken
        if not streaming:
            mark = self._timer()
            try:
                answer = await self._answers.answer(
                    question, history=earlier, spoken=spoken, deadline=deadline
                )
            except UpstreamError as exc:
                _log.warning("answer failed: %s", type(exc).__name__)
                clock.error = type(exc).__name__
                yield Answered(None, error=clock.error)
                return
            finally:
                clock.answer_ms += (self._timer() - mark) * 1000
            _note(clock, answer)
            yield Answered(answer)
            return
        streamed: list[str] = []
        pieces = aiter(self._answers.stream(question, history=earlier, spoken=spoken, deadline=deadline))
        try:
            while True:
                mark = self._timer()
                try:
                    item = await anext(pieces)
                except StopAsyncIteration:
                    break
                finally:
                    clock.answer_ms += (self._timer() - mark) * 1000
                if isinstance(item, Answer):
                    _note(clock, item)
                    yield Answered(item)
                    return
                streamed.append(item.text)
                yield ReplyDelta(item.text)
        except UpstreamError as exc:
            _log.warning("answer stream failed: %s", type(exc).__name__)
            clock.error = type(exc).__name__
            yield Answered(None, error=clock.error, streamed="".join(streamed))
            return
        finally:
            closer = getattr(pieces, "aclose", None)
            if closer is not None:
                await closer()
        clock.error = "StreamEndedWithoutAnswer"
        yield Answered(None, error=clock.error, streamed="".join(streamed))


def _note(clock: TurnClock, answer: Answer) -> None:
    clock.answer_mode = answer.mode
    clock.fallback_reason = answer.fallback_reason
