"""Verifier suite: does the answer verifier accept supported sentences and reject unsupported ones?"""

from __future__ import annotations

from collections.abc import Sequence

from evals.datasets import Dataset, EvalCase, VerifierCase
from evals.results import CaseResult, MetricSummary, mean_metrics
from evals.subjects import VerifierSubject
from evals.suite import SuiteBase, binary, guarded, rate_metric, timed


class VerifierSuite(SuiteBase):
    """``verdict``: the verifier's decision equals the labelled one. ``unsupported_caught`` is the recall
    on unsupported sentences (what protects citizens from wrong answers)."""

    metric_names = ("verdict",)

    def __init__(self, dataset: Dataset, verifier: VerifierSubject | None, *, name: str) -> None:
        super().__init__(dataset, name=name)
        self._verifier = verifier

    def unavailable(self) -> str | None:
        return None if self._verifier is not None else "the answer verifier is not available in this build"

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, VerifierCase) and self._verifier is not None
        call = await timed(self._verifier.supports(case.sentence, case.source))
        verdict = call.value
        said = "supported" if verdict.supported else "unsupported"
        expected = "supported" if case.supported else "unsupported"
        why = (
            f"{said} ({verdict.reason}), labelled {expected}"
            if verdict.reason
            else f"{said}, labelled {expected}"
        )
        score = guarded("verdict", lambda: binary("verdict", verdict.supported == case.supported, why))
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=(score,),
            latency_ms=round(call.ms, 3),
            input=case.sentence,
            output=said,
            details={"source": case.source, "label": expected},
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        labels = {c.id: c.supported for c in self._dataset.cases if isinstance(c, VerifierCase)}
        metrics = mean_metrics(cases)
        metrics.append(
            rate_metric("unsupported_caught", [c for c in cases if labels.get(c.case_id) is False], "verdict")
        )
        metrics.append(
            rate_metric("supported_kept", [c for c in cases if labels.get(c.case_id) is True], "verdict")
        )
        return metrics
