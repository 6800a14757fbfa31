"""Answer benchmark: abstention tuning, verifier precision/recall, pipeline overhead against a scripted vLLM
in another process, and answer quality on ``evals/datasets/answers.jsonl`` (extractive; optionally the
embedded model).

Usage::

    .venv/bin/python benchmarks/bench_answers.py [--tune] [--skip-overhead] [--embedded N]

It ingests the sample knowledge (with e5 vectors) under ``data/bench/answers`` (or ``$DASAN_BENCH_DIR``) once,
prints Markdown tables and writes ``benchmarks/results/answers.json``. ``--embedded N`` runs N questions
through the embedded llama.cpp model (``DASAN_LLM__MODEL_PATH`` / ``DASAN_LLM__MODEL_SHA256``, or the
bundled one when its packages are installed).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from assistant.answering.answer import Answer, AnswerDelta
from assistant.answering.confidence import ConfidencePolicy, RetrievalConfidence
from assistant.answering.context import PackedSource
from assistant.answering.dense_probe import DenseProbe
from assistant.answering.pipeline import AnswerPipeline
from assistant.answering.text import KoreanText, strip_citations
from assistant.answering.verify import SentenceVerifier, VerifierPolicy
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from assistant.ingest.progress import SilentProgress

ROOT = Path(__file__).resolve().parents[1]
DATASETS = ROOT / "evals" / "datasets"
RESULTS = ROOT / "benchmarks" / "results" / "answers.json"
VERIFIED_QUESTION = "따릉이 일일권 2시간권은 얼마예요?"
VERIFIED_ANSWER = "따릉이 일일권 2시간권은 2,000원이에요 [1]."


def load(name: str) -> list[dict[str, Any]]:
    path = DATASETS / name
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def pct(values: Sequence[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


def table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    print(f"\n### {title}\n")
    print("| " + " | ".join(headers) + " |")
    print("|" + "---|" * len(headers))
    for row in rows:
        print("| " + " | ".join(f"{v:.3f}" if isinstance(v, float) else str(v) for v in row) + " |")


async def open_services(data_dir: Path, **llm: Any) -> Services:
    settings = Settings(data_dir=data_dir, llm=llm or {"backend": "none"})  # type: ignore[arg-type]
    services = await build_services(settings)
    if await services.index.status(settings.qdrant.collection) is None:
        await services.ingest_pipeline().run([services.sources.resolve("sample")], SilentProgress())
    return services


async def tune(services: Services) -> dict[str, Any]:
    """Confidence scores of in-scope and out-of-scope questions, and the abstention rates by threshold."""
    text = KoreanText(services.analyzer)
    retriever = services.retriever()
    probe = DenseProbe(retriever, services.index, retriever.collection)
    scorer = RetrievalConfidence(text, ConfidencePolicy(threshold=-99, lexical_threshold=-99))
    oos_questions = {c["question"] for c in load("out_of_scope.jsonl")}
    groups = {
        "tune/in": [c["question"] for c in load("retrieval_sample.jsonl")],
        "tune/oos": sorted(oos_questions),
        "held/in": [c["question"] for c in load("answers.jsonl") if not c["should_abstain"]],
        "held/oos": [
            c["question"]
            for c in load("answers.jsonl")
            if c["should_abstain"] and c["question"] not in oos_questions
        ],
    }
    scores: dict[str, list[tuple[float, float]]] = {}
    for group, questions in groups.items():
        scores[group] = []
        for question in questions:
            hits = await retriever.retrieve(question, k=6)
            cosine = await probe.best_cosine(question)
            dense = scorer.assess(question, hits, cosine).score
            lexical = scorer.assess(question, hits, None).score
            scores[group].append((dense, lexical))
    out: dict[str, Any] = {}
    for label, column, chosen in (
        ("dense", 0, ConfidencePolicy().threshold),
        ("lexical", 1, ConfidencePolicy().lexical_threshold),
    ):
        rows = []
        for threshold in [chosen - 0.2, chosen - 0.1, chosen, chosen + 0.1, chosen + 0.2]:
            row: list[object] = [f"{threshold:.2f}" + (" (default)" if threshold == chosen else "")]
            for group in groups:
                values = [s[column] for s in scores[group]]
                kept = sum(v >= threshold for v in values) / len(values)
                row.append(kept if group.endswith("/in") else 1 - kept)
            rows.append(row)
        table(
            f"Abstention by threshold ({label} confidence): in-scope answered, out-of-scope abstained",
            [
                "threshold",
                "tune in-scope answered",
                "tune OOS abstained",
                "held-out in-scope answered",
                "held-out OOS abstained",
            ],
            rows,
        )
        out[label] = rows
    return out


async def verifier_scores(services: Services) -> dict[str, Any]:
    text = KoreanText(services.analyzer)
    pairs = load("verifier_pairs.jsonl")
    out: dict[str, Any] = {}
    rows = []
    for label, embedder in (("lexical", None), ("lexical + e5", services.embedder)):
        verifier = SentenceVerifier(text, VerifierPolicy(), embedder=embedder)
        tp = fp = fn = tn = 0
        for pair in pairs:
            ok = (await verifier.support(pair["sentence"], pair["source"])).supported
            gold = pair["supported"]
            tp, fp, fn, tn = (
                tp + (ok and gold),
                fp + (ok and not gold),
                fn + (not ok and gold),
                tn + (not ok and not gold),
            )
        precision, recall = tp / max(1, tp + fp), tp / max(1, tp + fn)
        rows.append([label, len(pairs), precision, recall, tp, fp, fn, tn])
        out[label] = {"precision": precision, "recall": recall, "tp": tp, "fp": fp, "fn": fn, "tn": tn}
    table(
        'Verifier on verifier_pairs.jsonl ("supported" is positive)',
        ["verifier", "pairs", "precision", "recall", "tp", "fp", "fn", "tn"],
        rows,
    )
    return out


def start_fake_vllm(text: str) -> tuple[subprocess.Popen[str], str]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.fakes.openai_server",
            "--port",
            str(port),
            "--model",
            "fake",
            "--text",
            text,
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    match = re.search(r"at (\S+)", line)
    if not match:
        proc.kill()
        raise RuntimeError(f"fake vLLM did not start: {line!r}")
    return proc, match.group(1)


async def overhead(data_dir: Path, runs: int) -> dict[str, Any]:
    proc, base_url = start_fake_vllm(VERIFIED_ANSWER)
    services = await open_services(data_dir, backend="remote", base_url=base_url, model="fake")
    try:
        pipeline = await services.answerer()
        deadline = timedelta(seconds=30)
        warm = await pipeline.answer(VERIFIED_QUESTION, deadline=deadline)
        assert warm.mode == "llm", (warm.mode, warm.fallback_reason, warm.text)
        rows, out = [], {}
        mixed = [c["question"] for c in load("answers.jsonl")]
        # Every question text is new to the query-vector cache (punctuation/space variants), so each run
        # embeds its query: what a real stream of questions costs. The first pass over answers.jsonl also
        # meets every chunk for the first time (Kiwi analyses not cached yet); the second does not.
        variants = [f"{VERIFIED_QUESTION}{'?' * (i % 10)}{' ' * (i // 10)}" for i in range(runs)]
        for label, questions in (
            ("verified llm answer (new query text each run)", variants),
            ("answers.jsonl, first pass (cold chunk caches; mostly fallbacks)", mixed),
            ("answers.jsonl, second pass (new query text, warm chunk caches)", [f"{q} " for q in mixed]),
        ):
            answers: list[Answer] = []
            started = time.perf_counter()
            for question in questions:
                answers.append(await pipeline.answer(question, deadline=deadline))
            wall = time.perf_counter() - started
            pipeline_ms = [a.latency_ms.total - a.latency_ms.generate for a in answers]
            generate_ms = [a.latency_ms.generate for a in answers]
            modes = {m: sum(a.mode == m for a in answers) for m in ("llm", "extractive", "abstain")}
            rows.append(
                [
                    label,
                    len(answers),
                    pct(pipeline_ms, 0.5),
                    pct(pipeline_ms, 0.95),
                    pct(generate_ms, 0.5),
                    len(answers) / wall,
                    modes,
                ]
            )
            out[label] = {
                "n": len(answers),
                "overhead_p50_ms": pct(pipeline_ms, 0.5),
                "overhead_p95_ms": pct(pipeline_ms, 0.95),
                "fake_llm_p50_ms": pct(generate_ms, 0.5),
                "answers_per_s": len(answers) / wall,
                "modes": modes,
            }
        table(
            "Pipeline overhead excluding the LLM (scripted vLLM in another process, e5 + Kiwi, sequential)",
            [
                "workload",
                "answers",
                "overhead p50 ms",
                "overhead p95 ms",
                "LLM call p50 ms",
                "answers/s",
                "modes",
            ],
            rows,
        )
        return out
    finally:
        await services.aclose()
        proc.terminate()
        proc.wait(timeout=10)


def contains(text: str, fact: str) -> bool:
    """Spacing- and digit-grouping-insensitive, digit-bounded: "4,000원" is not found in "14,000원"."""
    squashed = re.sub(r"[\s,]", "", fact)
    before = r"(?<!\d)" if squashed[:1].isdigit() else ""
    after = r"(?!\d)" if squashed[-1:].isdigit() else ""
    return re.search(before + re.escape(squashed) + after, re.sub(r"[\s,]", "", text)) is not None


def shown_sentence_ok(sentence: str, answer: Answer, verified: bool) -> bool:
    """Verbatim from a cited source (extractive), or already verified by the pipeline."""
    body = strip_citations(sentence).replace(" .", ".").rstrip(".").strip()
    for hit in answer.sources:
        chunk = hit.chunk
        if body and (body in chunk.text or body in f"{chunk.title} ({chunk.text})"):
            return True
    return verified


async def quality(
    pipeline: AnswerPipeline,
    verifier: SentenceVerifier,
    text: KoreanText,
    cases: list[dict[str, Any]],
    label: str,
    *,
    stream: bool = False,
) -> dict[str, Any]:
    modes = {"llm": 0, "extractive": 0, "abstain": 0}
    facts = found = forbidden = 0
    cited = cited_right = 0
    oos = oos_abstained = in_scope = in_abstained = 0
    unverified = 0
    ttft: list[float] = []
    totals: list[float] = []
    for case in cases:
        started = time.perf_counter()
        if stream:
            answer = None
            async for item in pipeline.stream(case["question"], deadline=timedelta(seconds=180)):
                if isinstance(item, AnswerDelta) and not ttft[len(totals) :]:
                    ttft.append((time.perf_counter() - started) * 1000)
                elif isinstance(item, Answer):
                    answer = item
            assert answer is not None
        else:
            answer = await pipeline.answer(case["question"], deadline=timedelta(seconds=180))
        totals.append(answer.latency_ms.total)
        modes[answer.mode] += 1
        if case["should_abstain"]:
            oos += 1
            oos_abstained += answer.mode == "abstain"
            continue
        in_scope += 1
        in_abstained += answer.mode == "abstain"
        if answer.mode == "abstain":
            facts += len(case["key_facts"])
            continue
        facts += len(case["key_facts"])
        found += sum(contains(answer.text, fact) for fact in case["key_facts"])
        forbidden += sum(contains(answer.text, fact) for fact in case["forbidden"])
        by_n = {
            n: PackedSource(n, hit.chunk, hit.chunk.text, hit.score)
            for n, hit in enumerate(answer.sources, start=1)
        }
        for citation in answer.citations:
            cited += 1
            cited_right += any(
                contains(by_n[citation.n].chunk.indexed_text, fact) for fact in case["key_facts"]
            )
        for sentence in text.sentences(answer.text):
            verified = (await verifier.check(sentence, by_n)).supported
            unverified += not shown_sentence_ok(sentence, answer, verified)
    n = len(cases)
    result = {
        "cases": n,
        "share": {m: c / n for m, c in modes.items()},
        "key_fact_recall": found / max(1, facts),
        "forbidden_shown": forbidden,
        "citation_precision": cited_right / max(1, cited),
        "oos_abstention": oos_abstained / max(1, oos),
        "in_scope_abstained": in_abstained / max(1, in_scope),
        "unverified_sentences_shown": unverified,
        "total_p50_ms": pct(totals, 0.5),
        "total_p95_ms": pct(totals, 0.95),
    }
    if ttft:
        result |= {"ttft_p50_ms": pct(ttft, 0.5), "ttft_p95_ms": pct(ttft, 0.95)}
    table(
        f"Answer quality: {label}",
        [
            "cases",
            "llm",
            "extractive",
            "abstain",
            "key-fact recall",
            "citation precision",
            "OOS abstained",
            "in-scope abstained",
            "forbidden shown",
            "unverified shown",
            "total p50 ms",
            "total p95 ms",
            "TTFT p50 ms",
        ],
        [
            [
                n,
                result["share"]["llm"],
                result["share"]["extractive"],
                result["share"]["abstain"],
                result["key_fact_recall"],
                result["citation_precision"],
                result["oos_abstention"],
                result["in_scope_abstained"],
                forbidden,
                unverified,
                result["total_p50_ms"],
                result["total_p95_ms"],
                result.get("ttft_p50_ms", "-"),
            ]
        ],
    )
    return result


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tune", action="store_true", help="print the abstention threshold table")
    parser.add_argument("--skip-overhead", action="store_true")
    parser.add_argument("--runs", type=int, default=100, help="overhead runs of the verified question")
    parser.add_argument("--embedded", type=int, default=0, help="questions for the embedded model (0 = skip)")
    args = parser.parse_args()
    data_dir = Path(os.environ.get("DASAN_BENCH_DIR", ROOT / "data" / "bench")) / "answers"
    results: dict[str, Any] = {}
    services = await open_services(data_dir)
    try:
        text = KoreanText(services.analyzer)
        verifier = SentenceVerifier(text, VerifierPolicy(), embedder=services.embedder)
        if args.tune:
            results["abstention"] = await tune(services)
        results["verifier"] = await verifier_scores(services)
        cases = load("answers.jsonl")
        results["extractive"] = await quality(
            await services.answerer(), verifier, text, cases, "extractive (no LLM), answers.jsonl"
        )
    finally:
        await services.aclose()
    if not args.skip_overhead:
        results["overhead"] = await overhead(data_dir, args.runs)
    if args.embedded:
        llm: dict[str, Any] = {"backend": "embedded", "timeout_s": 180}
        if os.environ.get("DASAN_LLM__MODEL_PATH"):
            llm |= {
                "model_path": os.environ["DASAN_LLM__MODEL_PATH"],
                "model_sha256": os.environ.get("DASAN_LLM__MODEL_SHA256"),
            }
        services = await open_services(data_dir, **llm)
        try:
            pipeline = await services.answerer()
            status = services.llm.status()
            print(f"\nembedded LLM: {status.state}: {status.detail}")
            in_scope = [c for c in load("answers.jsonl") if not c["should_abstain"]]
            oos = [c for c in load("answers.jsonl") if c["should_abstain"]]
            picked = (
                in_scope[: max(1, args.embedded * 3 // 4)]
                + oos[: max(0, args.embedded - args.embedded * 3 // 4)]
            )
            results["embedded"] = await quality(
                pipeline,
                verifier_for(services),
                KoreanText(services.analyzer),
                picked,
                f"embedded {status.detail}",
                stream=True,
            )
        finally:
            await services.aclose()
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nwrote {RESULTS}")


def verifier_for(services: Services) -> SentenceVerifier:
    return SentenceVerifier(KoreanText(services.analyzer), VerifierPolicy(), embedder=services.embedder)


if __name__ == "__main__":
    asyncio.run(main())
