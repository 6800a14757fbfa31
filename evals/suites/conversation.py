"""Dialogue suite: scripted conversations, checked turn by turn and by how they end."""

from __future__ import annotations

import json
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.core.clock import FakeClock
from assistant.core.events import Channel, ConversationKey, MessageId, UserTurn
from assistant.core.replies import Capabilities, Reply
from evals.datasets import Dataset, DialogueCase, DialogueExpectation, DialogueTurn, EvalCase
from evals.dialogue_ending import flow_ending
from evals.results import CaseResult, MetricSummary, Score, mean_metrics
from evals.subjects import ConversationEnd, ConversationSubject, DialogueRuntimes
from evals.suite import SuiteBase, binary, guarded
from evals.text_match import describe, fact_found

CAPABILITIES: dict[str, Capabilities] = {
    "web": Capabilities(),
    "kakao": Capabilities(
        markdown=False, max_chars=1000, max_quick_replies=10, reply_budget=timedelta(seconds=5)
    ),
    "phone": Capabilities(markdown=False, spoken=True, max_chars=600, max_quick_replies=0),
}
DEFAULT_CLOCK = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
"""When a dialogue dataset's header names no ``clock``: 10:00 in Seoul on Wednesday 25 November 2026,
the day the shipped flow conversations were written for ("내일" is 26 November)."""
TURN_GAP = timedelta(seconds=20)
"""How far the clock moves between two turns of a scripted conversation."""


class DialogueManagerConversation:
    """Plays each conversation on a dialogue manager of its own (``DialogueRuntimes``), on a fake clock
    starting at ``start``, and reads back from its store how the flow ended (``flow_ending``); without
    a flow the outcome is the last reply's action."""

    def __init__(self, runtimes: DialogueRuntimes, run_id: str) -> None:
        self._runtimes = runtimes
        self._run_id = run_id

    async def converse(
        self, conversation_id: str, turns: Sequence[str], channel: str, *, start: datetime
    ) -> ConversationEnd:
        name: Channel = "kakao" if channel == "kakao" else "phone" if channel == "phone" else "web"
        thread = f"eval-{self._run_id}-{conversation_id}"
        key = ConversationKey(name, thread)
        clock = FakeClock(start)
        replies: list[Reply] = []
        states: list[object] = []
        turn_ms: list[float] = []
        async with self._runtimes.open(clock) as runtime:
            for index, text in enumerate(turns):
                event = UserTurn(
                    key=key, message_id=MessageId(f"{thread}-{index}"), received_at=clock.now(), text=text
                )
                started = time.perf_counter()
                replies.append(await runtime.manager.respond(event, CAPABILITIES[channel]))
                turn_ms.append((time.perf_counter() - started) * 1000)
                states.append((await runtime.log.load(key)).state.get("flow"))
                clock.advance(TURN_GAP)
            conversation = await runtime.log.load(key)
        ending = flow_ending(conversation.events, states)
        outcome = ending.outcome if ending.flow is not None else (replies[-1].action if replies else None)
        return ConversationEnd(
            tuple(replies), flow=ending.flow, outcome=outcome, slots=ending.slots, turn_ms=tuple(turn_ms)
        )


class DialogueSuite(SuiteBase):
    """``turns``: the share of per-turn expectations met; ``flow``, ``outcome``, ``slots``: how it ended.
    Each case starts at the dataset's ``clock`` (``DEFAULT_CLOCK`` without one)."""

    metric_names = ("turns", "outcome")

    def __init__(self, dataset: Dataset, subject: ConversationSubject | None, *, name: str) -> None:
        super().__init__(dataset, name=name)
        self._subject = subject
        self._start = dataset.clock or DEFAULT_CLOCK

    @property
    def options(self) -> dict[str, str]:
        return {"clock": self._start.isoformat()}

    def unavailable(self) -> str | None:
        if self._subject is None:
            return "no dialogue manager is wired into this build"
        return None

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, DialogueCase) and self._subject is not None
        started = time.perf_counter()
        end = await self._subject.converse(
            case.id, [t.user for t in case.turns], case.channel, start=self._start
        )
        elapsed = (time.perf_counter() - started) * 1000
        scores: list[Score] = [guarded("turns", lambda: _turns(case.turns, end.replies))]
        scores += ending_scores(case.expected, end)
        transcript = []
        for turn, reply in zip(case.turns, end.replies, strict=False):
            transcript += [f"사용자: {turn.user}", f"다산: {reply.text}"]
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=tuple(scores),
            latency_ms=round(_per_turn(end, elapsed, len(case.turns)), 3),
            input=" / ".join(t.user for t in case.turns),
            output="\n".join(transcript),
            details={
                "flow": end.flow or "-",
                "outcome": end.outcome or "-",
                "slots": json.dumps(dict(end.slots), ensure_ascii=False, default=str),
                "note": case.note or "-",
            },
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        return mean_metrics(cases)


def _per_turn(end: ConversationEnd, elapsed_ms: float, turns: int) -> float:
    """The mean time per reply: measured around each reply when the subject did, else overall."""
    return sum(end.turn_ms) / len(end.turn_ms) if end.turn_ms else elapsed_ms / turns


def ending_scores(expected: DialogueExpectation, end: ConversationEnd) -> list[Score]:
    scores: list[Score] = []
    if expected.flow is not None:
        flow = end.flow
        scores.append(
            guarded("flow", lambda: binary("flow", flow == expected.flow, f"ran {flow or 'no flow'}"))
        )
    if expected.outcome is not None:
        outcome = end.outcome
        scores.append(
            guarded("outcome", lambda: binary("outcome", outcome == expected.outcome, f"ended {outcome}"))
        )
    if expected.slots:
        scores.append(guarded("slots", lambda: _slots(expected.slots, end.slots)))
    return scores


def _slots(expected: Mapping[str, Any], actual: Mapping[str, object]) -> Score:
    def plain(value: object) -> object:
        return json.loads(json.dumps(value, ensure_ascii=False, default=str))

    wrong = {
        name: actual.get(name, "<missing>")
        for name, want in expected.items()
        if plain(actual.get(name)) != want
    }
    value = 1 - len(wrong) / len(expected)
    reason = (
        "all match"
        if not wrong
        else "; ".join(f"{k}={v!r}, expected {expected[k]!r}" for k, v in wrong.items())
    )
    return Score("slots", round(value, 6), not wrong, reason)


def _turns(turns: Sequence[DialogueTurn], replies: Sequence[Reply]) -> Score:
    checks = 0
    failures: list[str] = []
    if len(replies) < len(turns):
        failures.append(f"{len(replies)} replies to {len(turns)} turns")
    for number, (turn, reply) in enumerate(zip(turns, replies, strict=False), start=1):
        for fact in turn.expect_contains:
            checks += 1
            if not fact_found(reply.text, fact):
                failures.append(f"turn {number}: missing {describe(fact)!r}")
        for fact in turn.expect_not_contains:
            checks += 1
            if fact_found(reply.text, fact):
                failures.append(f"turn {number}: must not say {describe(fact)!r}")
        if turn.expect_action is not None:
            checks += 1
            if reply.action != turn.expect_action:
                failures.append(f"turn {number}: action {reply.action}, expected {turn.expect_action}")
    if checks == 0 and not failures:
        return binary("turns", True, "no turn expectations")
    value = max(0, checks - len(failures)) / checks if checks else 0.0
    return Score("turns", round(value, 6), not failures, "; ".join(failures) or f"{checks} checks met")
