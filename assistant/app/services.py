"""The composition root: builds every component from settings. Nothing else constructs adapters."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import httpx
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.accounts.ports import AccountStore, LoginStore
from assistant.accounts.throttle import LoginThrottle
from assistant.answering.pipeline import AnswerPipeline
from assistant.app.answer_factory import AnswerComponents, build_answer_pipeline
from assistant.app.database_factory import (
    build_accounts,
    build_login_throttle,
    build_logins,
    build_retention_sweeper,
    open_database,
)
from assistant.app.dialogue_factory import build_dialogue, build_session_store
from assistant.app.llm_backend import LLMBackend
from assistant.app.metrics import Metrics
from assistant.app.observability import TurnMetrics, TurnObservers, build_app_tracer
from assistant.app.retention import RetentionSweeper
from assistant.app.settings import Settings, default_threads
from assistant.app.sources import SourceResolver
from assistant.core.clock import Clock, SystemClock
from assistant.dialogue.manager import CivicDialogueManager
from assistant.dialogue.timing import TurnTimingLog
from assistant.ingest.chunking import KoreanChunker
from assistant.ingest.pipeline import IngestPipeline
from assistant.llm.prompt_library import PromptLibrary, default_prompts_dir
from assistant.retrieval.kiwi_analyzer import KiwiAnalyzer
from assistant.retrieval.ports import DenseEmbedder, FusionSpec, SearchMode, VectorIndex
from assistant.retrieval.retriever import HybridRetriever
from assistant.retrieval.sparse import KiwiSparseEncoder
from assistant.sessions.feedback import FeedbackStore
from assistant.sessions.ports import SessionStore
from assistant.sessions.sql_feedback import SqlFeedbackStore
from assistant.tracing.ports import Tracer


@dataclass
class Services:
    """Long-lived components shared by the CLI and the HTTP app. Close with ``aclose``."""

    settings: Settings
    clock: Clock
    index: VectorIndex
    analyzer: KiwiAnalyzer
    sparse: KiwiSparseEncoder
    embedder: DenseEmbedder | None
    http: httpx.AsyncClient
    sources: SourceResolver
    llm: LLMBackend
    tracer: Tracer  # Langfuse or none, guarded and metered; closed last (``Tracer.score`` for feedback)
    metrics: Metrics  # on its own registry, served at GET /metrics
    _stack: AsyncExitStack
    _answerers: dict[str, AnswerPipeline] = field(default_factory=dict)
    turn_timings: TurnTimingLog = field(default_factory=TurnTimingLog)
    _sessions: SessionStore | None = None
    _dialogue: CivicDialogueManager | None = None
    _dialogue_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _database: AsyncEngine | None = None
    _database_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _accounts: AccountStore | None = None
    _logins: LoginStore | None = None

    def retriever(self, collection: str | None = None, mode: SearchMode | None = None) -> HybridRetriever:
        section = self.settings.retrieval
        return HybridRetriever(
            index=self.index,
            sparse=self.sparse,
            embedder=self.embedder,
            collection=collection or self.settings.qdrant.collection,
            fusion=FusionSpec(
                method=section.fusion,
                rrf_k=section.rrf_k,
                weights=(section.dense_weight, section.sparse_weight),
            ),
            mode=mode or section.mode,
            prefetch_limit=section.prefetch_limit,
        )

    def ingest_pipeline(self, collection: str | None = None, *, dense: bool = True) -> IngestPipeline:
        name = collection or self.settings.qdrant.collection
        return IngestPipeline(
            collection=name,
            state_dir=self.settings.data_dir / "collections" / name,
            index=self.index,
            chunker=KoreanChunker(
                self.analyzer,
                max_chars=self.settings.chunking.max_chars,
                overlap_chars=self.settings.chunking.overlap_chars,
            ),
            sparse=self.sparse,
            embedder=self.embedder if dense else None,
            clock=self.clock,
            lock_timeout_s=self.settings.ingest.lock_timeout_s,
            batch_documents=self.settings.ingest.batch_documents,
        )

    async def answerer(self, collection: str | None = None) -> AnswerPipeline:
        """The grounded-answer pipeline for a collection; starts the LLM backend on first use (an
        embedded model that cannot start leaves the pipeline extractive, see ``LLMBackend``)."""
        name = collection or self.settings.qdrant.collection
        if name not in self._answerers:
            parts = AnswerComponents(
                index=self.index,
                collection=name,
                analyzer=self.analyzer,
                sparse=self.sparse,
                embedder=self.embedder,
                prompts=PromptLibrary(default_prompts_dir()),
                llm=await self.llm.client(),
                backend=self.llm.kind,
                tracer=self.tracer,
            )
            settings = self.settings
            self._answerers[name] = build_answer_pipeline(settings.answers, settings.retrieval, parts)
        return self._answerers[name]

    async def sessions(self) -> SessionStore:
        """The conversation store, opened on first use after migrating its tables (the HTTP app opens
        it at startup, so a bad database fails the start)."""
        async with self._dialogue_lock:
            if self._sessions is None:
                database = await self.database()
                self._sessions = await build_session_store(self.settings, self.clock, database, self._stack)
            return self._sessions

    async def dialogue(self) -> CivicDialogueManager:
        """The dialogue manager every channel calls, built on first use."""
        sessions = await self.sessions()
        async with self._dialogue_lock:
            if self._dialogue is None:
                self._dialogue = await build_dialogue(
                    self.settings,
                    sessions=sessions,
                    database=await self.database(),
                    answers=await self.answerer(),
                    clock=self.clock,
                    sample_dir=sample_knowledge_dir(),
                    observer=TurnObservers(self.turn_timings, TurnMetrics(self.metrics)),
                    tracer=self.tracer,
                )
            return self._dialogue

    async def database(self) -> AsyncEngine:
        """The service database (conversations, accounts, logins, feedback, case records), opened and
        migrated once on first use and shared by every SQL store."""
        async with self._database_lock:
            if self._database is None:
                self._database = await open_database(self.settings, self._stack)
            return self._database

    async def accounts(self) -> AccountStore:
        """Staff accounts (argon2id password hashes)."""
        database = await self.database()
        if self._accounts is None:
            self._accounts = build_accounts(database, self.clock)
        return self._accounts

    async def logins(self) -> LoginStore:
        """Staff logins (``accounts.login_ttl``, sliding)."""
        database = await self.database()
        if self._logins is None:
            self._logins = build_logins(self.settings, database, self.clock)
        return self._logins

    async def feedback(self) -> FeedbackStore:
        """Agents' ratings of copilot suggestions."""
        return SqlFeedbackStore(await self.database())

    @cached_property
    def login_throttle(self) -> LoginThrottle:
        """Failed logins per name, in this process (see ``LoginThrottle``)."""
        return build_login_throttle(self.settings, self.clock)

    async def retention_sweeper(self) -> RetentionSweeper:
        """The hourly retention sweep over every store, conversations included (start ``run_forever``
        as a task in the HTTP lifespan; cancel it before ``aclose``)."""
        return build_retention_sweeper(
            self.settings, await self.database(), self.clock, conversations=await self.sessions()
        )

    async def aclose(self) -> None:
        await self._stack.aclose()


def build_embedder(settings: Settings) -> DenseEmbedder | None:
    section = settings.embedding
    threads = section.threads or default_threads()
    match section.backend:
        case "none":
            return None
        case "e5":
            from assistant.retrieval.e5_embedder import E5Embedder

            return E5Embedder(threads=threads, batch_size=section.batch_size)
        case "sentence-transformers":
            from assistant.retrieval.st_embedder import SentenceTransformerEmbedder

            return SentenceTransformerEmbedder(
                section.model,
                device=section.device,
                batch_size=section.batch_size,
                query_prefix=section.query_prefix,
                passage_prefix=section.passage_prefix,
            )


async def build_index(settings: Settings, stack: AsyncExitStack) -> VectorIndex:
    section = settings.qdrant
    index: VectorIndex
    if section.url:
        from assistant.retrieval.qdrant_index import QdrantServerIndex

        index = QdrantServerIndex.connect(
            section.url,
            api_key=section.api_key.get_secret_value() if section.api_key else None,
            timeout_s=section.timeout_s,
        )
    else:
        from assistant.retrieval.edge_index import EdgeIndex

        index = EdgeIndex(settings.data_dir / "index")
    stack.push_async_callback(index.close)
    return index


async def build_services(
    settings: Settings, *, clock: Clock | None = None, env: Mapping[str, str] | None = None
) -> Services:
    """``env`` holds the Langfuse SDK's ``LANGFUSE_*`` variables (default: the process environment)."""
    stack = AsyncExitStack()
    clock = clock or SystemClock()
    metrics = Metrics(CollectorRegistry())
    tracer = build_app_tracer(settings, os.environ if env is None else env, metrics=metrics, clock=clock)
    stack.push_async_callback(tracer.aclose)  # first in, so closed last: after all that may trace
    index = await build_index(settings, stack)
    analyzer = KiwiAnalyzer(num_workers=os.cpu_count() or 2)  # C++ threads; ingest throughput
    http = httpx.AsyncClient(timeout=settings.seoul_openapi.timeout_s)
    stack.push_async_callback(http.aclose)
    llm = LLMBackend(settings.llm, data_dir=settings.data_dir, clock=clock)
    stack.push_async_callback(llm.aclose)
    return Services(
        settings=settings,
        clock=clock,
        index=index,
        analyzer=analyzer,
        sparse=KiwiSparseEncoder(analyzer),
        embedder=build_embedder(settings),
        http=http,
        sources=SourceResolver(settings, http, sample_dir=sample_knowledge_dir()),
        llm=llm,
        tracer=tracer,
        metrics=metrics,
        _stack=stack,
    )


def sample_knowledge_dir() -> Path:
    """The sample knowledge bundled with the package."""
    import connectors

    return Path(connectors.__file__).parent / "sample_knowledge"
