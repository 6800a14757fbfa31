"""Reports: the JSON round trip, the self-contained HTML page, comparisons and the gate verdict."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistant.core.errors import ConfigurationError, SourceError
from evals.compare import compare_reports, comparison_dict
from evals.gates import evaluate_gate, load_gate_config
from evals.html_report import render_html
from evals.report_json import read_report_json, slim_for_baseline, write_report_json
from evals.results import (
    CaseResult,
    DatasetInfo,
    LatencySummary,
    MetricSummary,
    RetrievedItem,
    RunReport,
    Score,
    SuiteResult,
    mean_metrics,
    percentile,
    unrun_suite,
)

REPO = Path(__file__).resolve().parents[3]


def case(
    case_id: str, *scores: Score, latency: float = 12.5, text: str = "장롱 버리려면 얼마예요?"
) -> CaseResult:
    return CaseResult(
        case_id=case_id,
        status="scored",
        scores=scores,
        latency_ms=latency,
        input=text,
        output="대형폐기물 수수료는 구마다 달라요 [1].",
        retrieved=(RetrievedItem(1, 0.9, "sample", "대형폐기물 수수료", "", "sample#faq-bulky", True),),
        details={"expected": "sample / faq-bulky"},
    )


def hit(value: float) -> Score:
    return Score("hit@5", value, value == 1.0, "first relevant at rank 1" if value else "missed")


def suite(name: str, cases: tuple[CaseResult, ...], *, version: str = "abc123def456") -> SuiteResult:
    return SuiteResult(
        suite=name,
        kind="retrieval",
        dataset=DatasetInfo("retrieval_sample", "evals/datasets/retrieval_sample.jsonl", version, len(cases)),
        metrics=tuple(mean_metrics(cases)),
        latency=LatencySummary(len(cases), 12.5, 12.5, 12.5),
        cases=cases,
    )


def report(*suites: SuiteResult) -> RunReport:
    return RunReport(started_at="2026-11-25T01:00:00+00:00", seconds=3.2, suites=suites, git_commit="f00d")


def test_the_json_report_round_trips(tmp_path: Path) -> None:
    original = report(suite("retrieval_sample", (case("s1", hit(1.0)), case("s2", hit(0.0)))))
    path = tmp_path / "out" / "run.json"
    write_report_json(original, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith('{\n "format": "dasan-eval-report/1"')
    assert "장롱" in text  # Korean is written as is, not \\u-escaped
    assert read_report_json(path) == original


def test_a_baseline_keeps_scores_and_drops_outputs() -> None:
    full = report(suite("retrieval_sample", (case("s1", hit(1.0)),)))
    slim = slim_for_baseline(full)
    [kept] = slim.suites[0].cases
    assert kept.scores == full.suites[0].cases[0].scores and kept.input == full.suites[0].cases[0].input
    assert (kept.output, kept.retrieved, kept.latency_ms) == ("", (), None)
    assert slim.suites[0].metrics == full.suites[0].metrics
    assert not compare_reports(slim, full).regressions and not compare_reports(slim, full).flips


def test_reading_something_else_fails_clearly(tmp_path: Path) -> None:
    (tmp_path / "x.json").write_text('{"hello": 1}', encoding="utf-8")
    with pytest.raises(SourceError, match="not a dasan-eval-report/1 report"):
        read_report_json(tmp_path / "x.json")
    (tmp_path / "y.json").write_text("{", encoding="utf-8")
    with pytest.raises(SourceError, match="not JSON"):
        read_report_json(tmp_path / "y.json")


def test_the_html_report_is_self_contained_with_tables_charts_and_drill_down() -> None:
    hostile = case("s3", hit(0.0), text="<script>alert(1)</script> 소파")
    run = report(
        suite("retrieval_sample", (case("s1", hit(1.0)), hostile)),
        unrun_suite(
            "dialogue_flows", "evals/datasets/dialogue_flows.jsonl", "dialogue", "skipped", "no flows"
        ),
    )
    html = render_html(run, title="run")
    assert '<meta charset="utf-8">' in html and '<html lang="ko">' in html
    assert "<svg" in html and "</svg>" in html
    assert html.count("<details") >= 3  # settings, the failing case, the passing cases
    assert "<table>" in html and "hit@5" in html and "장롱 버리려면 얼마예요?" in html
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "skipped: no flows" in html
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)  # no external assets


def test_mean_metrics_and_percentiles() -> None:
    metrics = {m.name: m for m in mean_metrics([case("a", hit(1.0)), case("b", hit(0.0))])}
    assert metrics["hit@5"] == MetricSummary("hit@5", 0.5, 2, 1)
    assert metrics["pass_rate"].value == 0.5
    assert percentile([5.0, 1.0, 3.0, 2.0, 4.0], 0.5) == 3.0
    assert percentile([1.0, 2.0, 3.0, 4.0, 100.0], 0.95) == 100.0
    assert percentile([], 0.5) == 0.0


def test_compare_finds_flips_changes_and_regressions_beyond_tolerance() -> None:
    before = report(
        suite("retrieval_sample", (case("s1", hit(1.0)), case("s2", hit(0.0)), case("s3", hit(1.0))))
    )
    after = report(
        suite(
            "retrieval_sample",
            (case("s1", hit(0.0)), case("s2", hit(1.0)), case("s3", hit(0.0))),
            version="fedcba987654",
        )
    )
    loose = compare_reports(before, after, lambda suite, metric: 0.5)
    assert not loose.regressions
    strict = compare_reports(before, after)
    regressed = {(m.suite, m.metric) for m in strict.regressions}
    assert ("retrieval_sample", "hit@5") in regressed
    assert [(f.case_id, f.direction) for f in strict.flips] == [
        ("s1", "pass→fail"),
        ("s2", "fail→pass"),
        ("s3", "pass→fail"),
    ]
    assert strict.newly_failing[0].reason == "hit@5: missed"
    assert [(c.case_id, c.before, c.after) for c in strict.changes] == [("s1", 1.0, 0.0), ("s3", 1.0, 0.0)]
    assert strict.dataset_changes == (("retrieval_sample", "abc123def456", "fedcba987654"),)
    data = comparison_dict(strict)
    assert data["newly_failing"] == 2 and data["regressions"] == len(strict.regressions)


def test_lower_is_better_counts_regress_when_they_rise() -> None:
    def with_leaks(leaks: float) -> RunReport:
        leak = MetricSummary("pii_leaks", leaks, 10, 10 - int(leaks), higher_is_better=False)
        return report(SuiteResult("safety", "safety", DatasetInfo("safety", "s", "v", 10), metrics=(leak,)))

    assert compare_reports(with_leaks(0), with_leaks(1)).regressions
    assert not compare_reports(with_leaks(1), with_leaks(0)).regressions


GATES = """
version: 1
baseline: baselines/gate.json
tolerance: 0.0
suites:
  - name: retrieval_sample
    dataset: datasets/retrieval_sample.jsonl
    tolerance: 0.34
    thresholds:
      hit@5: {min: 0.5}
  - name: dialogue_flows
    dataset: datasets/dialogue_flows.jsonl
    required: false
"""


def gates(tmp_path: Path, text: str = GATES) -> Path:
    path = tmp_path / "gates.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_the_gate_checks_thresholds_required_suites_and_the_baseline(tmp_path: Path) -> None:
    config = load_gate_config(gates(tmp_path))
    assert config.baseline_path == tmp_path / "baselines" / "gate.json"
    assert config.tolerance_for("retrieval_sample", "hit@5") == 0.34
    good = suite("retrieval_sample", (case("s1", hit(1.0)), case("s2", hit(1.0)), case("s3", hit(0.0))))
    skipped = unrun_suite("dialogue_flows", "d.jsonl", "dialogue", "skipped", "no flows here")
    assert evaluate_gate(config, report(good, skipped), report(good, skipped)).passed

    worse = suite("retrieval_sample", (case("s1", hit(1.0)), case("s2", hit(0.0)), case("s3", hit(0.0))))
    outcome = evaluate_gate(config, report(worse, skipped), report(good, skipped))
    # 0.667 → 0.333 stays within the baseline tolerance (0.34) but breaks the 0.5 threshold
    assert [(c.metric, c.kind, c.expected, c.actual) for c in outcome.failures] == [
        ("hit@5", "threshold", "≥ 0.500", "0.333")
    ]


def test_a_failing_threshold_a_regression_and_a_missing_suite_fail_the_gate(tmp_path: Path) -> None:
    config = load_gate_config(gates(tmp_path))
    good = suite("retrieval_sample", (case("s1", hit(1.0)), case("s2", hit(1.0)), case("s3", hit(1.0))))
    bad = suite("retrieval_sample", (case("s1", hit(0.0)), case("s2", hit(0.0)), case("s3", hit(1.0))))
    outcome = evaluate_gate(config, report(bad), report(good))
    kinds = {(c.metric, c.kind) for c in outcome.failures}
    assert ("hit@5", "threshold") in kinds and ("hit@5", "baseline") in kinds
    assert outcome.comparison is not None and len(outcome.comparison.newly_failing) == 2

    broken = unrun_suite("retrieval_sample", "r.jsonl", "retrieval", "error", "collection 'dasan' is missing")
    failed = evaluate_gate(config, report(broken), None, baseline_required=False)
    assert [(c.suite, c.kind, c.actual, c.note) for c in failed.failures] == [
        ("retrieval_sample", "suite", "error", "collection 'dasan' is missing")
    ]
    no_baseline = evaluate_gate(config, report(good), None)
    assert [c.actual for c in no_baseline.failures] == ["missing"]


def test_bad_gate_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="suite names must be unique"):
        load_gate_config(gates(tmp_path, GATES + "  - name: retrieval_sample\n    dataset: x.jsonl\n"))
    with pytest.raises(ConfigurationError, match="thresholds"):
        load_gate_config(gates(tmp_path, GATES.replace("{min: 0.5}", "{}")))


def test_the_committed_gates_file_names_existing_datasets_and_its_baseline() -> None:
    config = load_gate_config(REPO / "evals" / "gates.yaml")
    for entry in config.suites:
        assert config.dataset_path(entry).exists() or not entry.required, entry.name
    baseline = read_report_json(config.baseline_path)
    assert {s.suite for s in baseline.suites} >= {s.name for s in config.suites if s.required}
