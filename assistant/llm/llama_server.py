"""A managed ``llama_cpp.server`` child process that serves the embedded GGUF on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import os
import secrets
import signal
import socket
import sys
from collections import deque
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

import httpx

from assistant.llm.model_file import VerifiedModel

_log = logging.getLogger(__name__)

LOG_NAME = "llama-server.log"
_SERVER_MODULES = (
    "llama_cpp",
    "uvicorn",
    "fastapi",
    "sse_starlette",
    "starlette_context",
    "pydantic_settings",
)
_INSTALL_HINT = (
    "install it with: CMAKE_ARGS=-DGGML_NATIVE=OFF pip install 'llama-cpp-python[server]' "
    "(or set DASAN_LLM__BACKEND=none for extractive answers)"
)
# Only these variables reach the child: llama_cpp.server reads unprefixed settings (MODEL, PORT, HOST,
# API_KEY, CONFIG_FILE, ...) from the environment, and HOST/PORT would override our command line.
_ENV_KEEP = (
    "PATH",
    "HOME",
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TMPDIR",
    "LD_LIBRARY_PATH",
    "PYTHONPATH",
    "VIRTUAL_ENV",
)
_ENV_KEEP_PREFIXES = ("GGML_", "LLAMA_", "CUDA_")
# Runs llama_cpp.server as ``-m`` would, after asking Linux to SIGTERM it when its parent dies, so a
# killed dasan never leaves a 1 GB server behind.
_BOOTSTRAP = """
import ctypes, os, runpy, signal, sys
try:
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)
except (OSError, AttributeError):
    pass
if os.getppid() != int(os.environ.pop("DASAN_PARENT_PID", os.getppid())):
    sys.exit(0)
runpy.run_module("llama_cpp.server", run_name="__main__", alter_sys=True)
"""

ServerState = Literal["stopped", "starting", "ready", "failed"]


def effective_threads(configured: int) -> int:
    """``configured`` when positive, else the usable cores minus one (at least one)."""
    if configured > 0:
        return configured
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:
        cores = os.cpu_count() or 2
    return max(1, cores - 1)


@dataclass(frozen=True, slots=True)
class LlamaServerConfig:
    """How to run the server. ``prompt_cache_bytes`` > 0 turns on llama.cpp's RAM prompt cache, which
    cut the time to first token of a follow-up question from 14 s to 0.7 s on 2 cores."""

    model: VerifiedModel
    threads: int
    context_tokens: int
    log_dir: Path
    startup_timeout: timedelta = timedelta(minutes=3)
    stop_timeout: timedelta = timedelta(seconds=10)
    prompt_cache_bytes: int = 512 * 1024 * 1024
    python: str = sys.executable

    def command(self, port: int) -> list[str]:
        cache = ["--cache", "true", "--cache_size", str(self.prompt_cache_bytes)]
        return [
            self.python, "-c", _BOOTSTRAP,
            "--model", str(self.model.path),
            "--model_alias", self.model.name,
            "--chat_format", self.model.chat_format,
            "--host", "127.0.0.1",
            "--port", str(port),
            "--n_ctx", str(self.context_tokens),
            "--n_threads", str(self.threads),
            "--n_threads_batch", str(self.threads),
            # A new request must queue, not cancel another user's answer mid-stream.
            "--interrupt_requests", "false",
            *(cache if self.prompt_cache_bytes > 0 else []),
        ]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LlamaServerStatus:
    state: ServerState
    detail: str
    base_url: str | None = None
    model: str | None = None
    pid: int | None = None

    @property
    def ready(self) -> bool:
        return self.state == "ready"


class LlamaServerProcess:
    """Starts, watches and stops one ``llama_cpp.server``; the app then talks to ``base_url``.

    ``start()`` never raises for a server that cannot run (llama-cpp-python missing, a crash, a
    timeout): it returns a ``failed`` status whose ``detail`` says why, quoting the end of the log,
    so the composition root can mark ``/readyz`` and answer extractively. Readiness is polled on
    ``/v1/models`` (the server has no ``/health``) until a deadline, racing the process's exit. A
    random API key, passed through the environment rather than argv, keeps other local users off the
    port. The child's output goes to ``<log_dir>/llama-server.log`` (the previous run's is kept as
    ``.1``).
    """

    def __init__(self, config: LlamaServerConfig) -> None:
        self._config = config
        self._api_key = secrets.token_urlsafe(24)
        self._proc: asyncio.subprocess.Process | None = None
        self._port: int | None = None
        self._state: ServerState = "stopped"
        self._detail = "not started"
        self._watcher: asyncio.Task[None] | None = None

    @property
    def model_name(self) -> str:
        return self._config.model.name

    @property
    def api_key(self) -> str:
        return self._api_key

    @property
    def base_url(self) -> str | None:
        """The OpenAI-compatible root (ending in ``/v1``) once started."""
        return None if self._port is None else f"http://127.0.0.1:{self._port}/v1"

    @property
    def log_path(self) -> Path:
        return self._config.log_dir / LOG_NAME

    def status(self) -> LlamaServerStatus:
        proc = self._proc
        if self._state == "ready" and proc is not None and proc.returncode is not None:
            self._fail(f"llama.cpp server exited with code {proc.returncode}: {self._log_tail()}")
        return LlamaServerStatus(
            state=self._state,
            detail=self._detail,
            base_url=self.base_url if self._state == "ready" else None,
            model=self.model_name,
            pid=None if proc is None or proc.returncode is not None else proc.pid,
        )

    async def start(self) -> LlamaServerStatus:
        if self._state in ("ready", "starting"):
            return self.status()
        missing = self._missing_modules()
        if missing:
            self._fail(
                f"llama-cpp-python's server cannot run ({', '.join(missing)} missing); {_INSTALL_HINT}"
            )
            return self.status()
        try:
            for attempt in (1, 2):
                if (
                    await self._launch_and_wait()
                    or attempt == 2
                    or "address already in use" not in self._detail
                ):
                    break
                _log.info("port was taken before llama.cpp could bind it; retrying on another port")
        except BaseException:
            await asyncio.shield(self._terminate())
            self._fail("start was cancelled")
            raise
        return self.status()

    async def wait(self) -> LlamaServerStatus:
        """Wait until the server process exits (at once if none runs), then return the status."""
        proc = self._proc
        if proc is not None:
            await proc.wait()
        return self.status()

    async def stop(self) -> None:
        """Terminate, wait up to ``stop_timeout``, then kill. Safe to call at any time."""
        await self._terminate()
        if self._state != "failed":
            self._state, self._detail = "stopped", "stopped"

    async def _launch_and_wait(self) -> bool:
        config = self._config
        self._state, self._detail = "starting", f"loading {config.model.path.name}"
        config.log_dir.mkdir(parents=True, exist_ok=True)
        self._rotate_log()
        self._port = _free_port()
        env = {k: v for k, v in os.environ.items() if k in _ENV_KEEP or k.startswith(_ENV_KEEP_PREFIXES)}
        env.update(API_KEY=self._api_key, PYTHONUNBUFFERED="1", DASAN_PARENT_PID=str(os.getpid()))
        try:
            with self.log_path.open("ab") as log:
                self._proc = await asyncio.create_subprocess_exec(
                    *config.command(self._port),
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=log,
                    stderr=asyncio.subprocess.STDOUT,
                    env=env,
                    cwd=config.log_dir,
                )
        except OSError as exc:
            self._fail(f"could not start {config.python}: {exc}")
            return False
        _log.info("llama.cpp server pid %d starting on port %d", self._proc.pid, self._port)
        return await self._wait_ready(self._proc)

    async def _wait_ready(self, proc: asyncio.subprocess.Process) -> bool:
        loop = asyncio.get_running_loop()
        timeout = self._config.startup_timeout.total_seconds()
        deadline = loop.time() + timeout
        exited = asyncio.ensure_future(proc.wait())
        interval = 0.05
        async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, connect=1.0)) as client:
            try:
                while loop.time() < deadline:
                    if await self._serves_model(client):
                        self._state, self._detail = "ready", f"serving {self.model_name} on {self.base_url}"
                        self._watcher = asyncio.ensure_future(self._watch(exited))
                        return True
                    await asyncio.wait({exited}, timeout=min(interval, max(0.0, deadline - loop.time())))
                    if exited.done():
                        self._fail(f"llama.cpp server exited with code {proc.returncode}: {self._log_tail()}")
                        return False
                    interval = min(interval * 1.5, 0.5)
            finally:
                if self._state != "ready":
                    exited.cancel()
        await self._terminate()
        self._fail(f"llama.cpp server was not ready after {timeout:.0f} s: {self._log_tail()}")
        return False

    async def _serves_model(self, client: httpx.AsyncClient) -> bool:
        try:
            response = await client.get(
                f"{self.base_url}/models", headers={"Authorization": f"Bearer {self._api_key}"}
            )
        except httpx.HTTPError:
            return False
        if response.status_code != 200:
            return False
        try:
            served = {str(item.get("id")) for item in response.json().get("data", [])}
        except (ValueError, AttributeError):
            return False
        return self.model_name in served

    async def _watch(self, exited: asyncio.Future[int]) -> None:
        with contextlib.suppress(asyncio.CancelledError):
            code = await exited
            if self._state == "ready":
                self._fail(f"llama.cpp server exited with code {code}: {self._log_tail()}")
                _log.error("embedded LLM server died: %s", self._detail)

    async def _terminate(self) -> None:
        proc, watcher = self._proc, self._watcher
        self._watcher = None
        if watcher is not None:
            watcher.cancel()
        if proc is None or proc.returncode is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), self._config.stop_timeout.total_seconds())
        except TimeoutError:
            _log.warning("llama.cpp server pid %d ignored SIGTERM; killing it", proc.pid)
            with contextlib.suppress(ProcessLookupError):
                proc.kill()
            await proc.wait()

    def _fail(self, detail: str) -> None:
        self._state, self._detail = "failed", detail
        _log.warning("embedded LLM unavailable: %s", detail)

    def _missing_modules(self) -> list[str]:
        if self._config.python != sys.executable:
            return []  # another interpreter: only starting it can tell
        return [name for name in _SERVER_MODULES if importlib.util.find_spec(name) is None]

    def _rotate_log(self) -> None:
        if self.log_path.exists():
            os.replace(self.log_path, self.log_path.with_name(LOG_NAME + ".1"))

    def _log_tail(self, lines: int = 8) -> str:
        try:
            with self.log_path.open(encoding="utf-8", errors="replace") as log:
                tail = deque((line.rstrip() for line in log if line.strip()), maxlen=lines)
        except OSError:
            return "(no log)"
        return " | ".join(tail) or f"(empty log at {self.log_path})"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port
