"""Retrieval cases with history: parsed from strings or turns, searched through the follow-up subject
(never the bare retriever), scored per category; and the committed follow-up dataset."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

import pytest

from assistant.core.clock import FakeClock
from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode
from evals.datasets import HistoryItem, RetrievalCase, load_dataset
from evals.plan import build_suite
from evals.runner import EvalRunner
from evals.subjects import FollowUpSearch, HistoryRole, Subjects
from tests.unit.evals.conftest import InMemoryRetriever, chunk

pytestmark = pytest.mark.anyio
ROOT = Path(__file__).resolve().parents[3]
FOLLOWUPS = ROOT / "evals" / "datasets" / "retrieval_followups.jsonl"
SAMPLE_FAQ = ROOT / "connectors" / "sample_knowledge" / "faq.jsonl"


class RecordingFollowUps:
    """Answers from a ranking per question; records the history and mode it was given."""

    def __init__(self, ranking: dict[str, list[str]]) -> None:
        self._ranking = ranking
        self.calls: list[tuple[str, tuple[tuple[HistoryRole, str], ...], SearchMode | None]] = []

    async def search(
        self,
        question: str,
        history: Sequence[tuple[HistoryRole, str]],
        *,
        k: int,
        mode: SearchMode | None = None,
    ) -> FollowUpSearch:
        self.calls.append((question, tuple(history), mode))
        hits = tuple(ScoredChunk(chunk(s), 1.0) for s in self._ranking.get(question, [])[:k])
        return FollowUpSearch(f"이전 주제 {question}", hits, "rule")


def rows() -> list[dict[str, object]]:
    def row(n: int, category: str, history: object) -> dict[str, object]:
        expected = [{"source": "sample", "section": f"faq-{n}"}]
        return {
            "id": f"f{n}",
            "question": f"질문{n}",
            "expected": expected,
            "history": history,
            "category": category,
        }

    return [
        row(1, "follow_up", ["따릉이는 어떻게 빌리나요?"]),
        row(
            2,
            "follow_up",
            [
                {"role": "user", "text": "기초연금은 누가 받아요?"},
                {"role": "assistant", "text": "어르신이요 [1]."},
            ],
        ),
        row(3, "topic_switch", ["따릉이는 어떻게 빌리나요?"]),
        {"id": "plain", "question": "질문4", "expected": [{"source": "sample", "section": "faq-4"}]},
    ]


def write(tmp_path: Path) -> Path:
    path = tmp_path / "retrieval_turns.jsonl"
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows()), encoding="utf-8")
    return path


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def test_history_is_turns_or_plain_user_strings(tmp_path: Path) -> None:
    cases = load_dataset(write(tmp_path)).cases
    first, second, _, plain = (c for c in cases if isinstance(c, RetrievalCase))
    assert first.history == (HistoryItem(role="user", text="따릉이는 어떻게 빌리나요?"),)
    assert [t.role for t in second.history] == ["user", "assistant"]
    assert (first.category, plain.category, plain.history) == ("follow_up", "", ())


async def test_turns_go_through_the_follow_up_search_and_metrics_come_per_category(tmp_path: Path) -> None:
    followups = RecordingFollowUps({"질문1": ["faq-1"], "질문2": ["faq-9", "faq-2"], "질문3": ["faq-9"]})
    retriever = InMemoryRetriever({"질문4": ["faq-4"]})
    suite = build_suite(
        load_dataset(write(tmp_path)), Subjects(retriever=retriever, followups=followups), mode="hybrid"
    )
    result = await EvalRunner(clock=FakeClock()).run_suite(suite)

    assert result.status == "ran"
    assert [call[0] for call in sorted(followups.calls)] == ["질문1", "질문2", "질문3"]
    assert {call[2] for call in followups.calls} == {"hybrid"}
    by_question = {call[0]: call[1] for call in followups.calls}
    assert by_question["질문2"] == (("user", "기초연금은 누가 받아요?"), ("assistant", "어르신이요 [1]."))
    assert retriever.modes == ["hybrid", "hybrid"]  # the preflight and the plain question, nothing else
    metrics = {m.name: m.value for m in result.metrics}
    assert metrics["hit@1"] == 0.5 and metrics["hit@5"] == 0.75
    assert metrics["follow_up.hit@1"] == 0.5 and metrics["follow_up.hit@5"] == 1.0
    assert metrics["topic_switch.hit@1"] == 0.0 and metrics["topic_switch.mrr@10"] == 0.0
    first = next(c for c in result.cases if c.case_id == "f1")
    assert first.details["query"] == "이전 주제 질문1" and first.details["query_by"] == "rule"
    assert first.details["history"] == "user: 따릉이는 어떻게 빌리나요?"


async def test_without_a_follow_up_search_a_dataset_with_history_is_skipped(tmp_path: Path) -> None:
    suite = build_suite(load_dataset(write(tmp_path)), Subjects(retriever=InMemoryRetriever({})))
    result = await EvalRunner(clock=FakeClock()).run_suite(suite)
    assert result.status == "skipped" and "history" in result.reason


def test_the_committed_follow_up_set_is_balanced_and_points_at_real_entries() -> None:
    dataset = load_dataset(FOLLOWUPS)
    cases = [c for c in dataset.cases if isinstance(c, RetrievalCase)]
    assert dataset.kind == "retrieval" and len(cases) == len(dataset.cases) >= 30
    assert Counter(c.category for c in cases) == {"follow_up": 25, "topic_switch": 25}
    faq_ids = {json.loads(line)["id"] for line in SAMPLE_FAQ.read_text(encoding="utf-8").splitlines()}
    for case in cases:
        assert [t.role for t in case.history] == ["user", "assistant"], case.id
        assert all(e.source == "sample" and e.section in faq_ids for e in case.expected), case.id
