"""Terminal output of the eval commands: progress on stderr, summary, gate and comparison tables."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from evals.compare import Comparison
from evals.gates import GateOutcome
from evals.results import RunReport, SuiteResult

MAX_LISTED = 30


class RichRunProgress:
    """One progress bar per suite, on the given (stderr) console."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            console=console,
        )
        self._tasks: dict[str, TaskID] = {}
        self._failed: dict[str, int] = {}

    def __enter__(self) -> RichRunProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.stop()

    def suite_started(self, suite: str, cases: int) -> None:
        self._failed[suite] = 0
        self._tasks[suite] = self._progress.add_task(suite, total=cases, failed=0)

    def case_done(self, suite: str, passed: bool) -> None:
        if not passed:
            self._failed[suite] += 1
        self._progress.update(self._tasks[suite], advance=1, failed=self._failed[suite])

    def suite_finished(self, result: SuiteResult) -> None:
        if result.status != "ran":
            style = "yellow" if result.status == "skipped" else "red"
            self._console.print(
                f"[{style}]{result.status}[/{style}] {result.suite}: {result.reason}", highlight=False
            )


def print_summary(console: Console, report: RunReport) -> None:
    table = Table(title="eval results", show_header=True)
    for column in ("suite", "status", "cases", "passed", "metrics", "p50 ms", "p95 ms"):
        table.add_column(column, overflow="fold")
    for suite in report.suites:
        passed = sum(1 for c in suite.cases if c.passed)
        metrics = "  ".join(
            f"{m.name}={m.value:.3f}" if m.higher_is_better else f"{m.name}={int(m.value)}"
            for m in suite.metrics
        )
        table.add_row(
            suite.suite,
            suite.status if suite.status == "ran" else f"{suite.status}: {suite.reason}",
            str(len(suite.cases)),
            str(passed) if suite.cases else "-",
            metrics or "-",
            f"{suite.latency.p50_ms:.1f}" if suite.latency else "-",
            f"{suite.latency.p95_ms:.1f}" if suite.latency else "-",
        )
    console.print(table)


def print_gate(console: Console, outcome: GateOutcome) -> None:
    failures = outcome.failures
    if not failures:
        console.print(f"[green]gate passed[/green]: all {len(outcome.checks)} checks hold")
        return
    table = Table(title=f"gate FAILED: {len(failures)} of {len(outcome.checks)} checks", show_header=True)
    for column in ("suite", "metric", "check", "expected", "actual", "note"):
        table.add_column(column, overflow="fold")
    for check in failures:
        table.add_row(check.suite, check.metric, check.kind, check.expected, check.actual, check.note)
    console.print(table)
    if outcome.comparison is not None:
        print_flips(console, outcome.comparison)


def print_comparison(console: Console, comparison: Comparison) -> None:
    table = Table(title="metric changes", show_header=True)
    for column in ("suite", "metric", "before", "after", "delta", "tolerance", "verdict"):
        table.add_column(column)
    for delta in comparison.metrics:
        verdict = "REGRESSED" if delta.regressed else ("improved" if delta.improved else "")
        table.add_row(
            delta.suite,
            delta.metric,
            _num(delta.before),
            _num(delta.after),
            _num(delta.delta),
            _num(delta.tolerance),
            verdict,
        )
    console.print(table)
    for suite, before, after in comparison.dataset_changes:
        console.print(f"[yellow]dataset changed[/yellow] {suite}: {before} → {after}", highlight=False)
    print_flips(console, comparison)


def print_flips(console: Console, comparison: Comparison) -> None:
    newly = comparison.newly_failing
    if newly:
        console.print(f"[red]{len(newly)} case(s) went from pass to fail:[/red]")
        for flip in newly[:MAX_LISTED]:
            console.print(f"  {flip.suite} {flip.case_id}: {flip.reason}", highlight=False, markup=False)
        if len(newly) > MAX_LISTED:
            console.print(f"  … and {len(newly) - MAX_LISTED} more (see the JSON)")
    fixed = [f for f in comparison.flips if f.direction == "fail→pass"]
    if fixed:
        console.print(f"[green]{len(fixed)} case(s) went from fail to pass[/green]")


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    return str(int(value)) if float(value).is_integer() else f"{value:.3f}"
