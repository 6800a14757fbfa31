"""Publishing eval runs to Langfuse, checked at the wire: the real langfuse SDK against a local fake of
the public API (datasets, dataset items, projects, OTLP traces, scores)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.core.clock import FakeClock
from assistant.core.errors import ConfigurationError, UpstreamError
from assistant.dialogue.pii import PiiRedactor
from assistant.dialogue.safety import InjectionGuard, SafetyRules, SafetyScreen
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from assistant.tracing.langfuse_datasets import LangfuseExperimentSink
from assistant.tracing.langfuse_options import LangfuseOptions
from evals.datasets import Dataset, load_dataset
from evals.plan import build_suite
from evals.publish import experiment_runs, publish_report
from evals.results import RunReport
from evals.runner import EvalRunner
from evals.subjects import Subjects
from tests.fakes.langfuse_api import PROJECT_ID, FakeLangfuseApi

pytestmark = pytest.mark.anyio
SAFETY = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "safety.jsonl"


@pytest.fixture
def api() -> Iterator[FakeLangfuseApi]:
    with FakeLangfuseApi() as fake:
        yield fake


def options(api: FakeLangfuseApi, secret: str = "sk-lf-eval") -> LangfuseOptions:
    return LangfuseOptions(public_key=api.public_key, secret_key=secret, base_url=api.base_url)


async def safety_run() -> tuple[Dataset, RunReport]:
    dataset = load_dataset(SAFETY)
    book = load_safety_rulebook()
    subjects = Subjects(safety=SafetyScreen(SafetyRules(book), InjectionGuard(book)), redactor=PiiRedactor())
    report = await EvalRunner(clock=FakeClock()).run([build_suite(dataset, subjects)], git_commit="abc123")
    return dataset, report


async def publish(
    api: FakeLangfuseApi, dataset: Dataset, report: RunReport, secret: str = "sk-lf-eval"
) -> list:  # type: ignore[type-arg]
    sink = LangfuseExperimentSink(options(api, secret))
    try:
        return await publish_report(sink, report, [dataset])
    finally:
        await sink.aclose()


async def test_a_run_arrives_as_a_dataset_items_run_items_and_scores(api: FakeLangfuseApi) -> None:
    dataset, report = await safety_run()
    [published] = await publish(api, dataset, report)
    cases = len(dataset.cases)
    assert (published.dataset, published.items, published.run_items) == ("dasan/safety", cases, cases)
    assert published.url is not None and PROJECT_ID in published.url
    assert api.unexpected == [] and api.unauthorized == 0

    [posted] = api.dataset_posts
    assert posted["name"] == "dasan/safety" and posted["metadata"]["version"] == dataset.version
    item = api.items["dasan-safety-" + dataset.cases[0].id]
    assert item["input"] == {"utterance": dataset.cases[0].utterance}  # type: ignore[union-attr]
    assert set(item["expectedOutput"]) == {"expected", "pii_kinds"}
    assert item["metadata"]["case_id"] == dataset.cases[0].id and item["metadata"]["kind"] == "safety"

    run_spans = [s for s in api.spans if s.name == "experiment-item-run"]
    assert {s.attributes["langfuse.experiment.item.id"] for s in run_spans} == set(api.items)
    assert {s.attributes["langfuse.experiment.dataset.id"] for s in run_spans} == {"ds-1"}
    experiment = {s.attributes["langfuse.experiment.id"] for s in run_spans}
    assert len(experiment) == 1

    scores = api.wait_for_scores(published.scores)
    per_case = [s for s in scores if "traceId" in s]
    assert len(per_case) == 2 * cases  # routing and pii
    traces = {s.trace_id for s in run_spans}
    assert {s["traceId"] for s in per_case} == traces
    routing = [s for s in per_case if s["name"] == "routing"]
    assert all(s["value"] == 1.0 and s["dataType"] == "NUMERIC" and s["comment"] for s in routing)
    aggregates = {s["name"]: s for s in scores if "datasetRunId" in s}
    assert {s["datasetRunId"] for s in aggregates.values()} == experiment
    assert aggregates["recall_emergency"]["value"] == 1.0
    assert aggregates["pii_leaks"]["comment"] == f"{cases}/{cases} passed"


async def test_publishing_again_updates_the_items_instead_of_adding_new_ones(api: FakeLangfuseApi) -> None:
    dataset, report = await safety_run()
    await publish(api, dataset, report)
    await publish(api, dataset, report)
    assert len(api.item_posts) == 2 * len(dataset.cases) and len(api.items) == len(dataset.cases)
    assert len(api.datasets) == 1


async def test_refusals_become_upstream_errors(api: FakeLangfuseApi) -> None:
    dataset, report = await safety_run()
    with pytest.raises(UpstreamError, match="Langfuse refused dataset 'dasan/safety': HTTP 401"):
        await publish(api, dataset, report, secret="wrong")
    api.fail_datasets = True
    with pytest.raises(UpstreamError, match="HTTP 500"):
        await publish(api, dataset, report)
    assert api.items == {}


async def test_one_client_per_key_while_it_is_open(api: FakeLangfuseApi) -> None:
    first = LangfuseExperimentSink(options(api))
    try:
        with pytest.raises(ConfigurationError, match="already open"):
            LangfuseExperimentSink(options(api))
    finally:
        await first.aclose()
    second = LangfuseExperimentSink(options(api))  # the closed one left the SDK's registry
    await second.aclose()


async def test_only_suites_that_ran_are_published() -> None:
    dataset, report = await safety_run()
    skipped = await EvalRunner(clock=FakeClock()).run([build_suite(dataset, Subjects())])
    assert len(experiment_runs(report, [dataset])) == 1
    assert experiment_runs(skipped, [dataset]) == []  # no safety subject: skipped
    assert experiment_runs(report, []) == []
