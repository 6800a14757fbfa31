"""`dasan search`: hybrid search from the command line, one JSON line per query with --json."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from typing import Annotated, Any, Protocol

import httpx
import typer
from rich.console import Console

from assistant.app.cli.runtime import EXIT_USAGE, fail, run_with_services
from assistant.app.services import Services
from assistant.core.errors import IndexLocked, RetrievalError
from assistant.core.knowledge import Chunk, ChunkId, DocumentId, ScoredChunk
from assistant.retrieval.ports import SearchMode
from assistant.retrieval.retriever import HybridRetriever


def parse_filters(values: list[str]) -> dict[str, str]:
    filters: dict[str, str] = {}
    for item in values:
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise fail(f"--filter expects key=value, got '{item}'", EXIT_USAGE)
        filters[key.strip()] = value.strip()
    return filters


def result_json(query: str, hits: list[ScoredChunk]) -> dict[str, object]:
    return {
        "query": query,
        "results": [
            {
                "rank": rank,
                "score": round(hit.score, 6),
                "chunk_id": hit.chunk.chunk_id,
                "document_id": hit.chunk.document_id,
                "title": hit.chunk.title,
                "source": hit.chunk.source,
                "url": hit.chunk.url,
                "text": hit.chunk.text,
                "metadata": {
                    "section": hit.chunk.section,
                    "category": hit.chunk.category,
                    "updated_at": hit.chunk.updated_at.isoformat() if hit.chunk.updated_at else None,
                    **hit.chunk.metadata,
                },
            }
            for rank, hit in enumerate(hits, start=1)
        ],
    }


def register(app: typer.Typer) -> None:
    @app.command()
    def search(
        query: Annotated[
            str | None,
            typer.Argument(help="The question. Without it, queries are read from stdin, one a line."),
        ] = None,
        k: Annotated[int, typer.Option("-k", "--top-k", min=1, max=100, help="Results per query.")] = 5,
        filter_: Annotated[
            list[str] | None,
            typer.Option("--filter", help="key=value on source, category, district or metadata; repeatable."),
        ] = None,
        collection: Annotated[str | None, typer.Option(help="Collection (default: settings).")] = None,
        mode: Annotated[SearchMode | None, typer.Option(help="hybrid, dense or lexical.")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per query.")] = False,
    ) -> None:
        """Search the knowledge base. ``score`` is the fused score; higher is better."""
        filters = parse_filters(filter_ or [])
        if query is not None and not query.strip():
            raise fail("the query is empty", EXIT_USAGE)
        queries = [query] if query is not None else None

        async def body(services: Services) -> None:
            searcher: Searcher = LocalSearcher(services.retriever(collection, mode))
            console = Console(highlight=False)
            for text in queries if queries is not None else _stdin_lines():
                try:
                    hits = await searcher.search(text, k, filters)
                except IndexLocked:
                    # The embedded shard belongs to a running `dasan serve`: ask it instead.
                    searcher = ServerSearcher(services.http, _server_url(services), collection, mode)
                    hits = await searcher.search(text, k, filters)
                if as_json:
                    sys.stdout.write(json.dumps(result_json(text, hits), ensure_ascii=False) + "\n")
                    sys.stdout.flush()
                else:
                    _print_human(console, text, hits)

        run_with_services(body)


class Searcher(Protocol):
    async def search(self, query: str, k: int, filters: dict[str, str]) -> list[ScoredChunk]: ...


class LocalSearcher:
    """Searches the index in this process."""

    def __init__(self, retriever: HybridRetriever) -> None:
        self._retriever = retriever

    async def search(self, query: str, k: int, filters: dict[str, str]) -> list[ScoredChunk]:
        return await self._retriever.retrieve(query, k=k, filters=filters)


class ServerSearcher:
    """Searches through a running ``dasan serve`` (which owns the embedded shard)."""

    def __init__(
        self, http: httpx.AsyncClient, base_url: str, collection: str | None, mode: SearchMode | None
    ) -> None:
        self._http = http
        self._base_url = base_url
        self._collection = collection
        self._mode = mode

    async def search(self, query: str, k: int, filters: dict[str, str]) -> list[ScoredChunk]:
        body = {
            "query": query,
            "k": k,
            "filters": filters,
            "mode": self._mode,
            "collection": self._collection,
        }
        try:
            response = await self._http.post(f"{self._base_url}/v1/search", json=body)
        except httpx.HTTPError as exc:
            raise RetrievalError(
                f"the index is open in another process, and no dasan server answers at {self._base_url} "
                f"({type(exc).__name__}); stop that process or start `dasan serve`"
            ) from exc
        if response.status_code != 200:
            raise RetrievalError(
                f"the server at {self._base_url} answered {response.status_code}: {response.text}"
            )
        return [_hit_from_json(item) for item in response.json()["results"]]


def _hit_from_json(item: dict[str, Any]) -> ScoredChunk:
    metadata = {
        k: str(v) for k, v in (item.get("metadata") or {}).items() if v is not None and k != "category"
    }
    chunk = Chunk(
        chunk_id=ChunkId(item["chunk_id"]),
        document_id=DocumentId(item["document_id"]),
        ordinal=0,
        source=item["source"],
        title=item["title"],
        section=item.get("section") or "",
        text=item["text"],
        url=item.get("url"),
        category=(item.get("metadata") or {}).get("category"),
        metadata=metadata,
    )
    return ScoredChunk(chunk=chunk, score=float(item["score"]))


def _server_url(services: Services) -> str:
    host = services.settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{services.settings.server.port}"


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()


def _print_human(console: Console, query: str, hits: list[ScoredChunk]) -> None:
    console.print(f"[bold]{query}[/bold]", markup=True)
    if not hits:
        console.print("  (no results)")
    for rank, hit in enumerate(hits, start=1):
        chunk = hit.chunk
        heading = " > ".join(p for p in (chunk.title, chunk.section) if p)
        console.print(f"  {rank}. [{hit.score:.3f}] {heading}  ({chunk.source})", markup=False)
        snippet = chunk.text.replace("\n", " ")
        console.print(f"     {snippet[:160]}{'…' if len(snippet) > 160 else ''}", markup=False)
        if chunk.url:
            console.print(f"     {chunk.url}", markup=False)
