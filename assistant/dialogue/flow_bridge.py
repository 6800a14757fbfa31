"""ExecutorFlows: the YAML flows (rule command parser + deterministic executor) behind the manager's
``FlowPort``, with personal slot values kept out of the conversation log.

While a flow runs, the values of its personal slots (phone, address, a complaint's location) live only
in a ``RestrictedSlots`` holder keyed by conversation; the state stored with the conversation carries
placeholders (``[전화번호]``) in their place. When the flow ends the values are dropped: the record the
flow created holds them in its restricted fields. If the holder lost them (a restart, another worker),
the flow asks for them again.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import replace
from typing import Any, Protocol

from assistant.core.events import ConversationKey
from assistant.dialogue.flows.commands import CommandSource, Resume
from assistant.dialogue.flows.executor import FlowExecutor
from assistant.dialogue.flows.rendering import scrub_personal
from assistant.dialogue.flows.spec import CollectStep, FlowSpec
from assistant.dialogue.flows.state import FlowState, FlowTurn, SlotValue
from assistant.dialogue.manager_ports import FlowOutcome


class RestrictedSlots(Protocol):
    """Where running flows keep personal slot values (never the session store)."""

    async def get(self, key: ConversationKey) -> Mapping[str, SlotValue]: ...

    async def put(self, key: ConversationKey, values: Mapping[str, SlotValue]) -> None: ...

    async def drop(self, key: ConversationKey) -> None: ...


class InMemoryRestrictedSlots:
    """Personal slot values in this process's memory, per conversation."""

    def __init__(self) -> None:
        self._values: dict[ConversationKey, dict[str, SlotValue]] = {}

    def __len__(self) -> int:
        return len(self._values)

    async def get(self, key: ConversationKey) -> Mapping[str, SlotValue]:
        return dict(self._values.get(key, {}))

    async def put(self, key: ConversationKey, values: Mapping[str, SlotValue]) -> None:
        if values:
            self._values[key] = dict(values)
        else:
            self._values.pop(key, None)

    async def drop(self, key: ConversationKey) -> None:
        self._values.pop(key, None)


class ExecutorFlows:
    """A ``FlowPort`` over ``FlowExecutor`` and a ``CommandSource`` (the rule parser)."""

    def __init__(
        self, commands: CommandSource, executor: FlowExecutor, restricted: RestrictedSlots | None = None
    ) -> None:
        self._commands = commands
        self._executor = executor
        self._restricted = restricted if restricted is not None else InMemoryRestrictedSlots()

    async def handle(
        self, text: str, state: Mapping[str, Any] | None, *, key: ConversationKey
    ) -> FlowOutcome | None:
        current = await self._load(state, key)
        commands = await self._commands.commands(text, current)
        if not commands:
            return None
        turn = await self._executor.handle(current, commands, sender_id=_sender_id(key))
        return await self._outcome(turn, key)

    async def resume(self, state: Mapping[str, Any], *, key: ConversationKey) -> FlowOutcome:
        current = await self._load(state, key)
        turn = await self._executor.handle(current, [Resume()], sender_id=_sender_id(key))
        return await self._outcome(turn, key)

    def describe(self, state: Mapping[str, Any] | None) -> str | None:
        flow_state = _parsed(state)
        if flow_state is None or flow_state.flow_id not in self._executor.flows:
            return None
        flow = self._executor.flows.get(flow_state.flow_id)
        filled = [
            f"{step.label} {flow_state.slots[step.collect]}"
            for step in flow.collect_steps
            if not step.is_pii and isinstance(flow_state.slots.get(step.collect), str)
        ]
        step = flow.step(flow_state.step_id)
        pending = step.label if isinstance(step, CollectStep) else "확인"
        details = ", ".join([*filled, f"다음 단계: {pending}"])
        return f"{flow.description} ({details})"

    async def forget(self, key: ConversationKey) -> None:
        await self._restricted.drop(key)

    async def _load(self, state: Mapping[str, Any] | None, key: ConversationKey) -> FlowState | None:
        flow_state = _parsed(state)
        if flow_state is None or flow_state.flow_id not in self._executor.flows:
            return None
        flow = self._executor.flows.get(flow_state.flow_id)
        held = await self._restricted.get(key)
        slots = dict(flow_state.slots)
        first_missing: CollectStep | None = None
        for step in flow.collect_steps:
            if not step.is_pii or step.collect not in slots or slots[step.collect] is None:
                continue
            if step.collect in held:
                slots[step.collect] = held[step.collect]
            else:
                del slots[step.collect]
                first_missing = first_missing or step
        restored = replace(flow_state, slots=slots)
        if first_missing is not None and flow.index_of(first_missing.id) < flow.index_of(flow_state.step_id):
            restored = replace(restored, step_id=first_missing.id, attempts=0, offering_handoff=False)
        return restored

    async def _outcome(self, turn: FlowTurn, key: ConversationKey) -> FlowOutcome:
        flow_state = turn.state
        if flow_state is None:
            await self._restricted.drop(key)
            return FlowOutcome(text=turn.prompt_text, state=None, quick_replies=turn.quick_replies, done=True)
        flow = self._executor.flows.get(flow_state.flow_id)
        if flow_state.is_running:
            await self._restricted.put(key, _personal(flow, flow_state.slots))
        else:
            await self._restricted.drop(key)
        stored = replace(flow_state, slots=scrub_personal(flow, flow_state.slots))
        return FlowOutcome(
            text=turn.prompt_text,
            state=stored.to_json(),
            quick_replies=turn.quick_replies,
            flow_id=flow.id,
            status=flow_state.status,
            done=turn.done or not flow_state.is_running,
            handoff=turn.handoff,
            digress_question=turn.digress_question,
            record=turn.record,
        )


def _parsed(state: Mapping[str, Any] | None) -> FlowState | None:
    if not state:
        return None
    try:
        return FlowState.from_json(state)
    except ValueError:
        return None


def _personal(flow: FlowSpec, slots: Mapping[str, SlotValue]) -> dict[str, SlotValue]:
    return {
        step.collect: slots[step.collect]
        for step in flow.collect_steps
        if step.is_pii and slots.get(step.collect) is not None
    }


def _sender_id(key: ConversationKey) -> str:
    """A stable pseudonym for the conversation: action servers never see a Kakao user key or a CallSid."""
    return hashlib.sha256(str(key).encode("utf-8")).hexdigest()[:24]
