"""``evals/datasets/dialogue_flows.jsonl``: scripted conversations run through the rule parser and the
executor (demo fee table, clock on 2026-11-25 KST); each must end in the expected flow, outcome and slots."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import pytest
from pydantic import BaseModel, ConfigDict, Field

from assistant.core.clock import FakeClock
from assistant.dialogue.flows.fees import FeeTable
from assistant.dialogue.flows.loader import FlowCatalog
from assistant.dialogue.flows.parser import RuleCommandParser
from assistant.dialogue.flows.records import InMemoryCaseRecordStore
from assistant.dialogue.flows.validators import SlotValidators
from tests.unit.dialogue.flows.flow_harness import REPO, Dialogue, build_executor

DATASET = REPO / "evals" / "datasets" / "dialogue_flows.jsonl"

pytestmark = pytest.mark.anyio


class ExpectedEnd(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    flow: str
    outcome: Literal["completed", "cancelled", "handoff"]
    slots: dict[str, Any] = Field(default_factory=dict)


class FlowCase(BaseModel):
    """``{"id", "turns": [user texts], "expected": {"flow", "outcome", "slots"}, "note"?}``"""

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    turns: tuple[str, ...] = Field(min_length=1)
    expected: ExpectedEnd
    note: str = ""


def read_cases(path: Path) -> list[FlowCase]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [FlowCase.model_validate_json(line) for line in lines if line.strip()]


CASES = read_cases(DATASET)


def test_the_dataset_is_large_enough_and_covers_every_outcome(flows: FlowCatalog) -> None:
    assert len(CASES) >= 10
    assert len({case.id for case in CASES}) == len(CASES)
    assert {case.expected.outcome for case in CASES} == {"completed", "cancelled", "handoff"}
    assert {case.expected.flow for case in CASES} == {flow.id for flow in flows}


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
async def test_scripted_conversation(
    case: FlowCase,
    flows: FlowCatalog,
    validators: SlotValidators,
    demo_fees: FeeTable,
    clock: FakeClock,
) -> None:
    executor = build_executor(flows, validators, demo_fees, InMemoryCaseRecordStore(), clock)
    talk = Dialogue(executor, RuleCommandParser(flows, validators), sender_id=f"eval:{case.id}")
    for text in case.turns:
        commands = await talk.parser.commands(text, talk.state)
        if commands:
            await talk.run(commands, text)
    state = talk.state
    assert state is not None, f"{case.id}: no flow started"
    assert state.flow_id == case.expected.flow
    assert state.status == case.expected.outcome, talk.turns[-1].prompt_text
    slots = {name: list(v) if isinstance(v, tuple) else v for name, v in state.slots.items()}
    mismatched = {
        name: (slots.get(name, "<missing>"), want)
        for name, want in case.expected.slots.items()
        if slots.get(name, "<missing>") != want
    }
    assert not mismatched, f"{case.id}: (got, expected) {mismatched}"
