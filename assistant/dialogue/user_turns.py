"""Routing one citizen turn to a ``TurnPlan``: safety, a human's turn, injection, handoff, flows, answers.

The raw text is seen only by the safety screen, the handoff words and the flows' deterministic parser;
everything stored, logged or sent to the answer pipeline (and so to the model) is the redacted text.
Conversation state kept by the manager: ``flow`` (the flow's JSON, personal slots as placeholders),
``failures`` (unanswered questions in a row) and ``offered_handoff`` (the last reply offered a human).
Traced as the spans ``safety`` (verdict), ``redaction`` (how many values of each PII kind, never the
values) and ``routing`` (the route chosen; the answer pipeline's steps are its children).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Mapping
from typing import Any

from assistant.core.clock import Clock
from assistant.core.events import UserTurn
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.answering_step import Answered, AnswerStep, TurnClock
from assistant.dialogue.handoff import HandoffReason, HandoffRequests, HandoffSummary, flag_label
from assistant.dialogue.manager_ports import FlowOutcome, FlowPort
from assistant.dialogue.messages import DialogueMessages
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.ports import ReplyDelta
from assistant.dialogue.recording import TurnPlan
from assistant.dialogue.safety import SafetyScreen, SafetyVerdict
from assistant.dialogue.transcript import flag_labels, history, undelivered_agent_messages, user_texts
from assistant.sessions.conversation import Conversation, NewEvent
from assistant.tracing.ports import TurnTrace

_SEPARATOR = "\n\n"


class UserTurnRouter:
    """Decides a citizen's turn (see the module docstring). Yields answer deltas, then one ``TurnPlan``."""

    def __init__(
        self,
        *,
        safety: SafetyScreen,
        redactor: PiiRedactor,
        answers: AnswerStep,
        flows: FlowPort | None,
        clock: Clock,
        handoffs: HandoffRequests,
        messages: DialogueMessages,
        handoff_after_failures: int,
        history_turns: int,
    ) -> None:
        self._safety = safety
        self._redactor = redactor
        self._answers = answers
        self._flows = flows
        self._clock = clock
        self._handoffs = handoffs
        self._messages = messages
        self._handoff_after = handoff_after_failures
        self._history_turns = history_turns

    async def route(
        self,
        turn: UserTurn,
        conversation: Conversation,
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
        trace: TurnTrace,
    ) -> AsyncIterator[ReplyDelta | TurnPlan]:
        text = turn.text.strip()
        with trace.span("safety", kind="guardrail", input=text) as span:
            verdict = self._safety.screen(text)
            span.annotate(
                {"verdict": verdict.kind, "category": verdict.category, "for_human": verdict.flag_for_human}
            )
        if verdict.triggered:
            clock.safety_flags = (verdict.category or verdict.kind,)
        with trace.span("redaction") as span:
            redaction = self._redactor.redact(text)
            span.annotate({"found": dict(Counter(match.kind for match in redaction.found))})
        base = TurnPlan(
            reply=Reply(""),
            route="",
            stored_text=redaction.text,
            pii_kinds=tuple(sorted(redaction.kinds)),
        )
        with trace.span("routing") as span:
            async for item in self._routes(text, verdict, base, conversation, capabilities, streaming, clock):
                if isinstance(item, TurnPlan):
                    span.annotate({"route": item.route})
                yield item

    async def _routes(
        self,
        text: str,
        verdict: SafetyVerdict,
        base: TurnPlan,
        conversation: Conversation,
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
    ) -> AsyncIterator[ReplyDelta | TurnPlan]:
        state = dict(conversation.state)
        if conversation.status == "closed":
            base.status = "bot"  # a citizen writing again reopens the conversation
        if not text:
            yield self._plan(base, "empty", Reply(self._messages.empty_turn))
        elif verdict.kind in ("emergency", "crisis"):
            yield await self._safety_plan(base, conversation, state, verdict, capabilities)
        elif conversation.status == "agent":
            yield self._plan(base, "agent", self._relay(conversation, capabilities))
        elif conversation.status == "handoff":
            yield self._waiting(base, text, capabilities)
        elif verdict.kind == "injection":
            base.events.append(self._flag_event(verdict))
            yield self._plan(base, "injection", Reply(verdict.guidance or self._messages.upstream_failed))
        elif self._handoffs.is_request(text) or (
            state.get("offered_handoff") is True and self._handoffs.is_yes(text)
        ):
            previous = user_texts(conversation.events)
            yield await self._handoff(
                base,
                conversation,
                state,
                "requested",
                capabilities,
                last_question=previous[-1] if previous else None,
            )
        else:
            async for item in self._flow_or_answer(
                base, text, conversation, state, capabilities, streaming, clock
            ):
                yield item

    # -- routes ------------------------------------------------------------------------------------------

    async def _safety_plan(
        self,
        base: TurnPlan,
        conversation: Conversation,
        state: dict[str, Any],
        verdict: SafetyVerdict,
        capabilities: Capabilities,
    ) -> TurnPlan:
        spoken = verdict.spoken_guidance if capabilities.spoken else None
        guidance = spoken or verdict.guidance or self._messages.handoff
        flag = self._flag_event(verdict)
        base.events.append(flag)
        return await self._handoff(
            base,
            conversation,
            state,
            "safety",
            capabilities,
            last_question=base.stored_text,
            text=guidance,
            flags_now=(str(flag.payload["label"]),),
        )

    def _waiting(self, base: TurnPlan, text: str, capabilities: Capabilities) -> TurnPlan:
        if self._handoffs.is_back_to_bot(text):
            base.events.append(NewEvent("resume", self._clock.now(), {"by": "citizen"}))
            base.status = "bot"
            return self._plan(base, "back_to_bot", Reply(self._messages.back_to_bot))
        buttons = () if capabilities.spoken else (self._messages.back_to_bot_button,)
        reply = Reply(self._messages.waiting_for_agent, quick_replies=buttons, action="handoff")
        return self._plan(base, "waiting", reply)

    def _relay(self, conversation: Conversation, capabilities: Capabilities) -> Reply:
        """A citizen's turn while an agent talks to them. A channel that cannot push gets the agent's
        new messages now, as a plain reply (the handoff itself happened already: no second handoff)."""
        if capabilities.pushes_agent_messages:
            return Reply(self._messages.agent_will_answer, action="handoff")
        pending = undelivered_agent_messages(conversation.events)
        said = "\n".join(f"{self._messages.agent_label}: {text}" for text in pending)
        return Reply(said or self._messages.agent_will_answer_on_next_message)

    async def _handoff(
        self,
        base: TurnPlan,
        conversation: Conversation,
        state: dict[str, Any],
        reason: HandoffReason,
        capabilities: Capabilities,
        *,
        last_question: str | None,
        text: str | None = None,
        flags_now: tuple[str, ...] = (),
        flow_state: Mapping[str, Any] | None = None,
    ) -> TurnPlan:
        running = flow_state if flow_state is not None else state.get("flow")
        flow = self._flows.describe(running) if self._flows is not None and running else None
        if self._flows is not None and state.get("flow") is not None:
            await self._flows.forget(conversation.key)
        summary = HandoffSummary(
            reason=reason,
            last_question=last_question,
            flow=flow,
            flags=(*flag_labels(conversation.events), *flags_now),
            failures=int(state.get("failures", 0)),
        )
        base.events.append(NewEvent("handoff", self._clock.now(), summary.payload()))
        base.status = "agent" if conversation.status == "agent" else "handoff"
        base.state = {**state, "flow": None, "failures": 0, "offered_handoff": False}
        spoken = capabilities.spoken
        message = self._messages.spoken_handoff if spoken else self._messages.handoff
        # No way back to the bot is offered after an emergency or a crisis: a person should follow up.
        buttons = () if spoken or reason == "safety" else (self._messages.back_to_bot_button,)
        return self._plan(
            base, f"handoff:{reason}", Reply(text or message, quick_replies=buttons, action="handoff")
        )

    async def _flow_or_answer(
        self,
        base: TurnPlan,
        text: str,
        conversation: Conversation,
        state: dict[str, Any],
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
    ) -> AsyncIterator[ReplyDelta | TurnPlan]:
        running = state.get("flow")
        outcome = None
        if self._flows is not None:
            outcome = await self._flows.handle(
                text, running if isinstance(running, Mapping) else None, key=conversation.key
            )
        if outcome is None:
            async for item in self._answer(base, conversation, state, capabilities, streaming, clock):
                yield item
            return
        if outcome.handoff:
            yield await self._handoff(
                base,
                conversation,
                state,
                "flow",
                capabilities,
                last_question=base.stored_text,
                text=outcome.text or None,
                flow_state=running if isinstance(running, Mapping) else None,
            )
            return
        if outcome.digress_question is not None and outcome.state is not None and self._flows is not None:
            question = self._redactor.redact_text(outcome.digress_question)
            earlier = history(conversation.events, self._history_turns)
            answered: Answered | None = None
            async for piece in self._answers.run(question, earlier, capabilities, streaming, clock):
                if isinstance(piece, ReplyDelta):
                    yield piece
                else:
                    answered = piece
            assert answered is not None
            resumed = await self._flows.resume(outcome.state, key=conversation.key)
            said = answered.text(self._messages.upstream_failed)
            reply = Reply(
                text=f"{said}{_SEPARATOR}{resumed.text}" if resumed.text else said,
                citations=answered.citations,
                quick_replies=resumed.quick_replies,
            )
            base.state = {**state, "flow": _kept(resumed)}
            yield self._plan(base, "flow:digression", reply)
            return
        if running is None or outcome.done:
            base.events.append(self._flow_event(outcome))
        base.state = {**state, "flow": _kept(outcome), "failures": 0, "offered_handoff": False}
        yield self._plan(base, "flow", Reply(outcome.text, quick_replies=outcome.quick_replies))

    async def _answer(
        self,
        base: TurnPlan,
        conversation: Conversation,
        state: dict[str, Any],
        capabilities: Capabilities,
        streaming: bool,
        clock: TurnClock,
    ) -> AsyncIterator[ReplyDelta | TurnPlan]:
        earlier = history(conversation.events, self._history_turns)
        answered: Answered | None = None
        async for piece in self._answers.run(base.stored_text, earlier, capabilities, streaming, clock):
            if isinstance(piece, ReplyDelta):
                yield piece
            else:
                answered = piece
        assert answered is not None
        spoken = capabilities.spoken
        fallback = self._messages.spoken_upstream_failed if spoken else self._messages.upstream_failed
        said = answered.text(fallback)
        if not answered.failed:
            base.state = {**state, "failures": 0, "offered_handoff": False}
            yield self._plan(base, "answer", Reply(said, citations=answered.citations))
            return
        failures = int(state.get("failures", 0)) + 1
        if failures >= self._handoff_after or (answered.error is not None and spoken):
            closing = (
                self._messages.spoken_handoff_after_failures
                if spoken
                else self._messages.handoff_after_failures
            )
            reason: HandoffReason = "upstream" if answered.error is not None else "repeated_failures"
            text = said if answered.error is not None and spoken else f"{said}\n{closing}"
            yield await self._handoff(
                base,
                conversation,
                {**state, "failures": failures},
                reason,
                capabilities,
                last_question=base.stored_text,
                text=text,
            )
            return
        base.state = {**state, "failures": failures, "offered_handoff": True}
        buttons = () if spoken else (self._messages.handoff_button,)
        route = "answer:failed" if answered.error is not None else "answer:abstain"
        yield self._plan(base, route, Reply(said, quick_replies=buttons))

    # -- pieces ------------------------------------------------------------------------------------------

    def _plan(self, base: TurnPlan, route: str, reply: Reply) -> TurnPlan:
        base.route = route
        base.reply = reply
        return base

    def _flag_event(self, verdict: SafetyVerdict) -> NewEvent:
        matched = self._redactor.redact_text(verdict.matched) if verdict.matched else None
        return NewEvent(
            "flag",
            self._clock.now(),
            {
                "kind": verdict.kind,
                "category": verdict.category,
                "label": flag_label(verdict.category, verdict.kind),
                "matched": matched,
                "for_human": verdict.flag_for_human,
            },
        )

    def _flow_event(self, outcome: FlowOutcome) -> NewEvent:
        payload: dict[str, Any] = {"flow_id": outcome.flow_id, "status": outcome.status}
        if outcome.record is not None:
            payload["record"] = dict(outcome.record)
        return NewEvent("flow", self._clock.now(), payload)


def _kept(outcome: FlowOutcome) -> Mapping[str, Any] | None:
    """The flow state to keep: none once the flow is over."""
    return None if outcome.done else outcome.state
