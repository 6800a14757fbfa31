"""The HTTP app: health, readiness, the JSON search API, the chat API and the citizen chat page at ``/``.
Built by ``create_app(services)``."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any, Literal

from fastapi import FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, Field

from assistant.answering.answer import HistoryTurn
from assistant.app.answer_json import answer_json
from assistant.app.channel_mounts import mount_channels
from assistant.app.chat_api import build_chat_router, chat_lifespan
from assistant.app.metrics import metrics_endpoint
from assistant.app.services import Services
from assistant.core.errors import DasanError, IndexMismatch, InvalidInbound, RetrievalError
from assistant.core.knowledge import ScoredChunk
from assistant.retrieval.ports import SearchMode
from channels.web.router import OpenedOnUse, build_web_router


class SearchRequest(BaseModel):
    query: str = Field(min_length=1, max_length=2000)
    k: int = Field(default=5, ge=1, le=100)
    filters: dict[str, str] = Field(default_factory=dict)
    mode: SearchMode | None = None
    collection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class AskTurn(BaseModel):
    role: Literal["user", "assistant"]
    text: str = Field(min_length=1, max_length=4000)


class AskRequest(BaseModel):
    question: str = Field(min_length=1, max_length=2000)
    history: list[AskTurn] = Field(default_factory=list, max_length=20)
    spoken: bool = False
    deadline_s: float | None = Field(default=None, gt=0, le=600)
    collection: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$")


class SearchHit(BaseModel):
    rank: int
    score: float
    chunk_id: str
    document_id: str
    title: str
    section: str
    source: str
    url: str | None
    text: str
    metadata: dict[str, Any]


class SearchResponse(BaseModel):
    query: str
    results: list[SearchHit]


def _hits(hits: list[ScoredChunk]) -> list[SearchHit]:
    return [
        SearchHit(
            rank=rank,
            score=hit.score,
            chunk_id=hit.chunk.chunk_id,
            document_id=hit.chunk.document_id,
            title=hit.chunk.title,
            section=hit.chunk.section,
            source=hit.chunk.source,
            url=hit.chunk.url,
            text=hit.chunk.text,
            metadata={"category": hit.chunk.category, **hit.chunk.metadata},
        )
        for rank, hit in enumerate(hits, start=1)
    ]


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse(status_code=status, content={"error": {"code": code, "message": message}})


def create_app(services: Services, *, owns_services: bool = False) -> FastAPI:
    """The FastAPI app over already-built services: the caller closes them, unless ``owns_services``
    (then the app closes them at shutdown)."""
    app = FastAPI(
        title="dasan",
        description="Korean-first civic assistant API",
        version="0.1.0",
        lifespan=chat_lifespan(services, owns_services=owns_services),
    )
    app.include_router(build_chat_router(services))
    app.include_router(build_web_router(OpenedOnUse(services.sessions)))  # the chat page at /
    mount_channels(app, services)
    retriever = services.retriever()

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        first = exc.errors()[0] if exc.errors() else {"loc": (), "msg": "invalid request"}
        where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
        return _error(
            422, "invalid_request", f"{where}: {first.get('msg')}" if where else str(first.get("msg"))
        )

    @app.exception_handler(InvalidInbound)
    async def _invalid(_: Request, exc: InvalidInbound) -> JSONResponse:
        return _error(400, "invalid_request", str(exc))

    @app.exception_handler(IndexMismatch)
    async def _mismatch(_: Request, exc: IndexMismatch) -> JSONResponse:
        return _error(503, "index_mismatch", str(exc))

    @app.exception_handler(RetrievalError)
    async def _retrieval(_: Request, exc: RetrievalError) -> JSONResponse:
        return _error(503, "retrieval_unavailable", str(exc))

    @app.exception_handler(DasanError)
    async def _dasan(_: Request, exc: DasanError) -> JSONResponse:
        return _error(500, "internal_error", type(exc).__name__)

    @app.get("/metrics", tags=["operations"], response_class=Response)
    async def metrics() -> Response:
        """Prometheus metrics (text exposition format); labels carry no conversation, user or text."""
        return metrics_endpoint(services.metrics.registry)

    @app.get("/healthz", tags=["operations"])
    async def healthz() -> dict[str, str]:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["operations"])
    async def readyz() -> JSONResponse:
        """200 when every required dependency is up, else 503."""
        checks: dict[str, dict[str, Any]] = {}
        collection = retriever.collection
        try:
            status = await services.index.status(collection)
            checks["index"] = (
                {"ok": True, "detail": f"{collection}: {status.points} points, build {status.build_id}"}
                if status
                else {"ok": False, "detail": f"collection '{collection}' not built; run dasan ingest"}
            )
        except DasanError as exc:
            checks["index"] = {"ok": False, "detail": str(exc)}
        embedder = services.embedder
        checks["embedder"] = {
            "ok": True,
            "detail": embedder.model_id if embedder else "disabled (lexical only)",
        }
        llm = services.llm.status()  # not required: without a model, answers are extractive
        checks["llm"] = {
            "ok": llm.state != "failed",
            "required": False,
            "detail": f"{llm.kind} {llm.state}: {llm.detail}",
        }
        ok = all(check["ok"] for check in checks.values() if check.get("required", True))
        return JSONResponse(
            status_code=200 if ok else 503,
            content={"status": "ok" if ok else "unavailable", "checks": checks},
        )

    @app.post("/v1/ask", tags=["knowledge"])
    async def ask(body: AskRequest) -> dict[str, Any]:
        """A grounded answer: ``{"answer", "mode", "citations", "latency_ms", "prompt_version"}``."""
        pipeline = await services.answerer(body.collection)
        seconds = body.deadline_s or services.settings.answers.deadline_s
        answer = await pipeline.answer(
            body.question,
            history=[HistoryTurn(turn.role, turn.text) for turn in body.history],
            spoken=body.spoken,
            deadline=timedelta(seconds=seconds),
        )
        return answer_json(answer)

    @app.get("/v1/search", response_model=SearchResponse, tags=["knowledge"])
    async def search_get(
        q: Annotated[str, Query(min_length=1, max_length=2000, description="The question")],
        k: Annotated[int, Query(ge=1, le=100)] = 5,
        filter_: Annotated[list[str] | None, Query(alias="filter", description="key=value")] = None,
    ) -> SearchResponse:
        filters: dict[str, str] = {}
        for item in filter_ or []:
            key, sep, value = item.partition("=")
            if not sep or not key or not value:
                raise InvalidInbound(f"filter must be key=value, got '{item}'")
            filters[key] = value
        hits = await retriever.retrieve(q, k=k, filters=filters)
        return SearchResponse(query=q, results=_hits(hits))

    @app.post("/v1/search", response_model=SearchResponse, tags=["knowledge"])
    async def search_post(body: SearchRequest) -> SearchResponse:
        chosen = (
            retriever
            if body.collection in (None, retriever.collection)
            else services.retriever(body.collection)
        )
        hits = await chosen.retrieve(body.query, k=body.k, filters=body.filters, mode=body.mode)
        return SearchResponse(query=body.query, results=_hits(hits))

    return app
