"""The LLM judge (parsing, failures, the rubric prompt) and the dialogue suite on both dataset shapes."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import LLMTimeout
from assistant.core.replies import Reply
from assistant.llm.ports import ChatRequest, Completion
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir
from evals.datasets import DialogueCase, load_dataset
from evals.judge import AnswerJudge, parse_verdict
from evals.plan import build_suite
from evals.results import Score
from evals.runner import EvalRunner
from evals.subjects import AnswerObservation, ConversationEnd, Subjects
from tests.unit.evals.conftest import citation

pytestmark = pytest.mark.anyio
DATASETS = Path(__file__).resolve().parents[3] / "evals" / "datasets"


class ScriptedJudgeModel:
    """Replays completions (or raises) and records the requests."""

    def __init__(self, *outputs: str | Exception) -> None:
        self._outputs = list(outputs)
        self.requests: list[ChatRequest] = []

    @property
    def model(self) -> str:
        return "scripted"

    async def complete(self, request: ChatRequest) -> Completion:
        self.requests.append(request)
        output = self._outputs.pop(0)
        if isinstance(output, Exception):
            raise output
        return Completion(text=output, model="scripted")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"reason": "정확해요", "score": 5}', Score("judge", 1.0, True, "5/5: 정확해요")),
        ('{"reason": "숫자가 틀림", "score": 2}', Score("judge", 0.25, False, "2/5: 숫자가 틀림")),
        ('{"reason": "x", "score": 9}', None),
        ('{"reason": "x", "score": true}', None),
        ("좋아요", None),
    ],
)
def test_parse_verdict(text: str, expected: Score | None) -> None:
    verdict = parse_verdict(text)
    if expected is None:
        assert not verdict.passed and verdict.value == 0.0 and verdict.reason.startswith("judge output")
    else:
        assert verdict == expected


async def test_the_judge_renders_the_korean_rubric_and_survives_model_errors() -> None:
    prompt = PromptLibrary(default_prompts_dir()).get("answer_judge")
    model = ScriptedJudgeModel('{"reason": "자료와 일치", "score": 4}', LLMTimeout("too slow"))
    judge = AnswerJudge(model, prompt)
    answer = AnswerObservation("등본은 400원이에요 [1].", "llm", (citation(1),))
    first = await judge.judge("등본 얼마예요?", answer, ["400원"])
    assert first == Score("judge", 0.75, True, "4/5: 자료와 일치")
    request = model.requests[0]
    assert request.json_schema is not None and request.metadata["prompt_id"] == "answer_judge"
    user = request.messages[-1].content
    assert "등본 얼마예요?" in user and "[필수 사실]\n- 400원" in user and "[1] faq-x 제목" in user
    second = await judge.judge("등본 얼마예요?", answer, [])
    assert second == Score("judge", 0.0, False, "judge model failed: too slow")
    with pytest.raises(ValueError, match="answer_judge"):
        AnswerJudge(model, PromptLibrary(default_prompts_dir()).get("query_rewrite"))


class ScriptedConversation:
    """Answers each turn from a script; reports a flow ending when given one."""

    def __init__(self, replies: dict[str, Reply], end: dict[str, object] | None = None) -> None:
        self._replies = replies
        self._end = end or {}

    async def converse(
        self, conversation_id: str, turns: Sequence[str], channel: str, *, start: datetime
    ) -> ConversationEnd:
        replies = tuple(self._replies.get(t, Reply(text="네")) for t in turns)
        return ConversationEnd(replies, **self._end)  # type: ignore[arg-type]


def write(path: Path, *rows: object) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


async def test_dialogue_turn_checks_and_flow_endings(tmp_path: Path) -> None:
    rows = [
        {
            "id": "d1",
            "turns": [
                {
                    "user": "소파 버리고 싶어요",
                    "expect_contains": ["구"],
                    "expect_not_contains": ["주민번호"],
                },
                {"user": "상담원 연결", "expect_action": "handoff"},
            ],
            "expected": {"outcome": "handoff"},
        },
        {
            "id": "d2",
            "turns": ["강남구 소파", "3인용"],
            "expected": {"flow": "bulky_waste_pickup", "outcome": "completed", "slots": {"fee_won": 10000}},
        },
    ]
    subject = ScriptedConversation(
        {
            "소파 버리고 싶어요": Reply(text="어느 구에 사세요?"),
            "상담원 연결": Reply(text="연결할게요", action="continue"),
        },
        {"flow": "bulky_waste_pickup", "outcome": "completed", "slots": {"fee_won": 7000}},
    )
    suite = build_suite(load_dataset(write(tmp_path / "dialogue_x.jsonl", *rows)), Subjects(dialogue=subject))
    result = await EvalRunner(clock=FakeClock()).run_suite(suite)
    first, second = result.cases
    assert first.score("turns") == Score(
        "turns", 0.666667, False, "turn 2: action continue, expected handoff"
    )
    assert not first.score("outcome").passed  # the scripted subject ended "completed"
    assert second.score("flow").passed and second.score("outcome").passed
    assert second.score("slots") == Score("slots", 0.0, False, "fee_won=7000, expected 10000")


def test_the_flow_teams_dataset_loads_as_dialogue_cases() -> None:
    path = DATASETS / "dialogue_flows.jsonl"
    if not path.exists():
        pytest.skip("dialogue_flows.jsonl is not in this checkout")
    cases = load_dataset(path).cases
    assert cases and all(isinstance(c, DialogueCase) and c.expected.outcome for c in cases)
