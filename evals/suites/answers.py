"""Answer suites: key facts, forbidden facts, citations and abstention of the production answer pipeline."""

from __future__ import annotations

import re
from collections.abc import Sequence

from evals.channel_checks import spoken_style_violations
from evals.datasets import AbstentionCase, AnswerCase, Dataset, EvalCase
from evals.judge import AnswerJudge
from evals.results import CaseResult, MetricSummary, Score, mean_metrics
from evals.retrieval_metrics import chunk_matches
from evals.subjects import AnswerObservation, AnswerSubject
from evals.suite import SuiteBase, binary, count_metric, guarded, timed
from evals.text_match import describe, fact_found, found_facts

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*,\s*\d{1,3})*)\s*\]")
VOICE_MAX_SENTENCES = 3


class AnswerSuite(SuiteBase):
    """Runs each question through the answer pipeline and scores the answer against the case."""

    metric_names = ("abstention", "key_facts", "no_forbidden", "citations_resolve")

    def __init__(
        self, dataset: Dataset, answerer: AnswerSubject | None, *, name: str, judge: AnswerJudge | None = None
    ) -> None:
        super().__init__(dataset, name=name)
        self._answerer = answerer
        self._judge = judge

    @property
    def options(self) -> dict[str, str]:
        return {"judge": self._judge.describe() if self._judge is not None else "off"}

    def unavailable(self) -> str | None:
        return None if self._answerer is not None else "the answer pipeline is not available in this build"

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, AnswerCase) and self._answerer is not None
        call = await timed(self._answerer.answer(case.question, spoken=case.channel == "phone"))
        answer = call.value
        scores = list(answer_scores(case, answer))
        if self._judge is not None and answer.mode != "abstain" and not case.should_abstain:
            judge = self._judge
            verdict = await judge.judge(case.question, answer, case.key_facts)
            scores.append(verdict)
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=tuple(scores),
            latency_ms=round(call.ms, 3),
            input=case.question,
            output=answer.text,
            details=_details(answer, case),
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        by_id = {c.id: c for c in self._dataset.cases if isinstance(c, AnswerCase)}
        metrics = mean_metrics(cases)
        should = [r for r in cases if (c := by_id.get(r.case_id)) is not None and c.should_abstain]
        should_not = [r for r in cases if (c := by_id.get(r.case_id)) is not None and not c.should_abstain]
        metrics.append(count_metric("missed_abstentions", should, "abstention"))
        metrics.append(count_metric("false_abstentions", should_not, "abstention"))
        metrics.append(count_metric("forbidden_violations", cases, "no_forbidden"))
        return metrics


def answer_scores(case: AnswerCase, answer: AnswerObservation) -> tuple[Score, ...]:
    """Every applicable score of one answer; each evaluator is guarded."""
    abstained = answer.mode == "abstain"
    scores = [
        guarded(
            "abstention",
            lambda: binary(
                "abstention",
                abstained == case.should_abstain,
                f"{'abstained' if abstained else 'answered'} ({answer.mode}); "
                f"expected to {'abstain' if case.should_abstain else 'answer'}",
            ),
        )
    ]
    if case.key_facts and not case.should_abstain:
        scores.append(guarded("key_facts", lambda: _key_facts(case, answer.text)))
    if case.forbidden:
        scores.append(guarded("no_forbidden", lambda: _forbidden(case, answer.text)))
    if not abstained:
        scores.append(guarded("citations_resolve", lambda: _citations_resolve(answer)))
        if case.expected_sources:
            scores.append(guarded("citation_precision", lambda: _citation_precision(case, answer)))
        if case.channel == "phone":
            scores.append(guarded("spoken_style", lambda: _spoken(answer.text)))
    return tuple(scores)


def _key_facts(case: AnswerCase, text: str) -> Score:
    found, missing = found_facts(text, case.key_facts)
    value = len(found) / len(case.key_facts)
    reason = "all found" if not missing else "missing: " + "; ".join(describe(f) for f in missing)
    return Score("key_facts", round(value, 6), not missing, reason)


def _forbidden(case: AnswerCase, text: str) -> Score:
    present = [f for f in case.forbidden if fact_found(text, f)]
    reason = "none present" if not present else "present: " + "; ".join(describe(f) for f in present)
    return binary("no_forbidden", not present, reason)


def _citations_resolve(answer: AnswerObservation) -> Score:
    cited = [int(n) for group in _MARKER.findall(answer.text) for n in group.split(",")]
    known = {c.n for c in answer.citations}
    if not cited:
        return binary("citations_resolve", False, "the answer cites no source")
    unresolved = sorted({n for n in cited if n not in known})
    value = 1 - len([n for n in cited if n in unresolved]) / len(cited)
    reason = "every [n] resolves" if not unresolved else f"unresolved markers: {unresolved}"
    return Score("citations_resolve", round(value, 6), not unresolved, reason)


def _citation_precision(case: AnswerCase, answer: AnswerObservation) -> Score:
    if not answer.citations:
        return binary("citation_precision", False, "no citations")
    chunks = {s.chunk.chunk_id: s.chunk for s in answer.sources}
    good = 0
    for citation in answer.citations:
        chunk = chunks.get(citation.chunk_id)
        for expected in case.expected_sources:
            by_chunk = chunk is not None and chunk_matches(expected, chunk)
            by_citation = (
                expected.source in (citation.source, citation.title) and expected.section == citation.section
            )
            if by_chunk or by_citation:
                good += 1
                break
    value = good / len(answer.citations)
    return Score(
        "citation_precision", round(value, 6), value == 1.0, f"{good}/{len(answer.citations)} expected"
    )


def _spoken(text: str) -> Score:
    problems = spoken_style_violations(_MARKER.sub("", text), max_sentences=VOICE_MAX_SENTENCES)
    return binary("spoken_style", not problems, "; ".join(problems) or "fit for voice")


def _details(answer: AnswerObservation, case: AnswerCase) -> dict[str, str]:
    details = {
        "mode": answer.mode,
        "citations": "; ".join(f"[{c.n}] {c.title}" for c in answer.citations) or "-",
        "key_facts": "; ".join(describe(f) for f in case.key_facts) or "-",
        "forbidden": "; ".join(describe(f) for f in case.forbidden) or "-",
    }
    if answer.fallback_reason:
        details["fallback_reason"] = answer.fallback_reason
    return details


class AbstentionSuite(SuiteBase):
    """Out-of-scope questions: the pipeline must abstain."""

    metric_names = ("abstention",)

    def __init__(self, dataset: Dataset, answerer: AnswerSubject | None, *, name: str) -> None:
        super().__init__(dataset, name=name)
        self._answerer = answerer

    def unavailable(self) -> str | None:
        return None if self._answerer is not None else "the answer pipeline is not available in this build"

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, AbstentionCase) and self._answerer is not None
        call = await timed(self._answerer.answer(case.question))
        answer = call.value
        ok = answer.mode == "abstain"
        score = binary(
            "abstention", ok, "abstained" if ok else f"answered ({answer.mode}) an out-of-scope question"
        )
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=(score,),
            latency_ms=round(call.ms, 3),
            input=case.question,
            output=answer.text,
            details={"mode": answer.mode, "category": case.category or "-"},
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        return mean_metrics(cases)
