"""What an answer the pipeline gave up on costs the embedded model: how long llama.cpp's one slot stays busy.

Usage::

    nice -n 19 .venv/bin/python benchmarks/bench_kakao_abandon.py --data-dir /tmp/dasan-bench-kakao

It starts the embedded llama.cpp server as the app does (``LlamaServerProcess`` on the bundled
Qwen2.5-Coder-1.5B prepared in ``<data dir>/models`` by ``dasan llm prepare``; threads = cores − 1, the
prompt cache off so that every question pays its prompt), then asks answer-sized questions: the real
``grounded_answer`` prompt over five sample FAQ answers (about 800 tokens), each with other sources so
that none reuses another's prompt. A reference question runs to its end (time to first token, whole
answer). Then each way of asking is given up at two points, while the prompt is still being read
(``--early-s``) and after the first token (the reference's time to first token + ``--late-s``), and a
short question is sent at that moment; its latency is how long the model stayed busy with an answer
nobody waits for:

* ``complete``: one non-streamed request, as Kakao answers were generated before (cancelled on our side);
* ``stream``: ``GroundedGenerator.complete``, which streams and closes the stream at its deadline.

Prints a Markdown table and writes ``benchmarks/results/abandoned_generation.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
from collections.abc import Awaitable, Sequence
from datetime import timedelta
from pathlib import Path
from typing import Any

from assistant.answering.context import PackedSource
from assistant.answering.generation import AnswerPrompts, GenerationFailed, GroundedGenerator
from assistant.answering.turn import Turn
from assistant.core.knowledge import Chunk, ChunkId, DocumentId
from assistant.llm.bundled_models import QWEN25_CODER_1_5B_INSTRUCT
from assistant.llm.llama_server import LlamaServerConfig, LlamaServerProcess, effective_threads
from assistant.llm.model_file import ModelFileStore
from assistant.llm.openai_compat import OpenAICompatLLM
from assistant.llm.ports import ChatMessage, ChatRequest
from assistant.llm.prompt import Prompt
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir

ROOT = Path(__file__).resolve().parents[1]
FAQ = ROOT / "connectors" / "sample_knowledge" / "faq.jsonl"
RESULTS = ROOT / "benchmarks" / "results"
SHORT = ChatRequest(messages=(ChatMessage("user", "안녕하세요"),), max_tokens=1, timeout=timedelta(minutes=5))


def faq() -> list[dict[str, str]]:
    lines = FAQ.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


class Questions:
    """Answer-sized questions, each over five FAQ answers no earlier question used (no shared prompt)."""

    def __init__(self) -> None:
        self._entries = faq()
        self._next = 0

    def take(self) -> Turn:
        picked = self._entries[self._next : self._next + 5]
        self._next += 5
        if len(picked) < 5:
            raise SystemExit("out of distinct FAQ entries")
        question = picked[0]["question"]
        turn = Turn(
            question=question, spoken=False, timer=time.perf_counter, started=0, deadline=0, query=question
        )
        turn.packed = [
            PackedSource(n=n, chunk=_chunk(entry), text=entry["answer"], score=1.0)
            for n, entry in enumerate(picked, 1)
        ]
        return turn


def _chunk(entry: dict[str, str]) -> Chunk:
    return Chunk(
        chunk_id=ChunkId(entry["id"]),
        document_id=DocumentId(entry["id"]),
        ordinal=0,
        source="sample",
        title=entry["question"],
        section="",
        text=entry["answer"],
    )


async def timed(work: Awaitable[object]) -> float:
    started = time.monotonic()
    await work
    return time.monotonic() - started


async def reference(llm: OpenAICompatLLM, prompt: Prompt, turn: Turn) -> dict[str, float]:
    """One answer to its end, streamed: time to first token, whole answer, pieces, prompt size."""
    inputs = {"question": turn.question, "sources": [s.prompt_item() for s in turn.packed]}
    request = prompt.render(inputs).to_request(timeout=timedelta(minutes=5))
    started = time.monotonic()
    first: float | None = None
    pieces = 0
    async for _ in llm.stream(request):
        if first is None:
            first = time.monotonic() - started
        pieces += 1
    return {"ttft_s": first or 0.0, "whole_s": time.monotonic() - started, "pieces": pieces}


async def abandon_complete(llm: OpenAICompatLLM, prompt: Prompt, turn: Turn, after_s: float) -> float:
    """One non-streamed request, cancelled after ``after_s``; how long the next short request took."""
    inputs = {"question": turn.question, "sources": [s.prompt_item() for s in turn.packed]}
    task = asyncio.ensure_future(llm.complete(prompt.render(inputs).to_request(timeout=timedelta(minutes=5))))
    await asyncio.sleep(after_s)
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    return await timed(llm.complete(SHORT))


async def abandon_stream(
    llm: OpenAICompatLLM, generator: GroundedGenerator, turn: Turn, after_s: float
) -> float:
    """``GroundedGenerator.complete`` with a budget of ``after_s``; the next short request's latency."""
    with contextlib.suppress(GenerationFailed):  # the deadline: what is measured is what follows
        await generator.complete(turn, [], timedelta(seconds=after_s))
    return await timed(llm.complete(SHORT))


async def measure(args: argparse.Namespace) -> dict[str, Any]:
    model = await ModelFileStore(args.data_dir / "models").prepare(QWEN25_CODER_1_5B_INSTRUCT)
    threads = effective_threads(args.threads)
    server = LlamaServerProcess(
        LlamaServerConfig(
            model=model,
            threads=threads,
            context_tokens=4096,
            log_dir=args.data_dir / "logs",
            prompt_cache_bytes=0,
        )
    )
    status = await server.start()
    if not status.ready or status.base_url is None:
        raise SystemExit(f"llama.cpp did not start: {status.detail}")
    prompt = PromptLibrary(default_prompts_dir()).get("grounded_answer")
    rows: list[dict[str, Any]] = []
    try:
        async with OpenAICompatLLM(
            base_url=status.base_url,
            model=server.model_name,
            api_key=server.api_key,
            timeout=timedelta(minutes=5),
            connect_timeout=timedelta(seconds=5),
            json_schema_style="json_object",
        ) as llm:
            await llm.complete(SHORT)  # loads the weights into the page cache
            questions = Questions()
            generator = GroundedGenerator(llm, AnswerPrompts(text=prompt, spoken=prompt))
            ref = await reference(llm, prompt, questions.take())
            late = ref["ttft_s"] + args.late_s
            print(
                f"reference: first token {ref['ttft_s']:.1f} s, whole answer {ref['whole_s']:.1f} s",
                flush=True,
            )
            for point, after in (("prompt still being read", args.early_s), ("after the first token", late)):
                for mode in ("complete", "stream"):
                    turn = questions.take()
                    if mode == "complete":
                        waited = await abandon_complete(llm, prompt, turn, after)
                    else:
                        waited = await abandon_stream(llm, generator, turn, after)
                    rows.append(
                        {"mode": mode, "point": point, "abandoned_after_s": round(after, 1), "next_s": waited}
                    )
                    print(
                        f"{mode:8s} given up after {after:4.1f} s ({point}): next waited {waited:.1f} s",
                        flush=True,
                    )
    finally:
        await server.stop()
    return {
        "model": model.name,
        "threads": threads,
        "niceness": os.nice(0),
        "load_average_1min": round(os.getloadavg()[0], 2),
        "reference": {k: round(v, 2) for k, v in ref.items()},
        "rows": [{**row, "next_s": round(row["next_s"], 2)} for row in rows],
    }


def table(result: dict[str, Any]) -> str:
    ref = result["reference"]
    lines = [
        f"Reference answer: first token after {ref['ttft_s']:.1f} s, whole answer {ref['whole_s']:.1f} s "
        f"({result['model']}, {result['threads']} thread(s), nice {result['niceness']}, "
        f"load {result['load_average_1min']}).",
        "",
        "| Asked as | Given up | After (s) | Next request waited (s) |",
        "|---|---|---|---|",
    ]
    lines += [
        f"| `{r['mode']}` | {r['point']} | {r['abandoned_after_s']:.1f} | {r['next_s']:.1f} |"
        for r in result["rows"]
    ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--data-dir", type=Path, required=True, help="holds models/ (dasan llm prepare)")
    parser.add_argument("--threads", type=int, default=0, help="0 = cores - 1, as the app")
    parser.add_argument("--early-s", type=float, default=3.0, help="give up this soon (prompt being read)")
    parser.add_argument("--late-s", type=float, default=3.0, help="... or this long after the first token")
    args = parser.parse_args(argv)
    result = asyncio.run(measure(args))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "abandoned_generation.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    print()
    print(table(result))


if __name__ == "__main__":
    main()
