"""`dasan serve`: run the HTTP service."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer
import uvicorn

from assistant.app.cli.runtime import configure_logging, fail
from assistant.app.http import create_app
from assistant.app.services import build_services
from assistant.app.settings import Settings, load_settings
from assistant.core.errors import DasanError


async def serve(settings: Settings, host: str, port: int) -> None:
    services = await build_services(settings)
    try:
        app = create_app(services, owns_services=True)  # closed in the lifespan, also on SIGTERM
        config = uvicorn.Config(app, host=host, port=port, log_level=settings.log_level.lower())
        await uvicorn.Server(config).serve()
    finally:
        await services.aclose()  # a no-op after the lifespan closed them; covers a failed start


def register(app: typer.Typer) -> None:
    @app.command(name="serve")
    def serve_command(
        host: Annotated[str | None, typer.Option(help="Bind address (default 127.0.0.1).")] = None,
        port: Annotated[int | None, typer.Option(help="Port (default 8000).", min=1, max=65535)] = None,
    ) -> None:
        """Serve the API on HOST:PORT."""
        try:
            settings = load_settings()
            configure_logging(settings)
            asyncio.run(serve(settings, host or settings.server.host, port or settings.server.port))
        except DasanError as exc:
            raise fail(str(exc)) from exc
