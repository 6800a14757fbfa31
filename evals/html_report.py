"""The self-contained HTML report: summary, gate verdict, per-metric tables, charts, per-case drill-down."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from jinja2 import Environment, StrictUndefined
from markupsafe import Markup

from evals import svg_charts
from evals.gates import GateOutcome
from evals.report_template import CASE_MACRO, CHECK_MACRO, TEMPLATE
from evals.results import CaseResult, MetricSummary, RunReport, SuiteResult, percentile

HEADLINE_CHARS = 70
OPEN_FAILURES = 20
"""At most this many failing cases per suite start expanded."""


@dataclass(frozen=True, slots=True)
class _Metric:
    name: str
    shown: str
    count: int
    passed: int
    higher_is_better: bool


@dataclass(frozen=True, slots=True)
class _Case:
    result: CaseResult
    mark: str
    headline: str
    failed_names: tuple[str, ...]
    open: bool


@dataclass(frozen=True, slots=True)
class _Suite:
    result: SuiteResult
    anchor: str
    status_class: str
    passed: str
    metrics: tuple[_Metric, ...]
    charts: tuple[Markup, ...]
    failing: tuple[_Case, ...]
    passing: tuple[_Case, ...]


def render_html(report: RunReport, *, title: str = "run", gate: GateOutcome | None = None) -> str:
    environment = Environment(
        autoescape=True, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )
    case_block = environment.from_string(CASE_MACRO).module.case_block  # type: ignore[attr-defined]
    check_table = environment.from_string(CHECK_MACRO).module.check_table  # type: ignore[attr-defined]
    template = environment.from_string(TEMPLATE)
    failing = {(c.suite, c.metric) for c in gate.failures} if gate is not None else set()
    suites = [_suite_view(s, failing) for s in report.suites]
    ran = [s for s in report.suites if s.status == "ran"]
    bad_suites = {suite for suite, _ in failing}
    overview = svg_charts.bars(
        [
            (s.suite, m.value, s.suite not in bad_suites)
            for s in ran
            if (m := s.metric("pass_rate")) is not None
        ],
        title="pass rate per suite",
    )
    latencies = [c.latency_ms for s in ran for c in s.cases if c.latency_ms is not None]
    latency_chart = (
        svg_charts.histogram(
            latencies, low=0.0, high=max(latencies), title="latency per case (all suites)", unit=" ms"
        )
        if latencies
        else Markup("")
    )
    return template.render(
        title=title,
        report=report,
        gate=gate,
        gate_passes=[c for c in gate.checks if c.passed] if gate is not None else [],
        suites=suites,
        overview_chart=overview if ran else Markup(""),
        latency_chart=latency_chart,
        latency_rows=_latency_by_kind(ran),
        case_block=case_block,
        check_table=check_table,
    )


def write_html(report: RunReport, path: Path, *, title: str = "run", gate: GateOutcome | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_html(report, title=title, gate=gate), encoding="utf-8")


def _suite_view(result: SuiteResult, gate_failures: set[tuple[str, str]]) -> _Suite:
    cases = [_case_view(c) for c in result.cases]
    failing = [
        _Case(c.result, c.mark, c.headline, c.failed_names, index < OPEN_FAILURES)
        for index, c in enumerate(c for c in cases if not c.result.passed)
    ]
    passed = sum(1 for c in result.cases if c.passed)
    return _Suite(
        result=result,
        anchor="suite-" + re.sub(r"[^a-zA-Z0-9_-]+", "-", result.suite),
        status_class={"ran": "ok", "skipped": "skip", "error": "bad"}[result.status],
        passed=f"{passed}/{len(result.cases)}" if result.cases else "–",
        metrics=tuple(_metric_view(m) for m in result.metrics),
        charts=tuple(_charts(result, gate_failures)),
        failing=tuple(failing),
        passing=tuple(c for c in cases if c.result.passed),
    )


def _metric_view(metric: MetricSummary) -> _Metric:
    shown = str(int(metric.value)) if not metric.higher_is_better else f"{metric.value:.3f}"
    return _Metric(metric.name, shown, metric.count, metric.passed, metric.higher_is_better)


def _case_view(result: CaseResult) -> _Case:
    mark = "✓" if result.passed else ("–" if result.status == "skipped" else "✗")
    text = " ".join(result.input.split())
    headline = text if len(text) <= HEADLINE_CHARS else text[: HEADLINE_CHARS - 1] + "…"
    failed = tuple(s.name for s in result.scores if not s.passed)
    return _Case(result, mark, headline, failed, False)


def _charts(result: SuiteResult, failing: set[tuple[str, str]]) -> list[Markup]:
    """A bar per metric mean (red where the gate failed it), a histogram of each non-binary per-case
    score, and the latency histogram."""
    if result.status != "ran" or not result.cases:
        return []
    charts: list[Markup] = []
    rates = [m for m in result.metrics if m.higher_is_better]
    if rates:
        items = [(m.name, m.value, (result.suite, m.name) not in failing) for m in rates]
        charts.append(svg_charts.bars(items, title="metrics"))
    names: list[str] = []
    for case in result.cases:
        names += [s.name for s in case.scores if s.name not in names]
    for name in names:
        values = [s.value for c in result.cases if (s := c.score(name)) is not None]
        if any(0.0 < v < 1.0 for v in values):
            charts.append(svg_charts.histogram(values, low=0.0, high=1.0, title=f"{name} per case"))
    latencies = [c.latency_ms for c in result.cases if c.latency_ms is not None]
    if latencies:
        charts.append(
            svg_charts.histogram(
                latencies, low=0.0, high=max(latencies), title="latency per case", unit=" ms"
            )
        )
    return charts


@dataclass(frozen=True, slots=True)
class _KindLatency:
    kind: str
    count: int
    p50: float
    p95: float
    max: float


def _latency_by_kind(suites: Sequence[SuiteResult]) -> list[_KindLatency]:
    rows = []
    for kind in dict.fromkeys(s.kind for s in suites if s.kind is not None):
        values = [c.latency_ms for s in suites if s.kind == kind for c in s.cases if c.latency_ms is not None]
        if values:
            rows.append(
                _KindLatency(
                    kind, len(values), percentile(values, 0.5), percentile(values, 0.95), max(values)
                )
            )
    return rows
