"""Shared plumbing for CLI commands: settings, services, error reporting and exit codes."""

from __future__ import annotations

import asyncio
import logging
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

import typer

from assistant.app.services import Services, build_services
from assistant.app.settings import Settings, load_settings
from assistant.app.sources import SourceSpecError
from assistant.core.errors import DasanError

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2


def fail(message: str, code: int = EXIT_FAILURE) -> typer.Exit:
    sys.stderr.write(f"dasan: error: {message}\n")
    return typer.Exit(code)


def configure_logging(settings: Settings) -> None:
    """Log to stderr; httpx logs full URLs (which can carry API keys) at INFO, so keep it at WARNING."""
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)


def run_with_services(body: Callable[[Services], Awaitable[T]]) -> T:
    """Load settings, build services, run ``body``, close services; map our errors to exit codes."""

    async def go(settings: Settings) -> T:
        services = await build_services(settings)
        try:
            return await body(services)
        finally:
            await services.aclose()

    try:
        settings = load_settings()
        configure_logging(settings)
        return asyncio.run(go(settings))
    except SourceSpecError as exc:
        raise fail(str(exc), EXIT_USAGE) from exc
    except DasanError as exc:
        raise fail(str(exc)) from exc
    except KeyboardInterrupt as exc:
        raise fail("interrupted") from exc
