"""The `dasan` command line. Exit codes: 0 ok, 1 failure, 2 usage error."""

from __future__ import annotations

import typer

from assistant.app.cli import config_cmd, index_cmd, ingest_cmd, prompts_cmd, search_cmd, serve_cmd


def build_app() -> typer.Typer:
    app = typer.Typer(
        name="dasan",
        help="dasan: a self-hostable, Korean-first civic assistant.",
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
    )
    ingest_cmd.register(app)
    search_cmd.register(app)
    serve_cmd.register(app)
    app.add_typer(index_cmd.build(), name="index")
    app.add_typer(config_cmd.build(), name="config")
    app.add_typer(prompts_cmd.build(), name="prompts")
    return app


def main() -> None:
    """Entry point of the ``dasan`` console script (typer maps usage errors to exit code 2)."""
    build_app()()
