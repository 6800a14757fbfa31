"""LangfuseExperimentSink: eval datasets as Langfuse datasets, eval runs as Langfuse experiment runs.

This is the second and last module that imports ``langfuse`` (after ``langfuse_tracer``). It is a
separate adapter because it does a different job with a different lifetime: the tracer streams turn
spans for as long as the service runs, this one publishes a finished eval run once, from the CLI,
and then closes. Nothing else imports it; ``dasan eval run --langfuse`` builds it.

What goes over the wire (langfuse v5, a self-hosted Langfuse):

- ``POST /api/public/v2/datasets``: the dataset (upserted by name);
- ``POST /api/public/dataset-items``: each case, with a stable id (upserted);
- ``GET /api/public/projects``: the project id, from which the SDK derives the run's experiment id;
- ``POST /api/public/otel/v1/traces``: one trace per item (the SDK's ``run_experiment``), whose spans
  carry ``langfuse.experiment.*`` attributes; that is how v5 records dataset run items;
- ``POST /api/public/scores``: each case's scores on its trace, and the run's aggregates on the run.

Decisions:
- The run was already scored by the harness: ``run_experiment``'s task only returns the recorded
  output and its evaluator the recorded scores, so Langfuse shows exactly what the report shows.
- Eval datasets are synthetic and committed to the repository (no citizen's data), so items and
  outputs are sent as they are; the service's own traces stay with ``LangfuseTracer`` and its rules.
- Like the tracer, the client gets its own ``TracerProvider`` (nothing else in the process is traced)
  and refuses to share the SDK's per-key client with an open tracer.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import httpx
from langfuse import Evaluation, Langfuse
from langfuse._client.resource_manager import LangfuseResourceManager
from langfuse.api import DatasetItem
from langfuse.api.core import ApiError
from langfuse.experiment import LocalExperimentItem
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from assistant.core.errors import ConfigurationError, UpstreamError
from assistant.tracing.experiments import ExperimentItem, ExperimentRun, ExperimentScore, PublishedRun
from assistant.tracing.langfuse_options import LangfuseOptions

ITEM_KEY = "dasan_item_id"
"""Item metadata naming the item, so the evaluator can find its recorded scores."""


class LangfuseExperimentSink:
    """``ExperimentSink`` on a self-hosted Langfuse. ``span_exporter`` replaces the OTLP exporter."""

    def __init__(self, options: LangfuseOptions, *, span_exporter: SpanExporter | None = None) -> None:
        if options.public_key in LangfuseResourceManager._instances:
            raise ConfigurationError(
                "a Langfuse client for this LANGFUSE_PUBLIC_KEY is already open in this process; "
                "close it before publishing eval results"
            )
        self._options = options
        self._provider = TracerProvider()
        self._client = Langfuse(
            public_key=options.public_key,
            secret_key=options.secret_key,
            base_url=options.base_url,
            timeout=options.timeout_s,
            environment=options.environment,
            release=options.release,
            tracer_provider=self._provider,
            span_exporter=span_exporter,
            media_upload_thread_count=1,
        )
        self._closed = False

    async def publish(self, run: ExperimentRun) -> PublishedRun:
        return await asyncio.to_thread(self._publish, run)

    async def aclose(self) -> None:
        if self._closed:
            return
        self._closed = True
        await asyncio.to_thread(self._shutdown)

    def _publish(self, run: ExperimentRun) -> PublishedRun:
        client = self._client
        try:
            client.create_dataset(
                name=run.dataset, description=run.dataset_description, metadata=dict(run.dataset_metadata)
            )
            items = [self._upsert(run.dataset, item) for item in run.items]
        except (ApiError, httpx.HTTPError) as exc:
            raise UpstreamError(f"Langfuse refused dataset {run.dataset!r}: {_describe(exc)}") from exc
        recorded = {item.id: item for item in run.items}

        def task(*, item: LocalExperimentItem | DatasetItem, **_: dict[str, Any]) -> object:
            assert isinstance(item, DatasetItem)  # the data below are dataset items
            return recorded[item.id].output

        def scores(*, metadata: Any = None, **_: Any) -> list[Evaluation]:
            item_id = metadata.get(ITEM_KEY) if isinstance(metadata, Mapping) else None
            found = recorded[item_id].scores if item_id in recorded else ()
            return [_evaluation(score) for score in found]

        def aggregates(**_: Any) -> list[Evaluation]:
            return [_evaluation(score) for score in run.run_scores]

        result = client.run_experiment(
            name=run.name,
            run_name=run.run_name,
            description=run.description or None,
            data=items,
            task=task,
            evaluators=[scores],
            run_evaluators=[aggregates],
            max_concurrency=8,
            metadata=dict(run.metadata) or None,
        )
        item_scores = sum(len(r.evaluations) for r in result.item_results)
        return PublishedRun(
            dataset=run.dataset,
            run_name=result.run_name,
            items=len(items),
            run_items=len(result.item_results),
            scores=item_scores + len(result.run_evaluations),
            url=result.experiment_url,
        )

    def _upsert(self, dataset: str, item: ExperimentItem) -> DatasetItem:
        return self._client.create_dataset_item(
            dataset_name=dataset,
            id=item.id,
            input=item.input,
            expected_output=item.expected_output,
            metadata={**item.metadata, ITEM_KEY: item.id},
        )

    def _shutdown(self) -> None:
        self._client.shutdown()
        self._provider.shutdown()
        registry = LangfuseResourceManager._instances
        with LangfuseResourceManager._lock:
            if registry.get(self._options.public_key) is self._client._resources:
                del registry[self._options.public_key]


def _evaluation(score: ExperimentScore) -> Evaluation:
    return Evaluation(name=score.name, value=score.value, comment=score.comment or None, data_type="NUMERIC")


def _describe(exc: Exception) -> str:
    if isinstance(exc, ApiError):
        return f"HTTP {exc.status_code}"
    return type(exc).__name__
