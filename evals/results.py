"""What an eval run produces: scores per case, aggregated metrics per suite, and the run's report."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from evals.datasets import DatasetKind

REPORT_FORMAT = "dasan-eval-report/1"
CaseStatus = Literal["scored", "skipped", "error"]
SuiteStatus = Literal["ran", "skipped", "error"]


@dataclass(frozen=True, slots=True)
class Score:
    """One verdict on one case. ``value`` is in [0, 1] for rates, or a count; ``reason`` says why."""

    name: str
    value: float
    passed: bool
    reason: str = ""


@dataclass(frozen=True, slots=True)
class RetrievedItem:
    """A retrieved chunk as the report shows it; ``relevant`` when it matches an expectation."""

    rank: int
    score: float
    source: str
    title: str
    section: str
    document_id: str
    relevant: bool = False


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case: its scores, or why it was skipped or failed. ``input`` is the question (or utterance,
    or reply), ``output`` what the system said; ``details`` holds verdicts as short strings."""

    case_id: str
    status: CaseStatus
    scores: tuple[Score, ...] = ()
    latency_ms: float | None = None
    input: str = ""
    output: str = ""
    retrieved: tuple[RetrievedItem, ...] = ()
    details: dict[str, str] = field(default_factory=dict)
    reason: str = ""

    @property
    def passed(self) -> bool:
        return self.status == "scored" and all(score.passed for score in self.scores)

    def score(self, name: str) -> Score | None:
        return next((s for s in self.scores if s.name == name), None)


@dataclass(frozen=True, slots=True)
class MetricSummary:
    """An aggregate over a suite's cases. ``count`` cases contributed; ``passed`` of them passed."""

    name: str
    value: float
    count: int
    passed: int = 0
    higher_is_better: bool = True


@dataclass(frozen=True, slots=True)
class LatencySummary:
    """Per-case latency of the system under test, in milliseconds."""

    count: int
    p50_ms: float
    p95_ms: float
    max_ms: float


@dataclass(frozen=True, slots=True)
class DatasetInfo:
    name: str
    path: str
    version: str
    cases: int


@dataclass(frozen=True, slots=True)
class SuiteResult:
    """One dataset run with one set of options (``suite`` names both, e.g. ``retrieval_sample.lexical``)."""

    suite: str
    kind: DatasetKind | None
    dataset: DatasetInfo
    status: SuiteStatus = "ran"
    reason: str = ""
    options: dict[str, str] = field(default_factory=dict)
    metrics: tuple[MetricSummary, ...] = ()
    latency: LatencySummary | None = None
    cases: tuple[CaseResult, ...] = ()

    def metric(self, name: str) -> MetricSummary | None:
        return next((m for m in self.metrics if m.name == name), None)


@dataclass(frozen=True, slots=True)
class RunReport:
    """A whole run: metadata (git commit, settings summary), then every suite."""

    started_at: str
    seconds: float
    suites: tuple[SuiteResult, ...]
    git_commit: str | None = None
    git_dirty: bool | None = None
    settings: dict[str, str] = field(default_factory=dict)
    judge: bool = False
    format: str = REPORT_FORMAT

    def suite(self, name: str) -> SuiteResult | None:
        return next((s for s in self.suites if s.suite == name), None)


def unrun_suite(
    suite: str, path: str, kind: DatasetKind | None, status: SuiteStatus, reason: str
) -> SuiteResult:
    """A suite that never ran: its dataset is missing or unreadable, or the gate skipped it."""
    name = path.rsplit("/", 1)[-1].removesuffix(".jsonl")
    return SuiteResult(suite, kind, DatasetInfo(name, path, "-", 0), status=status, reason=reason)


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in [0, 1]); 0.0 for no values."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


def latency_summary(cases: Sequence[CaseResult]) -> LatencySummary | None:
    values = [c.latency_ms for c in cases if c.latency_ms is not None]
    if not values:
        return None
    return LatencySummary(
        count=len(values),
        p50_ms=round(percentile(values, 0.5), 2),
        p95_ms=round(percentile(values, 0.95), 2),
        max_ms=round(max(values), 2),
    )


def mean_metrics(cases: Sequence[CaseResult]) -> list[MetricSummary]:
    """The mean of every score name over the scored cases, in first-seen order, plus ``pass_rate``."""
    scored = [c for c in cases if c.status != "skipped"]
    names: list[str] = []
    for case in scored:
        for score in case.scores:
            if score.name not in names:
                names.append(score.name)
    metrics: list[MetricSummary] = []
    for name in names:
        found = [s for c in scored if (s := c.score(name)) is not None]
        metrics.append(
            MetricSummary(
                name=name,
                value=round(sum(s.value for s in found) / len(found), 6),
                count=len(found),
                passed=sum(1 for s in found if s.passed),
            )
        )
    if scored:
        passed = sum(1 for c in scored if c.passed)
        metrics.append(MetricSummary("pass_rate", round(passed / len(scored), 6), len(scored), passed))
    return metrics
