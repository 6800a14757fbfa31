"""Publishing a run: each dataset as a set of experiment items, each suite as one run over them, with
every case's scores and the suite's aggregates (``ExperimentSink``; Langfuse via ``dasan eval run
--langfuse``).

A case becomes an item ``{input, expected_output, metadata}``: the fields it is scored against are its
expected output, the rest its input. Item ids are ``dasan-<dataset>-<case id>``, so publishing the
same dataset again updates its items. Datasets are named ``dasan/<dataset>``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from assistant.tracing.experiments import (
    ExperimentItem,
    ExperimentRun,
    ExperimentScore,
    ExperimentSink,
    PublishedRun,
)
from evals.datasets import Dataset, EvalCase
from evals.results import CaseResult, RunReport, SuiteResult

DATASET_PREFIX = "dasan/"
EXPECTED_FIELDS = frozenset(
    {"expected", "key_facts", "forbidden", "should_abstain", "expected_sources", "supported", "pii_kinds"}
)
"""Case fields that say what the answer must be (the item's expected output)."""
NOTE_FIELDS = frozenset({"note", "origin", "category", "variant"})
"""Case fields that describe the case (the item's metadata, with ``case_id``)."""


def experiment_runs(report: RunReport, datasets: Sequence[Dataset]) -> list[ExperimentRun]:
    """One run per suite that ran (suites that were skipped or broke have nothing to publish)."""
    by_path = {str(d.path): d for d in datasets}
    runs: list[ExperimentRun] = []
    for suite in report.suites:
        dataset = by_path.get(suite.dataset.path)
        if suite.status == "ran" and dataset is not None:
            runs.append(experiment_run(report, suite, dataset))
    return runs


def experiment_run(report: RunReport, suite: SuiteResult, dataset: Dataset) -> ExperimentRun:
    results = {case.case_id: case for case in suite.cases}
    commit = (report.git_commit or "no-commit")[:10] + ("+dirty" if report.git_dirty else "")
    return ExperimentRun(
        dataset=DATASET_PREFIX + dataset.name,
        dataset_description=f"dasan eval dataset {dataset.path} ({dataset.kind})",
        dataset_metadata={"kind": dataset.kind, "version": dataset.version, "path": str(dataset.path)},
        name=suite.suite,
        run_name=f"{suite.suite} {report.started_at[:19]} {commit}",
        description=", ".join(f"{k}={v}" for k, v in sorted(suite.options.items())),
        metadata={
            **{key: value for key, value in report.settings.items()},
            "dataset_version": dataset.version,
            "git_commit": report.git_commit or "-",
        },
        items=tuple(_item(dataset, case, results.get(case.id)) for case in dataset.cases),
        run_scores=tuple(
            ExperimentScore(m.name, m.value, f"{m.passed}/{m.count} passed") for m in suite.metrics
        ),
    )


async def publish_report(
    sink: ExperimentSink, report: RunReport, datasets: Sequence[Dataset]
) -> list[PublishedRun]:
    """Publishes every run; the first refusal stops (raises), what was sent before it stays."""
    return [await sink.publish(run) for run in experiment_runs(report, datasets)]


def _item(dataset: Dataset, case: EvalCase, result: CaseResult | None) -> ExperimentItem:
    fields = case.model_dump(mode="json")
    expected = {k: v for k, v in fields.items() if k in EXPECTED_FIELDS}
    notes: Mapping[str, object] = {
        k: v for k, v in fields.items() if k in NOTE_FIELDS and v not in ("", None)
    }
    output: object | None = None
    scores: tuple[ExperimentScore, ...] = ()
    if result is not None:
        output = result.output if result.status == "scored" else f"{result.status}: {result.reason}"
        scores = tuple(ExperimentScore(s.name, s.value, s.reason) for s in result.scores)
    return ExperimentItem(
        id=f"dasan-{dataset.name}-{case.id}",
        input={k: v for k, v in fields.items() if k != "id" and k not in EXPECTED_FIELDS | NOTE_FIELDS},
        expected_output=expected or None,
        metadata={**notes, "case_id": case.id, "kind": dataset.kind, "dataset_version": dataset.version},
        output=output,
        scores=scores,
    )
