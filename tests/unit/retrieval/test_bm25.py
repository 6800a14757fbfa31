"""BM25 weighting: the document and query halves whose dot product with IDF is the BM25 score."""

from __future__ import annotations

import math

import pytest

from assistant.retrieval.bm25 import document_length, document_vector, mean_document_length, query_vector


def test_document_vector_on_a_hand_example() -> None:
    # length 3, avg 2: norm = 1.2 * (1 - 0.75 + 0.75 * 3 / 2) = 1.65
    vector = document_vector({7: 2, 3: 1}, avg_len=2.0)

    assert vector.indices == (3, 7)
    assert vector.values == pytest.approx((2.2 / 2.65, 4.4 / 3.65))


def test_length_normalisation_and_parameters() -> None:
    short = document_vector({1: 1}, avg_len=10.0)
    long = document_vector({1: 1, 2: 19}, avg_len=10.0)
    assert short.values[0] > long.values[0]

    # b = 0 ignores length; k1 = 0 makes every present term weigh 1.
    assert (
        document_vector({1: 1}, 10.0, b=0.0).values == document_vector({1: 1, 2: 19}, 10.0, b=0.0).values[:1]
    )
    assert document_vector({1: 5, 2: 1}, 3.0, k1=0.0).values == (1.0, 1.0)
    with pytest.raises(ValueError):
        document_vector({1: 1}, 1.0, b=1.5)


def test_dot_product_with_idf_is_classic_bm25() -> None:
    corpus = [{1: 3, 2: 1}, {2: 2}, {3: 1, 1: 1, 4: 4}]
    avg = mean_document_length(corpus)
    n = len(corpus)
    query = {1: 1, 2: 1}

    def idf(term: int) -> float:  # Qdrant's IDF modifier
        df = sum(1 for doc in corpus if term in doc)
        return math.log(1 + (n - df + 0.5) / (df + 0.5))

    q = query_vector(query)
    for doc in corpus:
        d = document_vector(doc, avg)
        weights = dict(zip(d.indices, d.values, strict=True))
        engine = sum(idf(t) * qv * weights.get(t, 0.0) for t, qv in zip(q.indices, q.values, strict=True))
        length = document_length(doc)
        classic = sum(
            idf(t) * doc[t] * 2.2 / (doc[t] + 1.2 * (0.25 + 0.75 * length / avg)) for t in query if t in doc
        )
        assert engine == pytest.approx(classic)


def test_query_vector_is_one_per_distinct_term_sorted() -> None:
    vector = query_vector({42: 3, 7: 1, 19: 2})

    assert vector.indices == (7, 19, 42)
    assert vector.values == (1.0, 1.0, 1.0)


def test_zero_counts_empty_input_and_empty_corpus() -> None:
    assert document_vector({5: 0, 2: 1}, 4.0).indices == (2,)
    empty = document_vector({}, 0.0)
    assert empty.indices == () and empty.values == ()
    assert query_vector({}).indices == ()
    assert mean_document_length([]) == 0.0
    assert document_vector({1: 1}, 0.0).values == document_vector({1: 1}, 1.0).values
