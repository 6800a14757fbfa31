"""Channel conformance suite: replies encoded for Kakao and Twilio, checked against the wire's rules."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from assistant.core.knowledge import ChunkId
from assistant.core.replies import Citation, Reply
from evals.channel_checks import kakao_violations, twiml_violations
from evals.datasets import ChannelCase, Dataset, EvalCase
from evals.results import CaseResult, MetricSummary, Score, mean_metrics
from evals.subjects import ChannelEncoder
from evals.suite import SuiteBase, binary, count_metric, guarded, timed
from evals.text_match import squash

_HANGUL = re.compile("[가-힣]")


class ChannelSuite(SuiteBase):
    """``conformance``: the encoded reply has no violations. ``kept_text``: the reply's first words reach
    the wire (an encoder that drops the answer would conform trivially)."""

    metric_names = ("conformance", "kept_text")

    def __init__(self, dataset: Dataset, encoders: Mapping[str, ChannelEncoder], *, name: str) -> None:
        super().__init__(dataset, name=name)
        self._encoders = encoders

    @property
    def options(self) -> dict[str, str]:
        return {channel: type(encoder).__name__ for channel, encoder in sorted(self._encoders.items())}

    def unavailable(self) -> str | None:
        needed = {c.channel for c in self._dataset.cases if isinstance(c, ChannelCase)}
        missing = sorted(needed - set(self._encoders))
        return f"no encoder for {', '.join(missing)}" if missing else None

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, ChannelCase)
        encoder = self._encoders[case.channel]
        call = await timed(encoder.encode(as_reply(case)))
        wire = call.value
        scores = (
            guarded("conformance", lambda: _conformance(case.channel, wire)),
            guarded("kept_text", lambda: _kept_text(case.reply_text, wire)),
        )
        shown = wire if isinstance(wire, str) else json.dumps(wire, ensure_ascii=False, indent=1)
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=scores,
            latency_ms=round(call.ms, 3),
            input=case.reply_text,
            output=shown,
            details={
                "channel": case.channel,
                "quick_replies": str(len(case.quick_replies)),
                "action": case.action,
            },
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        return [*mean_metrics(cases), count_metric("violating_replies", cases, "conformance")]


def as_reply(case: ChannelCase) -> Reply:
    """The case as the core ``Reply`` a channel receives (a citation's source is its title)."""
    citations = tuple(
        Citation(n=c.n, chunk_id=ChunkId(f"eval-{case.id}-{c.n}"), title=c.title, source=c.title, url=c.url)
        for c in case.citations
    )
    return Reply(
        text=case.reply_text, citations=citations, quick_replies=case.quick_replies, action=case.action
    )


def _conformance(channel: str, wire: Any) -> Score:
    if channel == "kakao":
        if not isinstance(wire, Mapping):
            return binary(
                "conformance", False, f"a Kakao response must be a JSON object, got {type(wire).__name__}"
            )
        json.dumps(wire)  # must serialise
        problems = kakao_violations(wire)
    else:
        if not isinstance(wire, str):
            return binary("conformance", False, f"TwiML must be text, got {type(wire).__name__}")
        problems = twiml_violations(wire)
    return binary("conformance", not problems, "; ".join(problems) or "conforms")


def _kept_text(reply_text: str, wire: Any) -> Score:
    words = [_core(w) for w in reply_text.split() if _HANGUL.search(w)][:2]
    flat = squash(wire if isinstance(wire, str) else json.dumps(wire, ensure_ascii=False))
    missing = [w for w in words if squash(w) not in flat]
    reason = f"missing {missing}" if missing else "the reply's opening reached the wire"
    return binary("kept_text", not missing, reason)


def _core(word: str) -> str:
    return "".join(ch for ch in word if ch.isalnum())
