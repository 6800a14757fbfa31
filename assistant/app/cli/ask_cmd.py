"""`dasan ask`: grounded answers from the command line (verified, extractive or an honest abstention)."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from datetime import timedelta
from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from assistant.answering.answer import AnswerDelta
from assistant.answering.pipeline import AnswerPipeline
from assistant.app.answer_json import answer_json
from assistant.app.cli.runtime import EXIT_USAGE, fail, run_with_services
from assistant.app.services import Services
from assistant.core.errors import IndexLocked, RetrievalError

_MODE_LABELS = {"llm": "검증된 생성 답변", "extractive": "자료 발췌 답변", "abstain": "답변 보류"}


def register(app: typer.Typer) -> None:
    @app.command()
    def ask(
        question: Annotated[
            str | None,
            typer.Argument(help="The question. Without it, questions are read from stdin, one a line."),
        ] = None,
        as_json: Annotated[bool, typer.Option("--json", help="One JSON object per question.")] = False,
        stream: Annotated[
            bool, typer.Option("--stream", help="Print verified text as it comes (JSON lines with --json).")
        ] = False,
        spoken: Annotated[
            bool, typer.Option("--spoken", help="Answer for the phone (short, no symbols).")
        ] = False,
        deadline: Annotated[
            float | None, typer.Option(min=0.0, help="Seconds for the whole answer (default: settings).")
        ] = None,
        collection: Annotated[str | None, typer.Option(help="Collection (default: settings).")] = None,
    ) -> None:
        """Answer a question from the knowledge base, citing each source by number."""
        if question is not None and not question.strip():
            raise fail("the question is empty", EXIT_USAGE)
        questions = [question.strip()] if question is not None else None

        async def body(services: Services) -> None:
            pipeline = await services.answerer(collection)
            budget = timedelta(
                seconds=deadline if deadline is not None else services.settings.answers.deadline_s
            )
            console = Console(highlight=False)
            server: ServerAsker | None = None
            for text in questions if questions is not None else _stdin_lines():
                if server is None:
                    try:
                        if stream:
                            await _stream_one(pipeline, text, spoken, budget, as_json, console)
                            continue
                        payload = answer_json(await pipeline.answer(text, spoken=spoken, deadline=budget))
                    except IndexLocked:
                        # The embedded shard belongs to a running `dasan serve`: ask it instead.
                        server = ServerAsker(services, collection)
                if server is not None:
                    payload = await server.ask(text, spoken, budget)
                    if stream and as_json:
                        _write_json({"delta": payload["answer"]})
                if as_json:
                    _write_json(payload)
                else:
                    console.print(payload["answer"], markup=False)
                    _print_sources(console, payload)

        run_with_services(body)


class ServerAsker:
    """Asks a running ``dasan serve`` (which owns the embedded shard) through ``POST /v1/ask``."""

    def __init__(self, services: Services, collection: str | None) -> None:
        self._http = services.http
        self._url = f"{_server_url(services)}/v1/ask"
        self._collection = collection

    async def ask(self, question: str, spoken: bool, budget: timedelta) -> dict[str, Any]:
        body = {
            "question": question,
            "spoken": spoken,
            "deadline_s": budget.total_seconds(),
            "collection": self._collection,
        }
        try:
            response = await self._http.post(self._url, json=body, timeout=budget.total_seconds() + 10)
        except httpx.HTTPError as exc:
            raise RetrievalError(
                f"the index is open in another process, and no dasan server answers at {self._url} "
                f"({type(exc).__name__}); stop that process or start `dasan serve`"
            ) from exc
        if response.status_code != 200:
            raise RetrievalError(
                f"the server at {self._url} answered {response.status_code}: {response.text}"
            )
        payload: dict[str, Any] = response.json()
        return payload


async def _stream_one(
    pipeline: AnswerPipeline, question: str, spoken: bool, budget: timedelta, as_json: bool, console: Console
) -> None:
    async for item in pipeline.stream(question, spoken=spoken, deadline=budget):
        if isinstance(item, AnswerDelta):
            if as_json:
                _write_json({"delta": item.text})
            else:
                sys.stdout.write(item.text)
                sys.stdout.flush()
        elif as_json:
            _write_json(answer_json(item))
        else:
            sys.stdout.write("\n")
            _print_sources(console, answer_json(item))


def _print_sources(console: Console, payload: dict[str, Any]) -> None:
    console.print(f"({_MODE_LABELS[payload['mode']]})", style="dim", markup=False)
    if payload["citations"]:
        console.print("출처:", markup=False)
    for citation in payload["citations"]:
        where = f" {citation['url']}" if citation["url"] else ""
        console.print(f"  [{citation['n']}] {citation['title']} ({citation['source']}){where}", markup=False)
    console.print("")


def _server_url(services: Services) -> str:
    host = services.settings.server.host
    host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host
    return f"http://{host}:{services.settings.server.port}"


def _write_json(payload: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(payload, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def _stdin_lines() -> Iterator[str]:
    for line in sys.stdin:
        if line.strip():
            yield line.strip()
