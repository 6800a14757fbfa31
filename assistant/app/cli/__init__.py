"""The `dasan` command line. Exit codes: 0 ok, 1 failure, 2 usage error."""

from __future__ import annotations

import typer

from assistant.app.cli import (
    ask_cmd,
    config_cmd,
    eval_cmd,
    index_cmd,
    ingest_cmd,
    llm_cmd,
    prompts_cmd,
    search_cmd,
    serve_cmd,
    sessions_cmd,
    simulate_cmd,
    users_cmd,
)


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
    ask_cmd.register(app)
    serve_cmd.register(app)
    app.add_typer(index_cmd.build(), name="index")
    app.add_typer(config_cmd.build(), name="config")
    app.add_typer(prompts_cmd.build(), name="prompts")
    app.add_typer(eval_cmd.build(), name="eval")
    app.add_typer(sessions_cmd.build(), name="sessions")
    app.add_typer(llm_cmd.build(), name="llm")
    app.add_typer(simulate_cmd.build(), name="simulate")
    app.add_typer(users_cmd.build(), name="users")
    return app


def main() -> None:
    """Entry point of the ``dasan`` console script (typer maps usage errors to exit code 2)."""
    build_app()()
