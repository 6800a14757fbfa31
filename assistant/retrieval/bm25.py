"""BM25 weighting of term counts into sparse vectors; Qdrant's IDF modifier supplies the IDF half."""

from __future__ import annotations

from collections.abc import Iterable

from assistant.core.knowledge import SparseVector
from assistant.retrieval.ports import TermCounts

DEFAULT_K1 = 1.2
DEFAULT_B = 0.75


def document_length(counts: TermCounts) -> int:
    """A document's length for BM25: its number of terms, repeats included."""
    return sum(counts.values())


def mean_document_length(all_counts: Iterable[TermCounts]) -> float:
    """The average length over a corpus (0.0 for an empty one)."""
    total = 0
    n = 0
    for counts in all_counts:
        total += document_length(counts)
        n += 1
    return total / n if n else 0.0


def document_vector(
    counts: TermCounts, avg_len: float, k1: float = DEFAULT_K1, b: float = DEFAULT_B
) -> SparseVector:
    """BM25's term-frequency part per term: ``tf·(k1+1) / (tf + k1·(1 − b + b·len/avg_len))``.

    Multiplied at query time by Qdrant's IDF (``Modifier.IDF``) and the query's 1.0 per term, the
    dot product is the classic BM25 score. A non-positive ``avg_len`` (empty corpus) counts as 1.
    """
    if k1 < 0 or not 0.0 <= b <= 1.0:
        raise ValueError("BM25 needs k1 >= 0 and 0 <= b <= 1")
    length = document_length(counts)
    norm = k1 * (1.0 - b + b * length / (avg_len if avg_len > 0 else 1.0))
    items = sorted((term, tf) for term, tf in counts.items() if tf > 0)
    return SparseVector(
        indices=tuple(term for term, _ in items),
        values=tuple(tf * (k1 + 1.0) / (tf + norm) for _, tf in items),
    )


def query_vector(counts: TermCounts) -> SparseVector:
    """Each distinct query term once, weight 1.0: repeats in a question should not count twice."""
    indices = tuple(sorted(term for term, tf in counts.items() if tf > 0))
    return SparseVector(indices=indices, values=(1.0,) * len(indices))
