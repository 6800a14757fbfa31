"""`dasan index status`: what each collection holds."""

from __future__ import annotations

import json
import sys
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from assistant.app.cli.runtime import run_with_services
from assistant.app.services import Services
from assistant.ingest.state import IngestState


def build() -> typer.Typer:
    app = typer.Typer(help="Inspect the index.", no_args_is_help=True)

    @app.command()
    def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
        """Collections, points, embedding model and the last ingest."""

        async def body(services: Services) -> list[dict[str, object]]:
            rows: list[dict[str, object]] = []
            for name in sorted(await services.index.collections()):
                live = await services.index.status(name)
                if live is None:
                    continue
                state_path = services.settings.data_dir / "collections" / name / "state.sqlite3"
                meta: dict[str, str] = {}
                documents = None
                if state_path.exists():
                    state = IngestState(state_path)
                    try:
                        meta = state.meta()
                        documents = state.counts()[0]
                    finally:
                        state.close()
                rows.append(
                    {
                        "collection": name,
                        "points": live.points,
                        "documents": documents,
                        "embedding_model": live.embedding_model,
                        "sparse_encoder": live.sparse_encoder,
                        "build_id": live.build_id,
                        "built_at": live.built_at.isoformat() if live.built_at else None,
                        "last_ingest_at": meta.get("last_ingest_at"),
                    }
                )
            return rows

        rows = run_with_services(body)
        if as_json:
            sys.stdout.write(json.dumps({"collections": rows}, ensure_ascii=False) + "\n")
            return
        console = Console()
        if not rows:
            console.print("no collections yet; run `dasan ingest sample`")
            return
        table = Table(show_header=True)
        for column in ("collection", "points", "documents", "embedding_model", "built_at", "last_ingest_at"):
            table.add_column(column)
        for row in rows:
            table.add_row(
                *(
                    str(row[c]) if row[c] is not None else "-"
                    for c in (
                        "collection",
                        "points",
                        "documents",
                        "embedding_model",
                        "built_at",
                        "last_ingest_at",
                    )
                )
            )
        console.print(table)

    return app
