"""The ``ExperimentSink`` port: eval datasets and a run's per-case scores, published as experiments.

Vendor-neutral (no ``langfuse`` import): the eval harness (``evals.publish``) fills these types from
its reports, and ``langfuse_datasets.LangfuseExperimentSink`` publishes them. Values are JSON-ready.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True, slots=True)
class ExperimentScore:
    """A score of one item, or of the whole run (an aggregate); ``comment`` says why."""

    name: str
    value: float
    comment: str = ""


@dataclass(frozen=True, slots=True)
class ExperimentItem:
    """One dataset item and what the run made of it. ``id`` is stable across runs and unique across
    datasets (publishing again updates the item instead of adding one)."""

    id: str
    input: object
    expected_output: object | None = None
    metadata: Mapping[str, object] = field(default_factory=dict)
    output: object | None = None
    scores: tuple[ExperimentScore, ...] = ()


@dataclass(frozen=True, slots=True)
class ExperimentRun:
    """A dataset (created or updated) and one run over it: ``name`` groups runs of the same kind (a
    suite), ``run_name`` tells this run apart (time and commit)."""

    dataset: str
    name: str
    run_name: str
    items: tuple[ExperimentItem, ...]
    dataset_description: str = ""
    dataset_metadata: Mapping[str, object] = field(default_factory=dict)
    description: str = ""
    metadata: Mapping[str, str] = field(default_factory=dict)
    run_scores: tuple[ExperimentScore, ...] = ()


@dataclass(frozen=True, slots=True)
class PublishedRun:
    """What was sent: items upserted, run items recorded, scores queued; ``url`` of the run when known."""

    dataset: str
    run_name: str
    items: int
    run_items: int
    scores: int
    url: str | None = None


class ExperimentSink(Protocol):
    """Publishes runs. ``publish`` raises ``UpstreamError`` when the service refuses the dataset;
    ``aclose`` flushes what is queued and releases the client (call it once)."""

    async def publish(self, run: ExperimentRun) -> PublishedRun: ...

    async def aclose(self) -> None: ...
