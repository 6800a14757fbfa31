"""`dasan ask` end to end: the real CLI against a scripted vLLM (FakeOpenAIServer), and without a model;
plus ``POST /v1/ask`` over the same wiring."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest

from assistant.app.http import create_app
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from assistant.ingest.progress import SilentProgress
from connectors.folder import FolderConnector
from tests.fakes.openai_server import FakeOpenAIServer, Reply
from tests.integration.cli_runner import cli_env, run_cli

FAQ = [
    ("faq-bike", "따릉이 요금은 얼마예요?", "1시간 이용권은 1,000원이고 정기권도 있습니다."),
    (
        "faq-pension",
        "기초연금은 누가 받나요?",
        "만 65세 이상이고 소득인정액이 선정기준액 이하인 어르신이 받습니다.",
    ),
    ("faq-copy", "등본은 어디서 떼요?", "정부24에서 무료로 발급합니다."),
]
QUESTION = "따릉이 요금은 얼마예요?"
GROUNDED = "따릉이 1시간 이용권은 1,000원이에요 [1]."
KEYS = {"answer", "mode", "citations", "latency_ms", "prompt_version"}


def _write_corpus(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({"id": i, "question": q, "answer": a}, ensure_ascii=False) for i, q, a in FAQ]
    (folder / "faq.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with the tiny corpus ingested (lexical only, for speed)."""
    root = tmp_path_factory.mktemp("ask")
    _write_corpus(root / "kb")
    done = run_cli(
        ["ingest", str(root / "kb")], cli_env(root / "data", DASAN_EMBEDDING__BACKEND="none"), cwd=root
    )
    assert done.code == 0, done.stderr
    return root


@pytest.fixture
def vllm() -> Iterator[FakeOpenAIServer]:
    with FakeOpenAIServer(model="fake-qwen") as server:
        yield server


def _env(corpus: Path, **extra: str) -> dict[str, str]:
    return cli_env(corpus / "data", DASAN_EMBEDDING__BACKEND="none", DASAN_LOG_LEVEL="WARNING", **extra)


def _remote(corpus: Path, server: FakeOpenAIServer) -> dict[str, str]:
    return _env(
        corpus, DASAN_LLM__BACKEND="remote", DASAN_LLM__BASE_URL=server.base_url, DASAN_LLM__MODEL="fake-qwen"
    )


@pytest.mark.slow  # a CLI subprocess: about 6 s on 2 cores
def test_ask_json_returns_a_verified_answer_from_the_model(corpus: Path, vllm: FakeOpenAIServer) -> None:
    vllm.script(Reply(GROUNDED))
    done = run_cli(["ask", QUESTION, "--json"], _remote(corpus, vllm), cwd=corpus)

    assert done.code == 0, done.stderr
    payload = done.json()
    assert set(payload) == KEYS
    assert payload["answer"] == GROUNDED
    assert payload["mode"] == "llm"
    assert payload["prompt_version"]
    assert set(payload["latency_ms"]) == {"retrieve", "generate", "verify", "total"}
    [citation] = payload["citations"]
    assert set(citation) == {"n", "chunk_id", "title", "source", "url"}
    assert (citation["n"], citation["title"]) == (1, QUESTION)
    [request] = vllm.chat_requests
    prompt = "\n".join(m["content"] for m in request["messages"])
    assert "1시간 이용권은 1,000원이고" in prompt and request["model"] == "fake-qwen"
    assert vllm.pending == 0


@pytest.mark.slow  # a CLI subprocess: about 6 s on 2 cores
def test_ask_stream_prints_verified_deltas_then_the_answer(corpus: Path, vllm: FakeOpenAIServer) -> None:
    invented = "정기권은 1년에 50,000원이에요 [1]."
    vllm.script(Reply(f"{GROUNDED} {invented}"))
    done = run_cli(["ask", QUESTION, "--json", "--stream"], _remote(corpus, vllm), cwd=corpus)

    assert done.code == 0, done.stderr
    *deltas, final = done.json_lines()
    assert deltas and all(set(d) == {"delta"} for d in deltas)
    assert deltas[0]["delta"] == GROUNDED
    assert set(final) == KEYS
    assert final["answer"] == "".join(d["delta"] for d in deltas)
    assert "50,000원" not in final["answer"]  # the invented fee was never shown
    assert final["mode"] == "extractive"
    assert vllm.chat_requests[0]["stream"] is True


@pytest.mark.slow  # a CLI subprocess: about 6 s on 2 cores
def test_ask_without_a_model_answers_extractively_and_abstains(corpus: Path) -> None:
    env = _env(corpus, DASAN_LLM__BACKEND="none")
    done = run_cli(["ask", "--json"], env, cwd=corpus, stdin=f"{QUESTION}\n\n삼성전자 주가 내일 오를까요?\n")

    assert done.code == 0, done.stderr
    first, second = done.json_lines()
    assert first["mode"] == "extractive" and first["prompt_version"] is None
    assert first["answer"] == "1시간 이용권은 1,000원이고 정기권도 있습니다 [1]."
    assert first["citations"][0]["title"] == QUESTION
    assert second["mode"] == "abstain" and second["citations"] == []
    assert "120" in second["answer"]


@pytest.mark.slow  # a CLI subprocess: about 6 s on 2 cores
def test_ask_prints_the_answer_and_its_sources(corpus: Path) -> None:
    done = run_cli(["ask", QUESTION], _env(corpus, DASAN_LLM__BACKEND="none"), cwd=corpus)

    assert done.code == 0, done.stderr
    assert "1,000원" in done.stdout
    assert f"[1] {QUESTION} (" in done.stdout


def test_an_empty_question_is_a_usage_error(corpus: Path) -> None:
    done = run_cli(["ask", "  "], _env(corpus, DASAN_LLM__BACKEND="none"), cwd=corpus)
    assert done.code == 2


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(data_dir=tmp_path / "data", embedding={"backend": "none"}, llm={"backend": "none"})  # type: ignore[arg-type]
    built = await build_services(settings)
    _write_corpus(tmp_path / "kb")
    await built.ingest_pipeline().run([FolderConnector(tmp_path / "kb", source="sample")], SilentProgress())
    try:
        yield built
    finally:
        await built.aclose()


@pytest.mark.anyio
async def test_the_http_api_answers_and_reports_the_llm(services: Services) -> None:
    app = create_app(services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        answered = await client.post("/v1/ask", json={"question": QUESTION, "deadline_s": 10})
        invalid = await client.post("/v1/ask", json={"question": ""})
        ready = await client.get("/readyz")

    assert answered.status_code == 200
    assert set(answered.json()) == KEYS and answered.json()["mode"] == "extractive"
    assert invalid.status_code == 422
    assert ready.status_code == 200
    assert ready.json()["checks"]["llm"]["required"] is False
    assert "none disabled" in ready.json()["checks"]["llm"]["detail"]
