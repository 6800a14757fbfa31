"""Runs suites: cases concurrently within a limit, progress as it goes, one failure never stops the run."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Protocol

from assistant.core.clock import Clock
from assistant.core.errors import DasanError
from evals.datasets import EvalCase
from evals.results import (
    CaseResult,
    DatasetInfo,
    MetricSummary,
    RunReport,
    SuiteResult,
    SuiteStatus,
    latency_summary,
)
from evals.suite import Suite, failed_scores

log = logging.getLogger(__name__)


class RunProgress(Protocol):
    def suite_started(self, suite: str, cases: int) -> None: ...

    def case_done(self, suite: str, passed: bool) -> None: ...

    def suite_finished(self, result: SuiteResult) -> None: ...


class SilentRunProgress:
    def suite_started(self, suite: str, cases: int) -> None:
        return None

    def case_done(self, suite: str, passed: bool) -> None:
        return None

    def suite_finished(self, result: SuiteResult) -> None:
        return None


class EvalRunner:
    """Runs suites one after another and the cases of a suite concurrently (at most ``concurrency``)."""

    def __init__(self, *, clock: Clock, concurrency: int = 4, progress: RunProgress | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self._clock = clock
        self._concurrency = concurrency
        self._progress = progress or SilentRunProgress()

    async def run(
        self,
        suites: Sequence[Suite],
        *,
        metadata: Mapping[str, str] | None = None,
        git_commit: str | None = None,
        git_dirty: bool | None = None,
        judge: bool = False,
        extra: Sequence[SuiteResult] = (),
    ) -> RunReport:
        """Every suite's result (plus ``extra``: suites decided before running, e.g. a missing dataset)."""
        started_at = self._clock.now()
        started = time.perf_counter()
        results = [await self.run_suite(suite) for suite in suites]
        return RunReport(
            started_at=started_at.isoformat(),
            seconds=round(time.perf_counter() - started, 3),
            suites=(*results, *extra),
            git_commit=git_commit,
            git_dirty=git_dirty,
            settings=dict(metadata or {}),
            judge=judge,
        )

    async def run_suite(self, suite: Suite) -> SuiteResult:
        dataset = suite.dataset
        info = DatasetInfo(dataset.name, str(dataset.path), dataset.version, len(dataset.cases))
        base = SuiteResult(suite=suite.name, kind=dataset.kind, dataset=info, options=suite.options)
        reason = suite.unavailable()
        if reason is not None:
            result = _replace(base, status="skipped", reason=reason)
            self._progress.suite_finished(result)
            return result
        try:
            await suite.preflight()
        except DasanError as exc:
            result = _replace(base, status="error", reason=str(exc))
            self._progress.suite_finished(result)
            return result
        self._progress.suite_started(suite.name, len(dataset.cases))
        limit = asyncio.Semaphore(self._concurrency)

        async def one(case: EvalCase) -> CaseResult:
            async with limit:
                result = await _run_case(suite, case)
            self._progress.case_done(suite.name, result.passed)
            return result

        cases = tuple(await asyncio.gather(*(one(case) for case in dataset.cases)))
        result = SuiteResult(
            suite=suite.name,
            kind=dataset.kind,
            dataset=info,
            options=suite.options,
            metrics=tuple(_aggregate(suite, cases)),
            latency=latency_summary([c for c in cases if c.status == "scored"]),
            cases=cases,
        )
        self._progress.suite_finished(result)
        return result


async def _run_case(suite: Suite, case: EvalCase) -> CaseResult:
    try:
        return await suite.run_case(case)
    except Exception as exc:  # task boundary: one case failing must not stop the run
        reason = f"{type(exc).__name__}: {exc}"
        log.warning("eval case failed suite=%s case=%s error=%s", suite.name, case.id, type(exc).__name__)
        return CaseResult(
            case_id=case.id,
            status="error",
            scores=failed_scores(suite.metric_names, reason),
            input=_input_of(case),
            reason=reason,
        )


def _aggregate(suite: Suite, cases: Sequence[CaseResult]) -> list[MetricSummary]:
    try:
        return list(suite.aggregate(cases))
    except Exception as exc:  # an aggregation bug leaves the cases in the report
        log.warning("eval aggregation failed suite=%s error=%s", suite.name, type(exc).__name__)
        return []


def _input_of(case: EvalCase) -> str:
    for attribute in ("question", "utterance", "reply_text", "sentence"):
        value = getattr(case, attribute, None)
        if isinstance(value, str):
            return value
    return ""


def _replace(result: SuiteResult, *, status: SuiteStatus, reason: str) -> SuiteResult:
    return replace(result, status=status, reason=reason)
