"""CivicDialogueManager: the one dialogue manager every channel calls (``DialogueManager`` port).

A citizen's turn goes, in order: safety (deterministic, before any model) → PII redaction of what is
stored and sent on → a human's turn (waiting for or talking to an agent) → prompt injection → a request
for a human → flows → grounded answers. See ``user_turns`` for the routing and ``recording`` for how a
turn is appended. Everything for one conversation runs under one lock in this process, and every turn
is idempotent per provider message id.

Every dialogue input is one trace (``Tracer.turn``): safety, redaction and routing spans, the answer
pipeline's steps inside routing, and the turn annotated with its route, action, answer mode, handoff
and safety flags. The trace id goes into the stored reply (``trace_id``), so feedback can score it later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import assert_never

from assistant.core.clock import Clock
from assistant.core.events import (
    AgentMessage,
    AssistRequested,
    CallEnded,
    CallStarted,
    DialogueInput,
    UserTurn,
)
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.answering_step import AnswerStep, TurnClock
from assistant.dialogue.fitting import ClippedDeltas, fit_reply
from assistant.dialogue.handoff import HandoffRequests
from assistant.dialogue.keyed_locks import KeyedLocks
from assistant.dialogue.manager_ports import Answerer, FlowPort, TurnObserver
from assistant.dialogue.messages import DialogueMessages
from assistant.dialogue.observing import trace_opening, trace_summary, turn_report
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.ports import ReplyDelta
from assistant.dialogue.recording import TurnRecorder
from assistant.dialogue.safety import SafetyScreen
from assistant.dialogue.transcript import history, latest_user_turn, recorded_reply
from assistant.dialogue.user_turns import UserTurnRouter
from assistant.sessions.conversation import Conversation, NewEvent
from assistant.sessions.ports import SessionStore
from assistant.tracing.noop import NoopTracer
from assistant.tracing.ports import Tracer, TurnTrace

_log = logging.getLogger(__name__)

NEW_CONVERSATION = "new_conversation"
"""``UserTurn.metadata`` key: ``"true"`` when the channel has just minted the thread id (a random web
session id), so there is nothing to load. Only for ids that cannot exist yet: the turn of a wrong
claim would lose its version race and be appended after the existing events."""


@dataclass(frozen=True, slots=True)
class DialoguePolicy:
    """``handoff_after_failures`` unanswered questions in a row hand the citizen to a human;
    ``history_turns`` earlier turns go with each question to the answer pipeline."""

    handoff_after_failures: int = 2
    history_turns: int = 6


class CivicDialogueManager:
    """See the module docstring. ``flows`` is optional: without it every question is answered.
    ``tracer`` (default: none) traces each turn; ``observer`` hears about each finished turn."""

    def __init__(
        self,
        *,
        sessions: SessionStore,
        safety: SafetyScreen,
        redactor: PiiRedactor,
        answers: Answerer,
        clock: Clock,
        flows: FlowPort | None = None,
        policy: DialoguePolicy | None = None,
        messages: DialogueMessages | None = None,
        handoffs: HandoffRequests | None = None,
        observer: TurnObserver | None = None,
        tracer: Tracer | None = None,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self._sessions = sessions
        self._redactor = redactor
        self._clock = clock
        self._flows = flows
        self._policy = policy or DialoguePolicy()
        self._messages = messages or DialogueMessages()
        self._observer = observer
        self._tracer: Tracer = tracer or NoopTracer()
        self._timer = timer
        self._locks = KeyedLocks()
        self._recorder = TurnRecorder(sessions, redactor, clock)
        self._answers = AnswerStep(answers, timer)
        self._router = UserTurnRouter(
            safety=safety,
            redactor=redactor,
            answers=self._answers,
            flows=flows,
            clock=clock,
            handoffs=handoffs or HandoffRequests(),
            messages=self._messages,
            handoff_after_failures=self._policy.handoff_after_failures,
            history_turns=self._policy.history_turns,
        )

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        final: Reply | None = None
        async for item in self._run(event, capabilities, streaming=False):
            if isinstance(item, Reply):
                final = item
        if final is None:  # pragma: no cover - _run always ends with a Reply
            raise RuntimeError("the dialogue ended a turn without a reply")
        return final

    def stream(self, event: DialogueInput, capabilities: Capabilities) -> AsyncIterator[ReplyDelta | Reply]:
        return self._run(event, capabilities, streaming=True)

    async def _run(
        self, event: DialogueInput, capabilities: Capabilities, *, streaming: bool
    ) -> AsyncIterator[ReplyDelta | Reply]:
        clock = TurnClock(self._timer, capabilities.reply_budget)
        clipper = ClippedDeltas(capabilities.max_chars)
        opening = trace_opening(event)
        async with (
            self._tracer.turn(
                opening.name,
                conversation=event.key,
                user=opening.user,
                input=opening.input,
                metadata={"streaming": streaming},
            ) as trace,
            self._locks.hold(event.key),
        ):
            try:
                conversation = await self._load(event)
                recorded = recorded_reply(conversation, event.message_id)
                if recorded is not None:
                    clock.route = "duplicate"
                    turn: AsyncIterator[ReplyDelta | Reply] = _replayed(recorded)
                else:
                    turn = self._dispatch(event, conversation, capabilities, streaming, clock, trace)
                async for item in turn:
                    if isinstance(item, ReplyDelta):
                        for piece in clipper.feed(item.text):
                            yield ReplyDelta(piece)
                        continue
                    if streaming:
                        for piece in clipper.finish(item.text):
                            yield ReplyDelta(piece)
                    self._observe(event, clock, trace, item)
                    yield item
            except Exception as exc:  # observed, then raised to the channel as before
                clock.error = type(exc).__name__
                self._observe(event, clock, trace, None)
                raise

    async def _load(self, event: DialogueInput) -> Conversation:
        """The conversation so far; a turn whose channel minted its thread id just now (``metadata``
        ``new_conversation``) starts empty without a look into the durable store."""
        if isinstance(event, UserTurn) and event.metadata.get(NEW_CONVERSATION) == "true":
            return Conversation.new(event.key)
        return await self._sessions.load(event.key)

    def _dispatch(
        self,
        event: DialogueInput,
        conversation: Conversation,
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
        trace: TurnTrace,
    ) -> AsyncIterator[ReplyDelta | Reply]:
        match event:
            case UserTurn():
                return self._user_turn(event, conversation, capabilities, streaming, clock, trace)
            case AssistRequested():
                return self._assist(event, conversation, capabilities, streaming, clock, trace)
            case AgentMessage():
                return self._single(self._agent_message(event, conversation, clock))
            case CallStarted():
                return self._single(self._call_started(event, conversation, capabilities, clock, trace))
            case CallEnded():
                return self._single(self._call_ended(event, conversation, clock))
            case _:
                assert_never(event)

    async def _user_turn(
        self,
        turn: UserTurn,
        conversation: Conversation,
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
        trace: TurnTrace,
    ) -> AsyncIterator[ReplyDelta | Reply]:
        plan = None
        async for item in self._router.route(turn, conversation, capabilities, streaming, clock, trace):
            if isinstance(item, ReplyDelta):
                yield item
            else:
                plan = item
        assert plan is not None
        clock.route = plan.route
        reply = fit_reply(plan.reply, capabilities)
        yield await self._recorder.user_turn(conversation, turn, plan, reply, trace_id=trace.trace_id)

    async def _assist(
        self,
        event: AssistRequested,
        conversation: Conversation,
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
        trace: TurnTrace,
    ) -> AsyncIterator[ReplyDelta | Reply]:
        clock.route = "assist"
        index = latest_user_turn(conversation)
        request: dict[str, object] = {"agent_id": event.agent_id, "for_seq": None}
        if index is None:
            reply = Reply(self._messages.no_question_yet, audience="agent")
        else:
            question = conversation.events[index]
            request["for_seq"] = question.seq
            earlier = history(conversation.events[:index], self._policy.history_turns)
            answered = None
            async for item in self._answers.run(
                str(question.payload.get("text", "")), earlier, capabilities, streaming, clock
            ):
                if isinstance(item, ReplyDelta):
                    yield item
                else:
                    answered = item
            assert answered is not None
            reply = answered.as_reply(self._messages.upstream_failed, audience="agent")
        reply = fit_reply(reply, capabilities)
        events = [NewEvent("assist_request", event.received_at, request, message_id=event.message_id)]
        yield await self._recorder.reply(
            conversation, event.message_id, events, reply, route="assist", trace_id=trace.trace_id
        )

    async def _agent_message(
        self, event: AgentMessage, conversation: Conversation, clock: TurnClock
    ) -> Reply:
        clock.route = "agent_message"
        state = await self._drop_flow(conversation)
        payload = {"text": self._redactor.redact_text(event.text), "agent_id": event.agent_id}
        message = NewEvent("agent_message", event.received_at, payload, message_id=event.message_id)
        await self._recorder.append(conversation, [message], state=state, status="agent")
        return Reply(text=event.text, audience="user")

    async def _call_started(
        self,
        event: CallStarted,
        conversation: Conversation,
        capabilities: Capabilities,
        clock: TurnClock,
        trace: TurnTrace,
    ) -> Reply:
        clock.route = "call_started"
        text = self._messages.outbound_greeting if event.direction == "outbound" else self._messages.greeting
        reply = fit_reply(Reply(text=text), capabilities)
        started = NewEvent(
            "call_started", event.received_at, {"direction": event.direction}, message_id=event.message_id
        )
        return await self._recorder.reply(
            conversation,
            event.message_id,
            [started],
            reply,
            route="greeting",
            status="bot",
            trace_id=trace.trace_id,
        )

    async def _call_ended(self, event: CallEnded, conversation: Conversation, clock: TurnClock) -> Reply:
        clock.route = "call_ended"
        state = await self._drop_flow(conversation)
        ended = NewEvent(
            "call_ended", event.received_at, {"outcome": event.outcome}, message_id=event.message_id
        )
        await self._recorder.append(conversation, [ended], state=state, status="closed")
        return Reply(text="", action="end_call")

    async def _drop_flow(self, conversation: Conversation) -> dict[str, object] | None:
        """The state without a running flow (its personal slots forgotten), or None if none ran."""
        if conversation.state.get("flow") is None:
            return None
        if self._flows is not None:
            await self._flows.forget(conversation.key)
        return {**conversation.state, "flow": None}

    async def _single(self, pending: Awaitable[Reply]) -> AsyncIterator[ReplyDelta | Reply]:
        yield await pending

    def _observe(self, event: DialogueInput, clock: TurnClock, trace: TurnTrace, reply: Reply | None) -> None:
        """Tells the trace and the observer how the turn ended (``reply`` None: it failed)."""
        timing = turn_report(event, clock, reply)
        _log.debug(
            "turn channel=%s route=%s dialogue_ms=%.2f answer_ms=%.1f",
            event.key.channel,
            timing.route,
            timing.dialogue_ms,
            timing.answer_ms,
        )
        trace.annotate(trace_summary(timing, clock))
        if reply is not None:
            trace.set_output(reply.text)
        if self._observer is not None:
            try:
                self._observer.turn_done(timing)
            except Exception as exc:  # an observer (timings, metrics) never fails a turn
                _log.warning("turn observer failed: %s", type(exc).__name__)


async def _replayed(reply: Reply) -> AsyncIterator[ReplyDelta | Reply]:
    if reply.text:
        yield ReplyDelta(reply.text)
    yield reply
