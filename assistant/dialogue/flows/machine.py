"""FlowMachine: applies commands to a flow state as a pure function, stopping at questions and actions.

``apply(state, commands)`` first applies every command (fill, correct, confirm…), then walks the flow
from its current step: a collect step whose slot is filled is passed, a branch picks the next step,
and the walk stops at the first question (a ``FlowTurn``) or action (an ``ActionRequest``, which the
executor runs and hands back to ``after_action``). Nothing is kept between calls.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, assert_never

from assistant.dialogue.flows.actions import ActionResult
from assistant.dialogue.flows.commands import (
    Affirm,
    Cancel,
    Command,
    Correct,
    Deny,
    Digress,
    Handoff,
    Resume,
    SetSlot,
    StartFlow,
    UserText,
)
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.rendering import FlowMessages, FlowRenderer, Question, scrub_personal
from assistant.dialogue.flows.spec import ActionStep, BranchStep, CollectStep, ConfirmStep, EndStep, FlowSpec
from assistant.dialogue.flows.state import ActionRequest, FlowState, FlowStatus, FlowTurn, Progress
from assistant.dialogue.flows.steps import branch_target, filled_with_reset
from assistant.dialogue.flows.templates import with_particle
from assistant.dialogue.flows.validators import Invalid, SlotValidators, Valid


@dataclass(slots=True)
class _Work:
    """One call's scratch: the flow, its evolving state and what to say before the next question."""

    flow: FlowSpec
    state: FlowState
    notes: list[str] = field(default_factory=list)
    record: Mapping[str, Any] | None = None
    latest_text: str | None = None


class FlowMachine:
    """The deterministic executor's core; see the module docstring."""

    def __init__(
        self, flows: FlowCatalog, validators: SlotValidators, messages: FlowMessages | None = None
    ) -> None:
        self._flows = flows
        self._validators = validators
        self._messages = messages or FlowMessages()
        self._render = FlowRenderer(validators)
        self._log = logging.getLogger(__name__)

    @property
    def flows(self) -> FlowCatalog:
        return self._flows

    def apply(self, state: FlowState | None, commands: Sequence[Command]) -> Progress:
        work = None
        if state is not None and state.is_running and state.flow_id in self._flows:
            work = _Work(self._flows.get(state.flow_id), state)
            if state.status == "paused" and any(not isinstance(c, Digress) for c in commands):
                work.state = replace(state, status="active")
        for command in commands:
            if isinstance(command, StartFlow):
                work = self._start(work, command.flow_id)
                continue
            if work is None:
                continue
            turn = self._command(work, command)
            if turn is not None:
                return turn
        return self._advance(work) if work is not None else FlowTurn(state=None, done=True)

    def after_action(self, request: ActionRequest, result: ActionResult) -> Progress:
        """Continue after the action of ``request`` succeeded: its values go to the mapped slots."""
        flow = self._flows.get(request.state.flow_id)
        step = flow.step(request.state.step_id)
        assert isinstance(step, ActionStep)
        slots = dict(request.state.slots)
        for key, slot in step.result.items():
            if key in result.values:
                slots[slot] = result.values[key]
        state = replace(request.state, slots=slots, step_id=flow.after(step.id), attempts=0)
        notes = [*request.notes, *result.messages]
        work = _Work(flow, state, notes, result.record or request.record, request.latest_text)
        return self._advance(work)

    def action_failed(self, request: ActionRequest) -> FlowTurn:
        """The action of ``request`` failed: offer a human (yes hands off, no ends the flow)."""
        state = replace(request.state, offering_handoff=True)
        return self._turn(
            _Work(self._flows.get(state.flow_id), state, list(request.notes)),
            self._yes_no(self._messages.action_failed),
        )

    # -- commands ----------------------------------------------------------------------------------------

    def _start(self, work: _Work | None, flow_id: str) -> _Work | None:
        if flow_id not in self._flows:
            self._log.warning("start of an unknown flow %r ignored", flow_id)
            return work
        if work is not None and work.flow.id == flow_id:
            return work
        flow = self._flows.get(flow_id)
        fresh = _Work(flow, FlowState(flow_id=flow.id, step_id=flow.steps[0].id))
        if flow.start_message:
            fresh.notes.append(self._render.template(flow, flow.start_message, {}))
        return fresh

    def _command(self, work: _Work, command: Command) -> FlowTurn | None:
        match command:
            case StartFlow():
                return None
            case Cancel():
                return self._finish(
                    work,
                    "cancelled",
                    self._messages.cancelled.format(description=with_particle(work.flow.description, "을")),
                )
            case Handoff():
                return self._finish(work, "handoff", self._messages.handoff)
            case Digress(question=question):
                return FlowTurn(
                    state=replace(work.state, status="paused"),
                    prompt_text=self._text(work, None),
                    digress_question=question,
                )
            case Resume():
                work.notes.append(self._messages.resumed)
                return None
            case SetSlot(name=name, value=value):
                return self._set(work, name, value, correcting=False)
            case Correct(name=name, value=value):
                return self._set(work, name, value, correcting=True)
            case UserText(text=text):
                return self._answer(work, text)
            case Affirm():
                return self._affirm(work)
            case Deny():
                return self._deny(work)
            case _:
                assert_never(command)

    def _set(self, work: _Work, name: str, value: str | None, *, correcting: bool) -> FlowTurn | None:
        step = work.flow.collect_step(name)
        if step is None:
            self._log.info("%s of an unknown slot %r ignored", "correction" if correcting else "set", name)
            return None
        state = work.state
        reached = work.flow.index_of(step.id) <= work.flow.index_of(state.step_id)
        if correcting:
            work.state = state = replace(state, offering_handoff=False, attempts=0)
            if reached:
                work.state = state = replace(state, step_id=step.id)
        if value is None:
            if correcting:
                work.state = replace(state, slots=filled_with_reset(state.slots, step, None, remove=True))
            elif step.optional:
                work.state = replace(state, slots=filled_with_reset(state.slots, step, None))
            return None
        outcome = self._validators.validate(step, value, state.slots)
        if isinstance(outcome, Valid):
            if correcting and state.slots.get(step.collect) != outcome.value and step.collect in state.slots:
                work.notes.append(self._messages.corrected.format(label=with_particle(step.label, "을")))
            work.state = replace(state, slots=filled_with_reset(state.slots, step, outcome.value))
            return None
        return self._failed(work, step, outcome) if state.step_id == step.id else None

    def _answer(self, work: _Work, text: str) -> FlowTurn | None:
        work.latest_text = text
        if work.state.offering_handoff:
            return self._turn(work, self._yes_no(self._messages.yes_or_no))
        step = work.flow.step(work.state.step_id)
        if isinstance(step, CollectStep):
            outcome = self._validators.validate(step, text, work.state.slots)
            if isinstance(outcome, Valid):
                slots = filled_with_reset(work.state.slots, step, outcome.value)
                work.state = replace(work.state, slots=slots, attempts=0)
                return None
            return self._failed(work, step, outcome)
        if isinstance(step, ConfirmStep):
            work.state = replace(work.state, attempts=work.state.attempts + 1)
            if work.state.attempts >= step.max_attempts:
                return self._offer_handoff(work, None)
            summary = self._render.template(work.flow, step.confirm, work.state.slots)
            return self._turn(work, self._yes_no(f"{self._messages.yes_or_no}\n{summary}"))
        return None

    def _affirm(self, work: _Work) -> FlowTurn | None:
        if work.state.offering_handoff:
            return self._finish(work, "handoff", self._messages.handoff)
        step = work.flow.step(work.state.step_id)
        if isinstance(step, ConfirmStep):
            work.state = replace(work.state, step_id=work.flow.after(step.id), attempts=0)
        return None

    def _deny(self, work: _Work) -> FlowTurn | None:
        step = work.flow.step(work.state.step_id)
        if work.state.offering_handoff:
            if isinstance(step, ActionStep):
                return self._finish(work, "cancelled", self._messages.action_given_up)
            work.state = replace(work.state, offering_handoff=False, attempts=0)
            work.notes.append(self._messages.ask_again)
            return None
        if isinstance(step, ConfirmStep):
            choices = self._render.correction_choices(work.flow, work.state.slots, self._messages.cancel)
            return self._turn(work, Question(self._messages.which_to_fix, choices))
        return None

    # -- walking the flow ------------------------------------------------------------------------------

    def _advance(self, work: _Work) -> Progress:
        flow = work.flow
        for _ in range(4 * len(flow.steps) + 4):
            step = flow.step(work.state.step_id)
            slots = work.state.slots
            match step:
                case CollectStep():
                    options = self._validators.options(step, slots) if step.validation.options_from else None
                    if step.collect not in slots and options is not None and len(options) <= 1:
                        value = options[0].value if options else None
                        work.state = replace(work.state, slots=filled_with_reset(slots, step, value))
                    if step.collect not in work.state.slots:
                        return self._turn(work, self._render.ask(flow, step, slots))
                    work.state = replace(work.state, step_id=flow.after(step.id))
                case ConfirmStep():
                    return self._turn(work, self._yes_no(self._render.template(flow, step.confirm, slots)))
                case ActionStep():
                    return ActionRequest(
                        work.state, step.action, tuple(work.notes), work.record, work.latest_text
                    )
                case BranchStep():
                    target = branch_target(step, slots) or flow.after(step.id)
                    work.state = replace(work.state, step_id=target)
                case EndStep():
                    return self._finish(work, "completed", self._render.template(flow, step.end, slots))
        raise RuntimeError(f"flow {flow.id} went round in circles without asking anything")

    def _failed(self, work: _Work, step: CollectStep, outcome: Invalid) -> FlowTurn:
        attempts = work.state.attempts + 1
        work.state = replace(work.state, step_id=step.id, attempts=attempts)
        if attempts >= step.max_attempts:
            return self._offer_handoff(work, outcome.reason)
        lead = outcome.reason or ""
        question = self._render.ask(
            work.flow, step, work.state.slots, lead=lead, suggestions=outcome.suggestions
        )
        return self._turn(work, question)

    def _offer_handoff(self, work: _Work, reason: str | None) -> FlowTurn:
        work.state = replace(work.state, offering_handoff=True)
        lead = f"{reason} " if reason else ""
        return self._turn(work, self._yes_no(lead + self._messages.handoff_offer))

    def _finish(self, work: _Work, status: FlowStatus, message: str) -> FlowTurn:
        slots = scrub_personal(work.flow, work.state.slots)
        state = replace(work.state, status=status, slots=slots, offering_handoff=False)
        return FlowTurn(
            state=state,
            prompt_text=self._text(work, message),
            done=True,
            record=work.record,
            handoff=status == "handoff",
        )

    def _yes_no(self, text: str) -> Question:
        return Question(text, (self._messages.yes, self._messages.no))

    def _turn(self, work: _Work, question: Question) -> FlowTurn:
        return FlowTurn(
            state=work.state,
            prompt_text=self._text(work, question.text),
            quick_replies=question.quick_replies,
            record=work.record,
        )

    def _text(self, work: _Work, last: str | None) -> str:
        return "\n".join(part for part in (*work.notes, last) if part)
