"""Retrieval metrics: hit@k, MRR@k, recall@k and nDCG@k over ranked relevance judgements."""

from __future__ import annotations

import math
from collections.abc import Sequence

from assistant.core.knowledge import Chunk
from evals.datasets import ExpectedSource


def chunk_matches(expected: ExpectedSource, chunk: Chunk) -> bool:
    """A chunk answers an expectation when its source (or title) and section (or document id) agree."""
    source_ok = expected.source in (chunk.source, chunk.title)
    document_key = chunk.document_id.rsplit("#", 1)[-1]
    section_ok = expected.section in (chunk.section, document_key, chunk.metadata.get("id"))
    return source_ok and section_ok


def first_relevant_rank(ranked: Sequence[Chunk], expected: Sequence[ExpectedSource]) -> int | None:
    """1-based rank of the first chunk that matches any expectation."""
    for rank, chunk in enumerate(ranked, start=1):
        if any(chunk_matches(e, chunk) for e in expected):
            return rank
    return None


def hit_at(rank: int | None, k: int) -> float:
    return 1.0 if rank is not None and rank <= k else 0.0


def reciprocal_rank(rank: int | None, k: int) -> float:
    return 1.0 / rank if rank is not None and rank <= k else 0.0


def recall_at(ranked_ids: Sequence[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(set(ranked_ids[:k]) & relevant) / len(relevant)


def ndcg_at(ranked_ids: Sequence[str], gains: dict[str, float], k: int) -> float:
    """nDCG@k with graded gains (BEIR style: dedupe ranked ids, log2 discount)."""
    seen: set[str] = set()
    dcg = 0.0
    position = 0
    for doc_id in ranked_ids:
        if doc_id in seen:
            continue
        seen.add(doc_id)
        position += 1
        if position > k:
            break
        dcg += gains.get(doc_id, 0.0) / math.log2(position + 1)
    ideal = sorted(gains.values(), reverse=True)[:k]
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0
