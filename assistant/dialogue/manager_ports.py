"""What the dialogue manager needs: grounded answers, flows (optional) and a turn observer."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from assistant.answering.answer import Answer, AnswerDelta, HistoryTurn
from assistant.core.events import ConversationKey, MessageId
from assistant.core.replies import AnswerMode, ReplyAction


class Answerer(Protocol):
    """Grounded answers (``AnswerPipeline`` satisfies it). Questions and history come in redacted."""

    async def answer(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> Answer: ...

    def stream(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> AsyncIterator[AnswerDelta | Answer]: ...


@dataclass(frozen=True, slots=True)
class FlowOutcome:
    """One flow turn as the manager sees it.

    ``text`` is for the citizen and may hold their own details (a confirmation); the manager redacts it
    before storing. ``state`` is what to keep in the conversation: JSON, with personal slots already
    replaced by placeholders (``None``: no flow runs any more). ``digress_question`` asks the manager to
    answer it and then ``resume``. ``record`` is the public view of what the flow created.
    """

    text: str
    state: Mapping[str, Any] | None
    quick_replies: tuple[str, ...] = ()
    flow_id: str | None = None
    status: str | None = None
    done: bool = False
    handoff: bool = False
    digress_question: str | None = None
    record: Mapping[str, Any] | None = None


class FlowPort(Protocol):
    """Flows behind the manager (``assistant.dialogue.flow_bridge.ExecutorFlows`` adapts the executor).

    ``handle`` gets the citizen's RAW text (flows parse phone numbers and addresses deterministically)
    and returns ``None`` when the text is not for a flow.
    """

    async def handle(
        self, text: str, state: Mapping[str, Any] | None, *, key: ConversationKey
    ) -> FlowOutcome | None: ...

    async def resume(self, state: Mapping[str, Any], *, key: ConversationKey) -> FlowOutcome: ...

    def describe(self, state: Mapping[str, Any] | None) -> str | None:
        """A short Korean description of a running flow for the agent (no personal values)."""
        ...

    async def forget(self, key: ConversationKey) -> None:
        """Drop whatever personal slot values are held for ``key`` (the flow was abandoned)."""
        ...


@dataclass(frozen=True, slots=True)
class TurnTiming:
    """Where one turn's time went, and what it decided: ``total_ms`` inside the manager, of which
    ``answer_ms`` in the answer pipeline (retrieval and the model). ``route`` names the path the turn
    took; ``action`` is the reply's (None when the turn failed); ``answer_mode`` the grounded answer's
    (None when nothing was answered); ``safety_flags`` the safety categories that fired; ``error`` the
    type of the failure that stopped the answer (the turn still replied) or, with ``failed``, the turn."""

    key: ConversationKey
    message_id: MessageId
    route: str
    total_ms: float
    answer_ms: float
    action: ReplyAction | None = None
    answer_mode: AnswerMode | None = None
    safety_flags: tuple[str, ...] = ()
    error: str | None = None
    failed: bool = False

    @property
    def dialogue_ms(self) -> float:
        """The manager's own time: everything but the answer pipeline."""
        return max(0.0, self.total_ms - self.answer_ms)

    @property
    def abstained(self) -> bool:
        return self.answer_mode == "abstain"

    @property
    def handoff(self) -> bool:
        return self.action == "handoff"


class TurnObserver(Protocol):
    """Told about every finished turn, failed ones included (``TurnTimingLog``, the metrics)."""

    def turn_done(self, timing: TurnTiming) -> None: ...
