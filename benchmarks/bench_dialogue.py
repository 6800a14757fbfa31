"""Dialogue benchmark: the manager's own time per turn inside the server, under concurrent HTTP load.

Usage::

    .venv/bin/python benchmarks/bench_dialogue.py [--sessions 200] [--turns 5] [--postgres URL]

It indexes the bundled sample knowledge (lexical only) into a temporary data dir, starts the scripted
fast LLM (``python -m tests.fakes.openai_server``) and ``dasan serve`` (real uvicorn) as subprocesses
on loopback, then drives ``--sessions`` conversations at once over ``POST /v1/chat``, each ``--turns``
turns in a row (questions, a follow-up, a flow start, a handoff). The server reports each turn's
timing in its ``Server-Timing`` header: ``dialogue`` is the manager's own time (everything but the
answer pipeline, i.e. retrieval and the model), ``answer`` the pipeline's. Afterwards every transcript
is read back (``GET /v1/conversations``) to count lost and duplicated turns. Prints a Markdown table
and writes ``benchmarks/results/dialogue.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results" / "dialogue.json"
SCRIPTS: tuple[tuple[str, ...], ...] = (
    ("기초연금은 누가 받을 수 있나요?", "그럼 신청은 어디서 해요?", "한 달에 얼마나 받나요?"),
    ("여권은 어디서 어떻게 만들 수 있나요?", "수수료는 얼마예요?", "주민등록증을 잃어버렸는데 어떻게 해요?"),
    ("따릉이는 어떻게 빌리나요?", "요금은 얼마예요?", "반납은 어떻게 하나요?"),
    ("장롱 버리고 싶어요", "강남이요", "대형폐기물 스티커는 어디서 살 수 있나요?"),
    ("무인민원발급기에서 등본을 뗄 수 있나요?", "상담원 연결해 주세요", "언제 연결돼요?"),
    ("전입신고는 언제까지 해야 하나요?", "확정일자는 어디서 받나요?", "인감증명서는 어떻게 발급받나요?"),
)
EXTRA = (
    "음식물 쓰레기는 어떻게 버리나요?",
    "불법 주정차는 어떻게 신고하나요?",
    "치매 검사는 어디서 받을 수 있나요?",
)
_TIMING = re.compile(
    r'dialogue;dur=(?P<dialogue>[\d.]+);desc="(?P<route>[^"]*)", answer;dur=(?P<answer>[\d.]+)'
)


@dataclass
class Sample:
    e2e_ms: float
    dialogue_ms: float
    answer_ms: float
    route: str


@dataclass
class Run:
    samples: list[Sample] = field(default_factory=list)
    errors: Counter[str] = field(default_factory=Counter)
    sent: dict[str, list[str]] = field(default_factory=dict)
    lost_sessions: int = 0


def pct(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_up(url: str, process: subprocess.Popen[bytes], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited with {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} did not come up within {seconds:.0f} s")


def turns_of(session: int, turns: int) -> list[str]:
    script = list(SCRIPTS[session % len(SCRIPTS)])
    extra = [EXTRA[(session + n) % len(EXTRA)] for n in range(max(0, turns - len(script)))]
    return (script + extra)[:turns]


async def drive(base_url: str, sessions: int, turns: int) -> tuple[Run, float]:
    run = Run()
    # Idle connections are dropped before uvicorn's 5 s keep-alive timeout would close them under us.
    limits = httpx.Limits(max_connections=sessions, max_keepalive_connections=sessions, keepalive_expiry=2.0)
    async with httpx.AsyncClient(base_url=base_url, timeout=120.0, limits=limits) as client:

        async def converse(n: int) -> None:
            """One citizen: the first turn opens the session (the server mints its id), as the web
            chat does; the next turns carry it."""
            session_id: str | None = None
            sent: list[str] = []
            for t, text in enumerate(turns_of(n, turns)):
                message_id = f"bench-{n:04d}-{secrets.token_hex(4)}-t{t}"
                body = {"session_id": session_id, "text": text, "message_id": message_id}
                started = time.perf_counter()
                try:
                    response = await client.post("/v1/chat", json=body)
                except httpx.HTTPError as exc:
                    sent.append(message_id)  # the server may have it: the audit counts it either way
                    run.errors[type(exc).__name__] += 1
                    continue
                e2e = (time.perf_counter() - started) * 1000
                sent.append(message_id)
                if response.status_code != 200:
                    run.errors[f"HTTP {response.status_code}"] += 1
                    continue
                session_id = response.json()["session_id"]
                run.sent[session_id] = sent
                timing = _TIMING.search(response.headers.get("server-timing", ""))
                if timing is None:
                    run.errors["no Server-Timing"] += 1
                    continue
                run.samples.append(
                    Sample(e2e, float(timing["dialogue"]), float(timing["answer"]), timing["route"])
                )
            if session_id is None:
                run.lost_sessions += 1

        started = time.perf_counter()
        await asyncio.gather(*(converse(n) for n in range(sessions)))
        return run, time.perf_counter() - started


async def audit(base_url: str, token: str, run: Run) -> dict[str, int]:
    """Reads every transcript back: turns the server lost, kept twice, or never answered."""
    lost = duplicated = unanswered = 0
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=60.0, headers=headers) as client:
        semaphore = asyncio.Semaphore(20)

        async def check(session_id: str, sent: list[str]) -> None:
            nonlocal lost, duplicated, unanswered
            async with semaphore:
                response = await client.get(f"/v1/conversations/{session_id}")
            events = response.json()["events"] if response.status_code == 200 else []
            said = Counter(e["message_id"] for e in events if e["kind"] == "user_turn")
            answered = Counter(e["payload"].get("in_reply_to") for e in events if e["kind"] == "bot_reply")
            lost += sum(1 for m in sent if said[m] == 0)
            duplicated += sum(count - 1 for count in said.values() if count > 1)
            unanswered += sum(1 for m in sent if answered[m] != 1)

        await asyncio.gather(*(check(s, sent) for s, sent in run.sent.items()))
    return {"lost": lost + run.lost_sessions, "duplicated": duplicated, "unanswered": unanswered}


async def audit_durable(url: str, schema: str | None, run: Run) -> dict[str, int]:
    """The same count on the durable records, read after the server drained its writes and stopped."""
    from assistant.core.clock import SystemClock
    from assistant.core.events import ConversationKey
    from assistant.sessions.sql_engine import create_session_engine
    from assistant.sessions.sql_store import SqlConversationStore

    engine = create_session_engine(url, schema=schema)
    store = SqlConversationStore(engine, clock=SystemClock())
    missing = extra = 0
    try:
        for session_id, sent in run.sent.items():
            record = await store.load(ConversationKey("web", session_id))
            said = Counter(e.message_id for e in record.events if e.kind == "user_turn")
            missing += sum(1 for m in sent if said[m] == 0)
            extra += sum(count - 1 for count in said.values() if count > 1)
    finally:
        await engine.dispose()
    return {"durable_lost": missing, "durable_duplicated": extra}


def report(run: Run, seconds: float, audited: dict[str, int], args: argparse.Namespace) -> dict[str, Any]:
    own = [s.dialogue_ms for s in run.samples]
    e2e = [s.e2e_ms for s in run.samples]
    answer = [s.answer_ms for s in run.samples if s.answer_ms > 0]
    by_route: dict[str, list[float]] = {}
    for sample in run.samples:
        by_route.setdefault(sample.route, []).append(sample.dialogue_ms)
    result = {
        "sessions": args.sessions,
        "turns_per_session": args.turns,
        "store": "postgresql" if args.postgres else "sqlite",
        "turns": len(run.samples),
        "seconds": round(seconds, 2),
        "throughput_turns_per_s": round(len(run.samples) / seconds, 1) if seconds else 0.0,
        "dialogue_ms": {"p50": pct(own, 50), "p95": pct(own, 95), "max": max(own, default=0.0)},
        "answer_ms": {"p50": pct(answer, 50), "p95": pct(answer, 95)},
        "http_ms": {"p50": pct(e2e, 50), "p95": pct(e2e, 95)},
        "routes": {r: {"turns": len(v), "p95_ms": pct(v, 95)} for r, v in sorted(by_route.items())},
        "errors": dict(run.errors),
        **audited,
    }
    title = f"{args.sessions} sessions x {args.turns} turns, {result['store']}"
    print(f"\n## Dialogue manager under load ({title})\n")
    print("| Measure | p50 | p95 |")
    print("|---|---|---|")
    print(f"| In-server dialogue per turn (ms, no LLM/retrieval) | {pct(own, 50):.2f} | {pct(own, 95):.2f} |")
    print(f"| Answer pipeline per answered turn (ms) | {pct(answer, 50):.1f} | {pct(answer, 95):.1f} |")
    print(f"| End-to-end HTTP per turn (ms) | {pct(e2e, 50):.1f} | {pct(e2e, 95):.1f} |")
    rate = result["throughput_turns_per_s"]
    print(f"\nThroughput: {rate} turns/s ({len(run.samples)} turns in {seconds:.1f} s)")
    print(
        f"Lost turns: {audited['lost']}, duplicated: {audited['duplicated']}, unanswered: "
        f"{audited['unanswered']}, errors: {sum(run.errors.values())} {dict(run.errors) or ''}"
    )
    print(
        f"Durable records after shutdown: lost {audited['durable_lost']}, "
        f"duplicated {audited['durable_duplicated']}"
    )
    print("\n| Route | Turns | Dialogue p95 (ms) |\n|---|---|---|")
    for route, values in sorted(by_route.items()):
        print(f"| {route} | {len(values)} | {pct(values, 95):.2f} |")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--turns", type=int, default=5)
    parser.add_argument(
        "--postgres", default=None, help="durable store URL (default: SQLite in the data dir)"
    )
    parser.add_argument("--schema", default="dasan_bench", help="PostgreSQL schema (dropped afterwards)")
    args = parser.parse_args()
    token = secrets.token_urlsafe(24)
    with tempfile.TemporaryDirectory(prefix="dasan-bench-dialogue-") as tmp:
        llm_port, port = free_port(), free_port()
        env = {
            **os.environ,
            "DASAN_DATA_DIR": str(Path(tmp) / "data"),
            "DASAN_LOG_LEVEL": "WARNING",
            "DASAN_EMBEDDING__BACKEND": "none",
            "DASAN_RETRIEVAL__MODE": "lexical",
            "DASAN_LLM__BACKEND": "remote",
            "DASAN_LLM__BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "DASAN_LLM__MODEL": "fake-vllm-model",
            "DASAN_SERVER__ADMIN_TOKEN": token,
        }
        if args.postgres:
            env["DASAN_DATABASE__URL"] = args.postgres
            env["DASAN_DATABASE__SCHEMA_NAME"] = args.schema
        print("indexing the sample knowledge (lexical) …", flush=True)
        subprocess.run(
            [str(BIN / "dasan"), "ingest", "sample", "--no-dense"], env=env, check=True, capture_output=True
        )
        llm = subprocess.Popen(
            [sys.executable, "-m", "tests.fakes.openai_server", "--port", str(llm_port)],
            cwd=ROOT,
            env=env,
            stdout=subprocess.DEVNULL,
        )
        server = subprocess.Popen(
            [str(BIN / "dasan"), "serve", "--port", str(port)], env=env, stdout=subprocess.DEVNULL
        )
        base_url = f"http://127.0.0.1:{port}"
        try:
            wait_until_up(f"http://127.0.0.1:{llm_port}/health", llm, 30)
            wait_until_up(f"{base_url}/healthz", server, 120)
            print("warming up …", flush=True)
            asyncio.run(drive(base_url, 4, 3))
            print(f"driving {args.sessions} sessions …", flush=True)
            run, seconds = asyncio.run(drive(base_url, args.sessions, args.turns))
            audited = asyncio.run(audit(base_url, token, run))
        finally:
            for process in (server, llm):
                process.terminate()  # uvicorn shuts down gracefully: the write-behind queue drains
                process.wait(timeout=60)
        try:
            database = args.postgres or f"sqlite+aiosqlite:///{Path(tmp) / 'data' / 'dasan.sqlite3'}"
            schema = args.schema if args.postgres else None
            audited |= asyncio.run(audit_durable(database, schema, run))
        finally:
            if args.postgres:
                drop_schema(args.postgres, args.schema)
    result = report(run, seconds, audited, args)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def drop_schema(url: str, schema: str) -> None:
    import sqlalchemy as sa

    from assistant.sessions.sql_engine import create_session_engine

    async def drop() -> None:
        engine = create_session_engine(url)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        finally:
            await engine.dispose()

    asyncio.run(drop())


if __name__ == "__main__":
    main()
