"""The dialogue suite on the production dialogue manager (``ScratchDialogues``): the shipped flow
conversations, per-case isolation of records, the dataset clock, and reading flow endings back."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant.answering.answer import Answer, AnswerDelta, AnswerLatency, HistoryTurn
from assistant.app.database_factory import open_database
from assistant.app.dialogue_factory import build_dialogue, build_session_store
from assistant.app.eval_wiring import ScratchDialogues
from assistant.app.services import sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.clock import Clock, FakeClock
from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.conversation import ConversationEvent, EventKind
from evals.datasets import load_dataset
from evals.dialogue_ending import flow_ending
from evals.plan import build_suite
from evals.results import SuiteResult
from evals.runner import EvalRunner
from evals.subjects import DialogueRuntime, Subjects
from evals.suites.conversation import DEFAULT_CLOCK, DialogueManagerConversation

pytestmark = pytest.mark.anyio
DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "dialogue_flows.jsonl"
NOT_FOUND = "죄송해요. 안내 자료에서 찾지 못했어요."


class AbstainingAnswerer:
    """The answer pipeline's port, always abstaining (the flows never need an answer to finish)."""

    def __init__(self) -> None:
        self.questions: list[str] = []

    async def answer(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> Answer:
        self.questions.append(question)
        return Answer(text=NOT_FOUND, mode="abstain", citations=(), latency_ms=AnswerLatency())

    async def stream(
        self,
        question: str,
        *,
        history: Sequence[HistoryTurn] = (),
        spoken: bool = False,
        deadline: timedelta,
    ) -> AsyncIterator[AnswerDelta | Answer]:
        yield await self.answer(question, history=history, spoken=spoken, deadline=deadline)


class SharedDatabaseDialogues:
    """What the harness must not do: every conversation on one database (records and counters shared)."""

    def __init__(self, settings: Settings, answers: AbstainingAnswerer, stack: AsyncExitStack) -> None:
        self._settings = settings
        self._answers = answers
        self._stack = stack

    @asynccontextmanager
    async def open(self, clock: Clock) -> AsyncIterator[DialogueRuntime]:
        database = await open_database(self._settings, self._stack)
        sessions = await build_session_store(self._settings, clock, database, self._stack)
        manager = await build_dialogue(
            self._settings,
            sessions=sessions,
            database=database,
            answers=self._answers,
            clock=clock,
            sample_dir=sample_knowledge_dir(),
        )
        yield DialogueRuntime(manager, sessions)


def settings(tmp_path: Path) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data")  # type: ignore[call-arg]


async def run(dataset: Path, runtimes: object) -> SuiteResult:
    subject = DialogueManagerConversation(runtimes, "t")  # type: ignore[arg-type]
    suite = build_suite(load_dataset(dataset), Subjects(dialogue=subject))
    return await EvalRunner(clock=FakeClock(), concurrency=4).run_suite(suite)


def write(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


async def test_every_shipped_flow_conversation_ends_as_expected(tmp_path: Path) -> None:
    answers = AbstainingAnswerer()
    result = await run(DATASET, ScratchDialogues(settings(tmp_path), answers))
    failing = {c.case_id: c.reason or [s.reason for s in c.scores if not s.passed] for c in result.cases}
    assert all(c.passed for c in result.cases), {k: v for k, v in failing.items() if v}
    assert len(result.cases) >= 10
    assert {m.name: m.value for m in result.metrics} == {
        "turns": 1.0,
        "flow": 1.0,
        "outcome": 1.0,
        "slots": 1.0,
        "pass_rate": 1.0,
    }
    first = next(c for c in result.cases if c.case_id == "flow-bw-001")
    assert '"reference": "BW-20261125-0001"' in first.details["slots"]
    assert "접수번호: BW-20261125-0001" in first.output
    assert "수수료는 어떻게 내나요?" in answers.questions  # the FAQ digression went to the answerer
    assert not (tmp_path / "data").exists()  # nothing was written to the configured data dir


async def test_cases_never_share_records_or_reference_numbers(tmp_path: Path) -> None:
    case = json.loads(DATASET.read_text(encoding="utf-8").splitlines()[0])
    twice = write(tmp_path / "dialogue_twice.jsonl", case, {**case, "id": "again"})
    isolated = await run(twice, ScratchDialogues(settings(tmp_path), AbstainingAnswerer()))
    assert [c.passed for c in isolated.cases] == [True, True]
    async with AsyncExitStack() as stack:
        shared = await run(twice, SharedDatabaseDialogues(settings(tmp_path), AbstainingAnswerer(), stack))
    slots = sorted(c.score("slots").reason for c in shared.cases)  # type: ignore[union-attr]
    assert slots == ["all match", "reference='BW-20261125-0002', expected 'BW-20261125-0001'"]


async def test_a_header_clock_moves_relative_dates(tmp_path: Path) -> None:
    header = {"format": "dasan-eval/1", "kind": "dialogue", "clock": "2026-12-01T10:00:00+09:00"}
    case = {
        "id": "tomorrow",
        "turns": ["강남구 소파 버리고 싶어요", "3인용", "강남구 테헤란로 123", "내일", "010-1234-5678", "네"],
        "expected": {
            "flow": "bulky_waste_pickup",
            "outcome": "completed",
            "slots": {"pickup_date": "2026-12-02", "reference": "BW-20261201-0001"},
        },
    }
    dataset = write(tmp_path / "clocked.jsonl", header, case)
    result = await run(dataset, ScratchDialogues(settings(tmp_path), AbstainingAnswerer()))
    assert result.options == {"clock": "2026-12-01T10:00:00+09:00"}
    assert result.cases[0].passed, result.cases[0].scores
    assert load_dataset(DATASET).clock is None
    assert datetime(2026, 11, 25, 1, tzinfo=UTC) == DEFAULT_CLOCK  # 10:00 in Seoul


KEY = ConversationKey("web", "t")


def event(seq: int, kind: EventKind, **payload: object) -> ConversationEvent:
    return ConversationEvent(KEY, seq, kind, MessageId(f"m{seq}"), DEFAULT_CLOCK, payload)


def running(flow: str, **slots: object) -> dict[str, object]:
    return {"flow_id": flow, "step_id": "s", "slots": slots, "status": "active"}


def test_flow_endings_read_from_events_and_states() -> None:
    assert flow_ending([event(1, "user_turn", text="안녕")], [None]).flow is None
    start = event(2, "flow", flow_id="bulky_waste_pickup", status="active")
    record = {"kind": "bulky_waste_booking", "reference": "BW-1", "size": "3인용", "fee_won": 10000}
    done = event(4, "flow", flow_id="bulky_waste_pickup", status="completed", record=record)
    states = [running("bulky_waste_pickup", size="3인용 (10,000원)", phone="[전화번호]"), None]
    ending = flow_ending([start, done], states)
    assert (ending.flow, ending.outcome) == ("bulky_waste_pickup", "completed")
    assert ending.slots == {
        "size": "3인용 (10,000원)",  # the slot wins over the record's plainer value
        "phone": "[전화번호]",
        "reference": "BW-1",
        "fee_won": 10000,
    }
    handed = flow_ending([start, event(5, "handoff", reason="flow")], [running("bulky_waste_pickup"), None])
    assert handed.outcome == "handoff"
    still = flow_ending([start], [running("civil_complaint", complaint_type="가로등 고장")])
    assert (still.flow, still.outcome, still.slots) == ("bulky_waste_pickup", "active", {})
    only_state = flow_ending([], [running("civil_complaint", complaint_type="가로등 고장")])
    assert (only_state.flow, only_state.outcome) == ("civil_complaint", "active")
    assert only_state.slots == {"complaint_type": "가로등 고장"}
