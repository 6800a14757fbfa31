"""FlowExecutor: the machine's walk plus the actions it stops at; ``(state, commands) → FlowTurn``."""

from __future__ import annotations

import logging
from collections.abc import Sequence

from assistant.core.errors import ConfigurationError, UpstreamError
from assistant.dialogue.flows.actions import ActionCall, ActionRegistry
from assistant.dialogue.flows.commands import Command
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.machine import FlowMachine
from assistant.dialogue.flows.rendering import FlowMessages
from assistant.dialogue.flows.state import FlowState, FlowTurn
from assistant.dialogue.flows.validators import SlotValidators

MAX_ACTIONS_PER_TURN = 16


class FlowExecutor:
    """Runs flows. Holds no conversation state: the caller keeps ``FlowTurn.state`` (``to_json``) and
    passes it back with the next commands. An action failing with an ``UpstreamError`` makes the
    flow offer a human instead of failing the turn."""

    def __init__(
        self,
        flows: FlowCatalog,
        validators: SlotValidators,
        actions: ActionRegistry,
        *,
        messages: FlowMessages | None = None,
    ) -> None:
        actions.require(flows.action_names())
        if not validators.has_items and any(s.slot_type == "item" for f in flows for s in f.collect_steps):
            raise ConfigurationError("a flow collects an item but the validators have no item catalogue")
        self._machine = FlowMachine(flows, validators, messages)
        self._actions = actions
        self._log = logging.getLogger(__name__)

    @property
    def machine(self) -> FlowMachine:
        return self._machine

    @property
    def flows(self) -> FlowCatalog:
        return self._machine.flows

    async def handle(
        self, state: FlowState | None, commands: Sequence[Command], *, sender_id: str
    ) -> FlowTurn:
        """Apply ``commands`` to ``state`` and run the flow up to its next question or its end."""
        progress = self._machine.apply(state, commands)
        for _ in range(MAX_ACTIONS_PER_TURN):
            if isinstance(progress, FlowTurn):
                return progress
            flow = self.flows.get(progress.state.flow_id)
            call = ActionCall(
                name=progress.action,
                flow_id=flow.id,
                sender_id=sender_id,
                slots=progress.state.slots,
                pii_slots=flow.pii_slots,
                latest_text=progress.latest_text,
            )
            try:
                result = await self._actions.run(call)
            except UpstreamError as exc:
                self._log.warning("action %s of flow %s failed: %s", call.name, flow.id, type(exc).__name__)
                return self._machine.action_failed(progress)
            progress = self._machine.after_action(progress, result)
        raise RuntimeError(f"more than {MAX_ACTIONS_PER_TURN} actions ran in one turn")
