"""Comparing two reports: metric deltas per suite, and the cases that flipped or got worse."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Literal

from evals.results import RunReport, SuiteResult

Tolerance = Callable[[str, str], float]
"""(suite, metric) → the change allowed before a drop counts as a regression."""

FlipDirection = Literal["pass→fail", "fail→pass"]


@dataclass(frozen=True, slots=True)
class MetricDelta:
    suite: str
    metric: str
    before: float | None
    after: float | None
    tolerance: float
    higher_is_better: bool = True

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return round(self.after - self.before, 6)

    @property
    def regressed(self) -> bool:
        """Worse by more than the tolerance, or gone from the newer report."""
        if self.before is None:
            return False
        if self.after is None:
            return True
        worse = self.before - self.after if self.higher_is_better else self.after - self.before
        return worse > self.tolerance + 1e-9

    @property
    def improved(self) -> bool:
        delta = self.delta
        if delta is None:
            return False
        return delta > 1e-9 if self.higher_is_better else delta < -1e-9


@dataclass(frozen=True, slots=True)
class CaseFlip:
    suite: str
    case_id: str
    direction: FlipDirection
    reason: str


@dataclass(frozen=True, slots=True)
class CaseChange:
    """One per-case score that got worse (without necessarily flipping the case)."""

    suite: str
    case_id: str
    metric: str
    before: float
    after: float


@dataclass(frozen=True, slots=True)
class Comparison:
    metrics: tuple[MetricDelta, ...]
    flips: tuple[CaseFlip, ...]
    changes: tuple[CaseChange, ...]
    dataset_changes: tuple[tuple[str, str, str], ...]
    """(suite, version before, version after) where the dataset file changed."""

    @property
    def regressions(self) -> tuple[MetricDelta, ...]:
        return tuple(m for m in self.metrics if m.regressed)

    @property
    def newly_failing(self) -> tuple[CaseFlip, ...]:
        return tuple(f for f in self.flips if f.direction == "pass→fail")


def no_tolerance(suite: str, metric: str) -> float:
    return 0.0


def compare_reports(before: RunReport, after: RunReport, tolerance: Tolerance = no_tolerance) -> Comparison:
    """Suites are matched by name, metrics by name, cases by id."""
    metrics: list[MetricDelta] = []
    flips: list[CaseFlip] = []
    changes: list[CaseChange] = []
    dataset_changes: list[tuple[str, str, str]] = []
    names = [s.suite for s in before.suites] + [
        s.suite for s in after.suites if before.suite(s.suite) is None
    ]
    for name in names:
        old, new = before.suite(name), after.suite(name)
        metrics += _metric_deltas(name, old, new, tolerance)
        if old is None or new is None:
            continue
        if old.dataset.version != new.dataset.version:
            dataset_changes.append((name, old.dataset.version, new.dataset.version))
        flips_, changes_ = _case_changes(old, new)
        flips += flips_
        changes += changes_
    return Comparison(tuple(metrics), tuple(flips), tuple(changes), tuple(dataset_changes))


def _metric_deltas(
    name: str, old: SuiteResult | None, new: SuiteResult | None, tolerance: Tolerance
) -> list[MetricDelta]:
    old_metrics = {m.name: m for m in old.metrics} if old is not None else {}
    new_metrics = {m.name: m for m in new.metrics} if new is not None else {}
    deltas = []
    for metric in [*old_metrics, *(m for m in new_metrics if m not in old_metrics)]:
        a, b = old_metrics.get(metric), new_metrics.get(metric)
        reference = a if a is not None else b
        higher = reference.higher_is_better if reference is not None else True
        deltas.append(
            MetricDelta(
                suite=name,
                metric=metric,
                before=a.value if a is not None else None,
                after=b.value if b is not None else None,
                tolerance=tolerance(name, metric),
                higher_is_better=higher,
            )
        )
    return deltas


def _case_changes(old: SuiteResult, new: SuiteResult) -> tuple[list[CaseFlip], list[CaseChange]]:
    before = {c.case_id: c for c in old.cases}
    flips: list[CaseFlip] = []
    changes: list[CaseChange] = []
    for case in new.cases:
        previous = before.get(case.case_id)
        if previous is None or case.status == "skipped" or previous.status == "skipped":
            continue
        if previous.passed and not case.passed:
            reason = case.reason or "; ".join(f"{s.name}: {s.reason}" for s in case.scores if not s.passed)
            flips.append(CaseFlip(new.suite, case.case_id, "pass→fail", reason))
        elif case.passed and not previous.passed:
            flips.append(CaseFlip(new.suite, case.case_id, "fail→pass", ""))
        for score in case.scores:
            earlier = previous.score(score.name)
            if earlier is not None and score.value < earlier.value - 1e-9:
                changes.append(CaseChange(new.suite, case.case_id, score.name, earlier.value, score.value))
    return flips, changes


def comparison_dict(comparison: Comparison) -> dict[str, object]:
    """The comparison as JSON-ready data; each metric carries its delta and verdict."""
    return {
        "regressions": len(comparison.regressions),
        "newly_failing": len(comparison.newly_failing),
        "metrics": [
            {**asdict(m), "delta": m.delta, "regressed": m.regressed, "improved": m.improved}
            for m in comparison.metrics
        ],
        "flips": [asdict(f) for f in comparison.flips],
        "changes": [asdict(c) for c in comparison.changes],
        "dataset_changes": [
            {"suite": suite, "before": before, "after": after}
            for suite, before, after in comparison.dataset_changes
        ],
    }
