"""Retrieval suite: hit@1, hit@5 and MRR@10 of the production retriever against golden sources.

A case with ``history`` is a turn of a conversation: it goes through the answer pipeline's search step
(the follow-up rewrite, then retrieval), so what is scored is what the pipeline would answer from. Cases
with a ``category`` also get per-category means (``follow_up.hit@1``, …)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from assistant.core.errors import RetrievalError
from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode
from evals.datasets import Dataset, EvalCase, RetrievalCase
from evals.results import CaseResult, MetricSummary, RetrievedItem, Score, mean_metrics
from evals.retrieval_metrics import chunk_matches, first_relevant_rank, hit_at, reciprocal_rank
from evals.subjects import FollowUpSubject, RetrievalSubject
from evals.suite import SuiteBase, binary, guarded, timed

RETRIEVE_K = 10


class RetrievalSuite(SuiteBase):
    """Runs each question through the retriever (``mode`` None = the configured mode); a question with
    history through ``followups``, the answer pipeline's search step, in the same mode."""

    metric_names = ("hit@1", "hit@5", "mrr@10")

    def __init__(
        self,
        dataset: Dataset,
        retriever: RetrievalSubject | None,
        *,
        mode: SearchMode | None,
        name: str,
        followups: FollowUpSubject | None = None,
    ) -> None:
        super().__init__(dataset, name=name)
        self._retriever = retriever
        self._mode: SearchMode | None = mode
        self._followups = followups

    @property
    def options(self) -> dict[str, str]:
        options = {"mode": self._mode or "configured", "k": str(RETRIEVE_K)}
        if self._retriever is not None:
            options["collection"] = self._retriever.collection
        return options

    def unavailable(self) -> str | None:
        if self._retriever is None:
            return "no retriever is configured"
        if self._followups is None and any(
            isinstance(c, RetrievalCase) and c.history for c in self._dataset.cases
        ):
            return "its cases have history, and this build offers no follow-up search (the answer pipeline)"
        return None

    async def preflight(self) -> None:
        first = self._dataset.cases[0] if self._dataset.cases else None
        if self._retriever is None or not isinstance(first, RetrievalCase):
            return
        try:
            await self._retriever.retrieve(first.question, k=1, mode=self._mode)
        except RetrievalError as exc:
            raise RetrievalError(
                f"{exc}. The eval reads the configured collection '{self._retriever.collection}'; for "
                f"{self._dataset.name} build it with `dasan ingest sample` (or pass --collection)"
            ) from exc

    async def run_case(self, case: EvalCase) -> CaseResult:
        assert isinstance(case, RetrievalCase) and self._retriever is not None
        details: dict[str, str] = {}
        if case.history:
            assert self._followups is not None
            turns = tuple((turn.role, turn.text) for turn in case.history)
            search = await timed(self._followups.search(case.question, turns, k=RETRIEVE_K, mode=self._mode))
            hits: Sequence[ScoredChunk] = search.value.hits
            ms = search.ms
            details["history"] = " / ".join(f"{t.role}: {t.text}" for t in case.history)
            details["query"] = search.value.query
            details["query_by"] = search.value.by or "-"
        else:
            call = await timed(self._retriever.retrieve(case.question, k=RETRIEVE_K, mode=self._mode))
            hits, ms = call.value, call.ms
        chunks = [hit.chunk for hit in hits]
        rank = first_relevant_rank(chunks, case.expected)
        where = f"first relevant at rank {rank}" if rank else f"no relevant chunk in the top {RETRIEVE_K}"
        scores = (
            guarded("hit@1", lambda: binary("hit@1", hit_at(rank, 1) == 1.0, where)),
            guarded("hit@5", lambda: binary("hit@5", hit_at(rank, 5) == 1.0, where)),
            guarded("mrr@10", lambda: _mrr(rank, where)),
        )
        retrieved = tuple(
            RetrievedItem(
                rank=position,
                score=round(hit.score, 6),
                source=hit.chunk.source,
                title=hit.chunk.title,
                section=hit.chunk.section,
                document_id=hit.chunk.document_id,
                relevant=any(chunk_matches(e, hit.chunk) for e in case.expected),
            )
            for position, hit in enumerate(hits, start=1)
        )
        expected = "; ".join(f"{e.source} / {e.section}" for e in case.expected)
        return CaseResult(
            case_id=case.id,
            status="scored",
            scores=scores,
            latency_ms=round(ms, 3),
            input=case.question,
            output=retrieved[0].title if retrieved else "(nothing retrieved)",
            retrieved=retrieved,
            details={"expected": expected, "first_relevant_rank": str(rank or "-"), **details},
        )

    def aggregate(self, cases: Sequence[CaseResult]) -> list[MetricSummary]:
        metrics = mean_metrics(cases)
        categories = {c.id: c.category for c in self._dataset.cases if isinstance(c, RetrievalCase)}
        for category in dict.fromkeys(v for v in categories.values() if v):
            group = [r for r in cases if categories.get(r.case_id) == category]
            for metric in mean_metrics(group):
                if metric.name in self.metric_names:
                    metrics.append(replace(metric, name=f"{category}.{metric.name}"))
        return metrics


def _mrr(rank: int | None, reason: str) -> Score:
    value = reciprocal_rank(rank, RETRIEVE_K)
    return Score("mrr@10", value, value > 0, reason)
