"""``dasan simulate phone``: talk to a running server as a Twilio caller would, one line per turn."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Annotated

import httpx
import typer
from pydantic import SecretStr

from channels.twilio.config import resolve_auth_token
from channels.twilio.simulator import Heard, PhoneSimulator, SimulatorError

_KEYS = set("0123456789*#")

HELP = (
    "Type what the caller says, one line per turn. An empty line is silence; a line of only "
    "0-9, * or # is pressed as keys (0: agent, *: repeat); /quit or end of input hangs up."
)


def _show(heard: Heard) -> None:
    for kind, detail in heard.events:
        match kind:
            case "say":
                typer.echo(f"assistant: {detail}")
            case "pause":
                typer.echo(f"(pause {detail}s)")
            case "dial":
                typer.echo(f"(dial {detail})")
            case "enqueue":
                typer.echo(f"(enqueue in {detail})")
            case "hangup":
                typer.echo("(the assistant hung up)")
            case "listen":
                pass


async def _play(simulator: PhoneSimulator, prompt: bool) -> int:
    turns = 0
    heard = await simulator.call()
    _show(heard)
    while heard.listening:
        if prompt:
            typer.echo("caller> ", nl=False)
        line = await asyncio.to_thread(sys.stdin.readline)
        if not line or line.strip() == "/quit":
            break
        text = line.strip()
        turns += 1
        heard = await (simulator.press(text) if text and set(text) <= _KEYS else simulator.say(text))
        _show(heard)
    await simulator.hang_up(duration_s=turns * 10)
    typer.echo(f"(call {simulator.call_sid} ended after {turns} caller turns)")
    return turns


async def simulate_call(
    url: str, token: SecretStr, public_url: str | None, caller: str, prompt: bool, timeout_s: float
) -> int:
    async with httpx.AsyncClient(timeout=timeout_s) as http:
        simulator = PhoneSimulator(
            http, url, token, public_url=public_url, caller=caller, pause=asyncio.sleep
        )
        return await _play(simulator, prompt)


def register(app: typer.Typer) -> None:
    """Adds the ``phone`` command to ``app`` (the lead mounts it as ``dasan simulate phone``)."""

    @app.command("phone", help=HELP)
    def phone(
        url: Annotated[str, typer.Option(help="where the dasan server listens")] = "http://127.0.0.1:8000",
        data_dir: Annotated[
            Path, typer.Option(envvar="DASAN_DATA_DIR", help="holds the development auth token")
        ] = Path("data"),
        auth_token: Annotated[
            str | None,
            typer.Option(envvar="DASAN_TWILIO__AUTH_TOKEN", help="default: the data dir's dev token"),
        ] = None,
        public_url: Annotated[
            str | None,
            typer.Option(envvar="DASAN_TWILIO__PUBLIC_BASE_URL", help="the URL the server signs against"),
        ] = None,
        caller: Annotated[str, typer.Option(help="the caller's number (From)")] = "+821012345678",
        timeout_s: Annotated[float, typer.Option(help="per request")] = 30.0,
    ) -> None:
        token = resolve_auth_token(SecretStr(auth_token) if auth_token else None, data_dir.expanduser())
        typer.echo(f"calling {url} ({HELP})")
        try:
            asyncio.run(simulate_call(url, token, public_url, caller, sys.stdin.isatty(), timeout_s))
        except SimulatorError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from exc
        except httpx.HTTPError as exc:
            typer.echo(f"error: cannot reach {url}: {type(exc).__name__}", err=True)
            raise typer.Exit(1) from exc
