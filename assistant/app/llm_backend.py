"""The configured language model, started on first use: remote (vLLM), embedded (llama.cpp) or none."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Literal

from assistant.app.settings import LLMSettings
from assistant.core.clock import Clock
from assistant.core.errors import ConfigurationError
from assistant.llm.bundled_models import QWEN25_CODER_1_5B_INSTRUCT, ModelSource, OperatorModel
from assistant.llm.llama_server import LlamaServerConfig, LlamaServerProcess, effective_threads
from assistant.llm.model_file import ModelFileStore, ModelProgress, VerifiedModel
from assistant.llm.openai_compat import JsonSchemaStyle, OpenAICompatLLM
from assistant.llm.ports import LLMClient
from assistant.llm.resilience import CircuitBreaker, ResilientLLM

_log = logging.getLogger(__name__)

BackendKind = Literal["remote", "embedded", "none"]
BackendState = Literal["disabled", "not_started", "ready", "failed"]


@dataclass(frozen=True, slots=True)
class LLMBackendStatus:
    """For ``/readyz`` and logs. ``failed`` means answers are extractive, and ``detail`` says why."""

    kind: BackendKind
    state: BackendState
    detail: str


def backend_kind(section: LLMSettings) -> BackendKind:
    """``none``; ``remote`` when chosen or when a base URL is set; else ``embedded``."""
    if section.backend == "none":
        return "none"
    if section.backend == "remote" or section.base_url:
        return "remote"
    return "embedded"


class LLMBackend:
    """Owns the model client (and the llama.cpp process for ``embedded``); ``client()`` starts it once.

    ``remote`` needs ``DASAN_LLM__BASE_URL`` (a ``ConfigurationError`` otherwise). ``embedded`` prepares the
    sha256-verified GGUF under ``<data dir>/models`` and starts ``llama_cpp.server``; when the packages are
    missing or the server does not come up, the reason is logged and kept for ``/readyz``, and
    ``client()`` returns None, so answers are extractive. ``none`` never has a client.
    """

    def __init__(self, section: LLMSettings, *, data_dir: Path, clock: Clock) -> None:
        self._section = section
        self._data_dir = data_dir
        self._clock = clock
        self._kind = backend_kind(section)
        self._lock = asyncio.Lock()
        self._client: LLMClient | None = None
        self._process: LlamaServerProcess | None = None
        self._owned: OpenAICompatLLM | None = None
        self._state: BackendState = "disabled" if self._kind == "none" else "not_started"
        self._detail = "not started"
        if self._kind == "none":
            self._detail = "DASAN_LLM__BACKEND=none: extractive answers"

    @property
    def kind(self) -> BackendKind:
        return self._kind

    def status(self) -> LLMBackendStatus:
        process = self._process
        if process is not None and self._state == "ready":
            live = process.status()
            if not live.ready:
                self._state, self._detail = "failed", live.detail
        return LLMBackendStatus(self._kind, self._state, self._detail)

    async def client(self) -> LLMClient | None:
        await self.start()
        return self._client if self.status().state == "ready" else None

    async def start(self, progress: ModelProgress | None = None) -> LLMBackendStatus:
        """Start the backend now (idempotent): prepare and verify the model, launch the local server.
        ``progress`` hears the model assembly and verification (phase, done, total)."""
        async with self._lock:
            if self._state == "not_started":
                await self._start(progress)
        return self.status()

    async def prepare_model(self, progress: ModelProgress | None = None) -> VerifiedModel:
        """Assemble and verify the embedded model file without starting a server (``dasan llm prepare``)."""
        return await ModelFileStore(self._data_dir / "models").prepare(self._source(), progress)

    async def aclose(self) -> None:
        if self._owned is not None:
            await self._owned.aclose()
        if self._process is not None:
            await self._process.stop()

    async def _start(self, progress: ModelProgress | None = None) -> None:
        section = self._section
        if self._kind == "remote":
            if not section.base_url:
                raise ConfigurationError("DASAN_LLM__BASE_URL is required when DASAN_LLM__BACKEND=remote")
            key = section.api_key.get_secret_value() if section.api_key else None
            self._client = self._wrap(section.base_url, section.model, key, "json_schema")
            self._state, self._detail = "ready", f"remote {section.base_url} model={section.model or 'auto'}"
            return
        try:
            model = await self.prepare_model(progress)
        except ConfigurationError as exc:
            self._fail(f"embedded model unavailable: {exc}")
            return
        process = LlamaServerProcess(
            LlamaServerConfig(
                model=model,
                threads=effective_threads(section.threads),
                context_tokens=section.context_tokens,
                log_dir=self._data_dir / "logs",
            )
        )
        self._process = process
        status = await process.start()
        if not status.ready or process.base_url is None:
            self._fail(f"embedded LLM server did not start: {status.detail}")
            return
        self._client = self._wrap(process.base_url, process.model_name, process.api_key, "json_object")
        self._state, self._detail = "ready", status.detail

    def _source(self) -> ModelSource:
        section = self._section
        if section.model_path is None:
            return QWEN25_CODER_1_5B_INSTRUCT
        return OperatorModel(section.model_path, section.chat_format, section.model_sha256, section.model)

    def _wrap(self, base_url: str, model: str, api_key: str | None, style: JsonSchemaStyle) -> LLMClient:
        section = self._section
        inner = OpenAICompatLLM(
            base_url=base_url,
            model=model,
            api_key=api_key,
            timeout=timedelta(seconds=section.timeout_s),
            connect_timeout=timedelta(seconds=section.connect_timeout_s),
            json_schema_style=style,
        )
        self._owned = inner
        return ResilientLLM(
            inner,
            max_attempts=section.max_retries + 1,
            breaker=CircuitBreaker(
                failure_threshold=section.breaker_failures,
                reset_after=timedelta(seconds=section.breaker_reset_s),
                clock=self._clock,
            ),
            clock=self._clock,
        )

    def _fail(self, detail: str) -> None:
        self._state, self._detail = "failed", detail
        _log.warning("%s; answering extractively", detail)
