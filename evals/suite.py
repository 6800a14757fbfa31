"""The shape every suite has, and guards that turn a failing evaluator into a failed score."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from evals.datasets import Dataset, EvalCase
from evals.results import CaseResult, MetricSummary, Score

T = TypeVar("T")


class Suite(Protocol):
    """One dataset under one set of options. ``run_case`` never needs to catch: the runner turns an
    exception into a failed case; evaluators inside it go through ``guarded``."""

    @property
    def name(self) -> str: ...

    @property
    def dataset(self) -> Dataset: ...

    @property
    def options(self) -> dict[str, str]: ...

    @property
    def metric_names(self) -> tuple[str, ...]:
        """The per-case scores; a case that fails outright gets each of them as a failed score."""
        ...

    def unavailable(self) -> str | None:
        """Why this suite cannot run in this build (a missing subject), or None."""
        ...

    async def preflight(self) -> None:
        """Raises a ``DasanError`` when the suite cannot run at all (e.g. the collection is not built)."""
        ...

    async def run_case(self, case: EvalCase) -> CaseResult: ...

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]: ...


class SuiteBase:
    """What most suites share: a dataset under a name, no options, and nothing to check up front."""

    def __init__(self, dataset: Dataset, *, name: str) -> None:
        self._dataset = dataset
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    @property
    def dataset(self) -> Dataset:
        return self._dataset

    @property
    def options(self) -> dict[str, str]:
        return {}

    async def preflight(self) -> None:
        return None


def guarded(name: str, evaluate: Callable[[], Score]) -> Score:
    """Runs one evaluator; an exception becomes a failed score that names it."""
    try:
        return evaluate()
    except Exception as exc:  # an evaluator bug must not stop the run
        return Score(name, 0.0, False, f"evaluator failed: {type(exc).__name__}: {exc}")


def failed_scores(names: Sequence[str], reason: str) -> tuple[Score, ...]:
    return tuple(Score(name, 0.0, False, reason) for name in names)


def binary(name: str, ok: bool, reason: str = "") -> Score:
    return Score(name, 1.0 if ok else 0.0, ok, reason)


@dataclass(frozen=True, slots=True)
class Timed(Generic[T]):
    value: T
    ms: float


async def timed(call: Awaitable[T]) -> Timed[T]:
    """Awaits ``call`` and measures it in milliseconds (wall clock, monotonic)."""
    started = time.perf_counter()
    value = await call
    return Timed(value, (time.perf_counter() - started) * 1000)


def count_metric(name: str, cases: Sequence[CaseResult], score: str) -> MetricSummary:
    """How many scored cases failed ``score`` (lower is better)."""
    found = [s for c in cases if c.status != "skipped" and (s := c.score(score)) is not None]
    failed = sum(1 for s in found if not s.passed)
    return MetricSummary(name, float(failed), len(found), len(found) - failed, higher_is_better=False)


def rate_metric(name: str, cases: Sequence[CaseResult], score: str) -> MetricSummary:
    """The share of scored cases that passed ``score``, over those that have it."""
    found = [s for c in cases if c.status != "skipped" and (s := c.score(score)) is not None]
    passed = sum(1 for s in found if s.passed)
    return MetricSummary(name, round(passed / len(found), 6) if found else 0.0, len(found), passed)
