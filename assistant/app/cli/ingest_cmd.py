"""`dasan ingest`: load sources into a collection, incrementally and resumably."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from assistant.app.cli.runtime import EXIT_FAILURE, run_with_services
from assistant.app.services import Services
from assistant.core.knowledge import SourceProblem
from assistant.ingest.pipeline import IngestReport


class RichProgress:
    """Renders ingest progress on stderr and prints each problem as it happens."""

    def __init__(self, console: Console) -> None:
        self._console = console
        self._progress = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: TaskID | None = None

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._close_task()
        self._progress.stop()

    def phase(self, name: str, total: int | None) -> None:
        self._close_task()
        self._task = self._progress.add_task(name, total=total)

    def advance(self, amount: int) -> None:
        if self._task is not None:
            self._progress.advance(self._task, amount)

    def _close_task(self) -> None:
        if self._task is None:
            return
        task = next(t for t in self._progress.tasks if t.id == self._task)
        self._progress.update(self._task, total=task.completed if task.total is None else task.total)
        self._progress.stop_task(self._task)
        self._task = None

    def problem(self, problem: SourceProblem) -> None:
        self._console.print(f"[yellow]skipped[/yellow] {problem}", markup=True, highlight=False)


def register(app: typer.Typer) -> None:
    @app.command()
    def ingest(
        sources: Annotated[
            list[str],
            typer.Argument(
                help="Paths (file or folder), 'seoul-openapi:SERVICE', or 'sample' (bundled knowledge).",
                show_default=False,
            ),
        ],
        collection: Annotated[str | None, typer.Option(help="Collection name (default: settings).")] = None,
        no_dense: Annotated[bool, typer.Option("--no-dense", help="Lexical-only: no dense vectors.")] = False,
        mapping: Annotated[
            Path | None, typer.Option(help="YAML/TOML column mapping file for tables.", exists=True)
        ] = None,
        recreate: Annotated[
            bool, typer.Option(help="Drop the collection's state if its models differ, and rebuild.")
        ] = False,
        strict: Annotated[bool, typer.Option(help="Exit 1 when any file or row was skipped.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print the summary as JSON.")] = False,
    ) -> None:
        """Index documents: unchanged ones are skipped, changed replaced, missing deleted."""
        console = Console(stderr=True)

        async def body(services: Services) -> IngestReport:
            connectors = [services.sources.resolve(s, mapping_file=mapping) for s in sources]
            pipeline = services.ingest_pipeline(collection, dense=not no_dense)
            with RichProgress(console) as progress:
                return await pipeline.run(connectors, progress, recreate=recreate)

        report = run_with_services(body)
        if as_json:
            sys.stdout.write(json.dumps(report_json(report), ensure_ascii=False) + "\n")
        else:
            print_report(Console(), report)
        if strict and report.problems:
            raise typer.Exit(EXIT_FAILURE)


def report_json(report: IngestReport) -> dict[str, object]:
    return {
        "collection": report.collection,
        "documents": report.documents,
        "new": report.new,
        "changed": report.changed,
        "skipped": report.skipped,
        "deleted": report.deleted,
        "chunks": report.chunks,
        "embedded": report.embedded,
        "failed": report.failed,
        "problems": [{"location": p.location, "row": p.row, "reason": p.reason} for p in report.problems],
        "rebuilt": report.rebuilt,
        "points": report.points,
        "build_id": report.build_id,
        "seconds": round(report.seconds, 3),
    }


def print_report(console: Console, report: IngestReport) -> None:
    table = Table(title=f"ingest into '{report.collection}'", show_header=True)
    for name in (
        "documents",
        "new",
        "changed",
        "unchanged",
        "deleted",
        "chunks",
        "failed",
        "points",
        "seconds",
    ):
        table.add_column(name, justify="right")
    table.add_row(
        str(report.documents),
        str(report.new),
        str(report.changed),
        str(report.skipped),
        str(report.deleted),
        str(report.chunks),
        str(report.failed),
        str(report.points),
        f"{report.seconds:.1f}",
    )
    console.print(table)
    if report.problems:
        console.print(f"{report.failed} input(s) skipped:")
        for problem in report.problems[:50]:
            console.print(f"  {problem}", highlight=False, markup=False)
        if report.failed > 50:
            console.print(f"  … and {report.failed - 50} more (use --json for all)")
    console.print("index rebuilt" if report.rebuilt else "index already up to date")
