"""Fixtures of the flow tests (see ``flow_harness`` for the clock, the fee tables and ``Dialogue``)."""

from __future__ import annotations

import pytest

from assistant.core.clock import FakeClock
from assistant.dialogue.flows.executor import FlowExecutor
from assistant.dialogue.flows.fees import FeeTable
from assistant.dialogue.flows.loader import FlowCatalog, load_flows
from assistant.dialogue.flows.parser import RuleCommandParser
from assistant.dialogue.flows.records import InMemoryCaseRecordStore
from assistant.dialogue.flows.validators import SlotValidators
from assistant.dialogue.pii import PiiRedactor
from tests.unit.dialogue.flows.flow_harness import (
    NATIONAL_FEES,
    NOW,
    SAMPLE,
    Dialogue,
    build_executor,
    read_fee_table,
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def demo_fees() -> FeeTable:
    return read_fee_table(SAMPLE / "bulky_waste_fees_demo.csv")


@pytest.fixture(scope="session")
def national_fees() -> FeeTable:
    if not NATIONAL_FEES.is_file():
        pytest.skip(f"{NATIONAL_FEES} is absent (../shared is not mounted)")
    return read_fee_table(NATIONAL_FEES)


@pytest.fixture(scope="session")
def flows() -> FlowCatalog:
    return load_flows()


@pytest.fixture(scope="session")
def pii() -> PiiRedactor:
    return PiiRedactor()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def validators(clock: FakeClock, pii: PiiRedactor, demo_fees: FeeTable) -> SlotValidators:
    return SlotValidators(clock=clock, pii=pii, items=demo_fees)


@pytest.fixture
def store() -> InMemoryCaseRecordStore:
    return InMemoryCaseRecordStore()


@pytest.fixture
def executor(
    flows: FlowCatalog,
    validators: SlotValidators,
    demo_fees: FeeTable,
    store: InMemoryCaseRecordStore,
    clock: FakeClock,
) -> FlowExecutor:
    return build_executor(flows, validators, demo_fees, store, clock)


@pytest.fixture
def parser(flows: FlowCatalog, validators: SlotValidators) -> RuleCommandParser:
    return RuleCommandParser(flows, validators)


@pytest.fixture
def dialogue(executor: FlowExecutor, parser: RuleCommandParser) -> Dialogue:
    return Dialogue(executor, parser)
