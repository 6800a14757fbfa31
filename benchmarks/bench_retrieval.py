"""Retrieval benchmark: quality (hit@1/5, MRR@10; recall@5, nDCG@10), ingest speed, search latency, RSS.

Usage::

    .venv/bin/python benchmarks/bench_retrieval.py [--skip-full] [--skip-beir] [--distractors N]

It builds its own collections under ``data/bench`` (or ``$DASAN_BENCH_DIR``) through the same services the
CLI uses, so re-runs reuse embeddings and are fast. Prints Markdown tables and writes
``benchmarks/results/retrieval.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import resource
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from assistant.ingest.progress import SilentProgress
from assistant.retrieval.ports import SearchMode
from assistant.retrieval.retriever import HybridRetriever
from connectors.folder import FolderConnector
from evals.datasets import RetrievalCase, load_retrieval_cases
from evals.retrieval_metrics import first_relevant_rank, hit_at, ndcg_at, recall_at, reciprocal_rank

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
EASYLAW = SHARED / "data" / "easylaw"
GOLDEN = ROOT / "evals" / "datasets" / "retrieval_easylaw.jsonl"
SAMPLE_GOLDEN = ROOT / "evals" / "datasets" / "retrieval_sample.jsonl"
SEED = 20261125


@dataclass
class Quality:
    name: str
    hit1: float
    hit5: float
    mrr10: float
    p50_ms: float
    p95_ms: float


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def settings_for(data_dir: Path, **retrieval: Any) -> Settings:
    return Settings(data_dir=data_dir, retrieval=retrieval or {})  # type: ignore[arg-type]


async def evaluate(
    name: str, retriever: HybridRetriever, cases: Sequence[RetrievalCase], mode: SearchMode
) -> Quality:
    hits1, hits5, rrs, latencies = [], [], [], []
    for case in cases:
        started = time.perf_counter()
        found = await retriever.retrieve(case.question, k=10, mode=mode)
        latencies.append((time.perf_counter() - started) * 1000)
        rank = first_relevant_rank([hit.chunk for hit in found], case.expected)
        hits1.append(hit_at(rank, 1))
        hits5.append(hit_at(rank, 5))
        rrs.append(reciprocal_rank(rank, 10))
    return Quality(
        name,
        statistics.mean(hits1),
        statistics.mean(hits5),
        statistics.mean(rrs),
        pct(latencies, 0.5),
        pct(latencies, 0.95),
    )


async def ingest(
    services: Services, path: Path, collection: str, *, dense: bool, source: str
) -> dict[str, float]:
    pipeline = services.ingest_pipeline(collection, dense=dense)
    connector = FolderConnector(path, source=source)
    report = await pipeline.run([connector], SilentProgress())
    return {
        "documents": report.documents,
        "chunks_new": report.chunks,
        "points": report.points,
        "failed": report.failed,
        "seconds": round(report.seconds, 1),
    }


def write_subset(cases: Sequence[RetrievalCase], folder: Path, siblings: int, distractors: int) -> int:
    """Write a dense-benchmark subset of easylaw as CSV files named like the original guides.

    It holds every golden target section; ``siblings`` other sections of each target's guide (hard
    negatives: same guide, same vocabulary); and ``distractors`` sections drawn from all other guides.
    Draws use a fixed seed, so the subset is the same on every run. Returns the number of sections.
    """
    rng = random.Random(SEED)
    targets: dict[str, set[str]] = {}
    for case in cases:
        for expected in case.expected:
            targets.setdefault(expected.source, set()).add(expected.section)
    chosen: dict[str, list[tuple[str, str]]] = {}
    pool: list[tuple[str, str, str]] = []
    for path in sorted(EASYLAW.glob("*.csv")):
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = [(row["cate2"], row["paragraph"]) for row in csv.DictReader(handle)]
        wanted = targets.get(path.stem, set())
        if wanted:
            keep = [row for row in rows if row[0] in wanted]
            others = [row for row in rows if row[0] not in wanted]
            keep += rng.sample(others, min(siblings, len(others)))
            chosen[path.stem] = keep
        else:
            pool.extend((path.stem, heading, text) for heading, text in rows)
    for stem, heading, text in rng.sample(pool, min(distractors, len(pool))):
        chosen.setdefault(stem, []).append((heading, text))
    for stem, rows in chosen.items():
        with (folder / f"{stem}.csv").open("w", encoding="utf-8", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["cate2", "paragraph"])
            writer.writerows(rows)
    return sum(len(rows) for rows in chosen.values())


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


FUSIONS: list[tuple[str, dict[str, Any]]] = [
    ("dbsf prefetch 20 (default)", {"fusion": "dbsf", "prefetch_limit": 20}),
    ("dbsf prefetch 50", {"fusion": "dbsf", "prefetch_limit": 50}),
    ("rrf k=1 w=2:1", {"fusion": "rrf", "rrf_k": 1, "dense_weight": 2.0, "sparse_weight": 1.0}),
    ("rrf k=60", {"fusion": "rrf", "rrf_k": 60}),
    ("rrf k=2", {"fusion": "rrf", "rrf_k": 2}),
    ("rrf k=60 w=2:1", {"fusion": "rrf", "rrf_k": 60, "dense_weight": 2.0, "sparse_weight": 1.0}),
    ("rrf k=60 w=1:2", {"fusion": "rrf", "rrf_k": 60, "dense_weight": 1.0, "sparse_weight": 2.0}),
]


async def run_easylaw(bench_dir: Path, args: argparse.Namespace, results: dict[str, Any]) -> None:
    cases = load_retrieval_cases(GOLDEN)
    if not args.skip_full:
        services = await build_services(settings_for(bench_dir))
        try:
            first = await ingest(services, EASYLAW, "easylaw-lexical", dense=False, source="easylaw")
            rerun = await ingest(services, EASYLAW, "easylaw-lexical", dense=False, source="easylaw")
            results["ingest_full_lexical"] = {"first": first, "rerun": rerun}
            print_table(
                "Lexical ingest of the full easylaw corpus",
                ["run", "documents", "new chunks", "points", "failed", "seconds"],
                [
                    [
                        "first (or resumed)",
                        first["documents"],
                        first["chunks_new"],
                        first["points"],
                        first["failed"],
                        first["seconds"],
                    ],
                    [
                        "re-run, nothing changed",
                        rerun["documents"],
                        rerun["chunks_new"],
                        rerun["points"],
                        rerun["failed"],
                        rerun["seconds"],
                    ],
                ],
            )
            quality = await evaluate(
                "lexical (full corpus)", services.retriever("easylaw-lexical"), cases, "lexical"
            )
            results["full_lexical"] = quality.__dict__
            print_table(
                f"Full corpus, lexical only ({len(cases)} golden questions)",
                ["signal", "hit@1", "hit@5", "MRR@10", "p50 ms", "p95 ms"],
                [[quality.name, quality.hit1, quality.hit5, quality.mrr10, quality.p50_ms, quality.p95_ms]],
            )
        finally:
            await services.aclose()

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "easylaw"
        folder.mkdir()
        sections = write_subset(cases, folder, args.siblings, args.distractors)
        rows = []
        services = await build_services(settings_for(bench_dir))
        try:
            report = await ingest(services, folder, "easylaw-subset", dense=True, source="easylaw")
            results["ingest_subset_dense"] = report | {"sections": sections}
        finally:
            await services.aclose()
        for label, fusion in FUSIONS:
            services = await build_services(settings_for(bench_dir, **fusion))
            try:
                retriever = services.retriever("easylaw-subset")
                if label == FUSIONS[0][0]:
                    for mode in ("lexical", "dense"):
                        q = await evaluate(mode, retriever, cases, mode)  # type: ignore[arg-type]
                        rows.append([q.name, q.hit1, q.hit5, q.mrr10, q.p50_ms, q.p95_ms])
                        results[f"subset_{mode}"] = q.__dict__
                q = await evaluate(f"hybrid {label}", retriever, cases, "hybrid")
                rows.append([q.name, q.hit1, q.hit5, q.mrr10, q.p50_ms, q.p95_ms])
                results[f"subset_hybrid_{label}"] = q.__dict__
            finally:
                await services.aclose()
        print_table(
            f"Subset: {sections} sections, {report['points']} chunks: every golden target section, "
            f"{args.siblings} sibling sections of each target's guide, {args.distractors} random sections "
            f"of other guides (seed {SEED})",
            ["signal", "hit@1", "hit@5", "MRR@10", "p50 ms", "p95 ms"],
            rows,
        )


async def run_beir(bench_dir: Path, name: str, results: dict[str, Any]) -> None:
    data = json.loads((SHARED / "bench" / f"{name}.json").read_text(encoding="utf-8"))
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / name
        corpus.mkdir()
        with (corpus / "corpus.jsonl").open("w", encoding="utf-8") as handle:
            for doc_id, doc in data["corpus"].items():
                title = doc.get("title") or doc_id
                handle.write(
                    json.dumps({"id": doc_id, "title": title, "text": doc["text"]}, ensure_ascii=False)
                )
                handle.write("\n")
        services = await build_services(settings_for(bench_dir))
        try:
            report = await ingest(services, corpus, f"beir-{name}", dense=True, source=name)
        finally:
            await services.aclose()
    rows = []
    for label, fusion in [
        ("lexical", {}),
        ("dense", {}),
        ("hybrid dbsf prefetch 20 (default)", {"fusion": "dbsf", "prefetch_limit": 20}),
        ("hybrid dbsf prefetch 50", {"fusion": "dbsf", "prefetch_limit": 50}),
        ("hybrid rrf k=60", {"fusion": "rrf", "rrf_k": 60}),
        ("hybrid rrf k=1 w=2:1", {"fusion": "rrf", "rrf_k": 1, "dense_weight": 2.0, "sparse_weight": 1.0}),
    ]:
        mode: SearchMode = "hybrid" if label.startswith("hybrid") else label  # type: ignore[assignment]
        services = await build_services(settings_for(bench_dir, **fusion))
        try:
            retriever = services.retriever(f"beir-{name}")
            recalls, ndcgs = [], []
            for query_id, question in data["queries"].items():
                hits = await retriever.retrieve(question, k=30, mode=mode)
                ranked = []
                for hit in hits:
                    doc_id = hit.chunk.document_id.rsplit("#", 1)[-1]
                    if doc_id not in ranked:
                        ranked.append(doc_id)
                gains = {d: float(g) for d, g in data["qrels"].get(query_id, {}).items() if g > 0}
                recalls.append(recall_at(ranked, set(gains), 5))
                ndcgs.append(ndcg_at(ranked, gains, 10))
            rows.append([label, statistics.mean(recalls), statistics.mean(ndcgs)])
            results[f"beir_{name}_{label}"] = {"recall@5": rows[-1][1], "ndcg@10": rows[-1][2]}
        finally:
            await services.aclose()
    print_table(
        f"{name} ({len(data['queries'])} queries, {report['points']} chunks)",
        ["signal", "recall@5", "nDCG@10"],
        rows,
    )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--skip-full", action="store_true", help="skip the full-corpus lexical ingest")
    parser.add_argument("--skip-beir", action="store_true", help="skip the two MTEB benchmark sets")
    parser.add_argument("--skip-easylaw", action="store_true", help="skip the easylaw golden set")
    parser.add_argument("--siblings", type=int, default=2, help="hard-negative sections per target guide")
    parser.add_argument("--distractors", type=int, default=100, help="random sections from other guides")
    args = parser.parse_args()
    if not EASYLAW.exists():
        raise SystemExit(f"{EASYLAW} not found: the benchmark needs ../shared beside the project")
    bench_dir = Path(os.environ.get("DASAN_BENCH_DIR", ROOT / "data" / "bench"))
    results: dict[str, Any] = {}
    if not args.skip_easylaw:
        await run_easylaw(bench_dir, args, results)
    if not args.skip_beir:
        for name in ("publichealthqa_ko", "autorag_retrieval_ko"):
            await run_beir(bench_dir, name, results)
    results["peak_rss_mb"] = round(peak_rss_mb(), 1)
    print(f"\npeak RSS: {results['peak_rss_mb']} MB")
    out = ROOT / "benchmarks" / "results"
    out.mkdir(exist_ok=True)
    (out / "retrieval.json").write_text(json.dumps(results, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
