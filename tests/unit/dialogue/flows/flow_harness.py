"""The flow tests' harness: a clock on 2026-11-25 10:00 KST (a Wednesday), fee tables read through the real
folder connector, and ``Dialogue``, which drives a conversation the way the dialogue manager will
(parser → executor, the state stored as JSON between turns, FAQ digressions answered and resumed)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from assistant.core.clock import FakeClock
from assistant.dialogue.flows.actions import ActionRegistry
from assistant.dialogue.flows.civic_actions import civic_actions
from assistant.dialogue.flows.commands import Command, Resume
from assistant.dialogue.flows.executor import FlowExecutor
from assistant.dialogue.flows.fees import FeeTable
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.parser import RuleCommandParser
from assistant.dialogue.flows.records import DailySequenceReferences, InMemoryCaseRecordStore
from assistant.dialogue.flows.state import FlowState, FlowTurn
from assistant.dialogue.flows.validators import SlotValidators
from connectors.folder import FolderConnector
from connectors.table_mapping import load_table_mappings

REPO = Path(__file__).resolve().parents[4]
SAMPLE = REPO / "connectors" / "sample_knowledge"
NATIONAL_FEES = REPO.parent / "shared" / "data" / "waste" / "bulky_waste_fee_national_standard.csv"
NOW = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)  # 10:00 in Seoul, Wednesday 25 November 2026


def read_fee_table(path: Path) -> FeeTable:
    """The fee table of one CSV, read by ``FolderConnector`` with the shipped ``mapping.yaml``."""
    mappings = load_table_mappings(SAMPLE / "mapping.yaml")
    return asyncio.run(FeeTable.from_connector(FolderConnector(path, mappings=mappings)))


def build_executor(
    flows: FlowCatalog,
    validators: SlotValidators,
    fees: FeeTable,
    store: InMemoryCaseRecordStore,
    clock: FakeClock,
) -> FlowExecutor:
    actions = ActionRegistry(civic_actions(fees, store, DailySequenceReferences(), clock))
    return FlowExecutor(flows, validators, actions)


@dataclass
class Dialogue:
    """One citizen's conversation. The flow state goes through JSON between turns, as in
    ``Conversation.state``; a digression is answered by ``faq_answer`` and the flow resumed."""

    executor: FlowExecutor
    parser: RuleCommandParser
    sender_id: str = "web:test"
    state: FlowState | None = None
    turns: list[FlowTurn] = field(default_factory=list)
    digressions: list[str] = field(default_factory=list)
    faq_answer: str = "(FAQ 답변)"

    async def say(self, text: str) -> FlowTurn:
        commands = await self.parser.commands(text, self.state)
        assert commands, f"no flow took {text!r}"
        return await self.run(commands, text)

    async def run(self, commands: Sequence[Command], text: str = "") -> FlowTurn:
        turn = await self.executor.handle(self.state, commands, sender_id=self.sender_id)
        if turn.digress_question is not None:
            self.digressions.append(turn.digress_question)
            resumed = await self.executor.handle(turn.state, [Resume()], sender_id=self.sender_id)
            turn = FlowTurn(
                state=resumed.state,
                prompt_text=f"{self.faq_answer}\n{resumed.prompt_text}",
                quick_replies=resumed.quick_replies,
                done=resumed.done,
                record=resumed.record,
                digress_question=turn.digress_question,
                handoff=resumed.handoff,
            )
        self.turns.append(turn)
        self.state = _json_round_trip(turn.state)
        return turn

    async def say_all(self, *texts: str) -> FlowTurn:
        turn = None
        for text in texts:
            turn = await self.say(text)
        assert turn is not None
        return turn


def _json_round_trip(state: FlowState | None) -> FlowState | None:
    if state is None:
        return None
    return FlowState.from_json(json.loads(json.dumps(state.to_json(), ensure_ascii=False)))
