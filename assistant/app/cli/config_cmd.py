"""`dasan config show`: the resolved configuration, secrets masked."""

from __future__ import annotations

import json
import sys

import typer

from assistant.app.cli.runtime import fail
from assistant.app.settings import load_settings
from assistant.core.errors import ConfigurationError


def build() -> typer.Typer:
    app = typer.Typer(help="Inspect configuration.", no_args_is_help=True)

    @app.command()
    def show() -> None:
        """Print the resolved settings as JSON (secrets shown as **********)."""
        try:
            settings = load_settings()
        except ConfigurationError as exc:
            raise fail(str(exc)) from exc
        sys.stdout.write(json.dumps(settings.model_dump(mode="json"), ensure_ascii=False, indent=2) + "\n")

    return app
