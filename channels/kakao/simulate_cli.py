"""`dasan simulate kakao`: chat with a running dasan server the way Kakao i Open Builder calls it."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Annotated

import httpx
import typer

from channels.kakao.simulator import CallbackReceiver, KakaoSimulator, SimulatedExchange, render

EXIT_FAILURE = 1


def register(app: typer.Typer) -> None:
    """Adds the ``kakao`` command to ``app`` (the ``simulate`` group of the dasan CLI)."""

    @app.command("kakao")
    def kakao(
        utterances: Annotated[
            list[str] | None,
            typer.Argument(help="What to say. Without it, lines are read from stdin (or typed)."),
        ] = None,
        url: Annotated[str, typer.Option(help="The dasan server's base URL.")] = "http://127.0.0.1:8000",
        bot_id: Annotated[
            str, typer.Option(help="bot.id of the payload (see DASAN_KAKAO__ALLOWED_BOT_IDS).")
        ] = ("dasan-simulator"),
        user_key: Annotated[
            str, typer.Option(help="userRequest.user.id (the botUserKey).")
        ] = "simulator-user",
        callback: Annotated[
            bool,
            typer.Option(
                help="Send a callbackUrl on 127.0.0.1 (the server must allow it: "
                "DASAN_KAKAO__CALLBACK_URL_PREFIXES=http://127.0.0.1)."
            ),
        ] = True,
        wait: Annotated[float, typer.Option(min=1, help="Seconds to wait for a callback.")] = 65.0,
        as_json: Annotated[
            bool, typer.Option("--json", help="Print each raw SkillResponse as JSON.")
        ] = False,
    ) -> None:
        """Send each line as a Kakao skill payload and print the reply, its links and quick replies."""
        lines = utterances if utterances else _stdin_lines()
        ok = asyncio.run(_chat(lines, url, bot_id, user_key, callback, timedelta(seconds=wait), as_json))
        if not ok:
            raise typer.Exit(EXIT_FAILURE)


async def _chat(
    lines: Iterable[str],
    url: str,
    bot_id: str,
    user_key: str,
    callback: bool,
    wait: timedelta,
    as_json: bool,
) -> bool:
    receiver = CallbackReceiver() if callback else None
    if receiver is not None:
        receiver.start()
    ok = True
    try:
        async with httpx.AsyncClient(trust_env=False) as http:
            simulator = KakaoSimulator(
                http, url, bot_id=bot_id, user_key=user_key, receiver=receiver, callback_timeout=wait
            )
            for line in lines:
                exchange = await simulator.ask(line)
                ok = ok and exchange.error is None
                _print(exchange, as_json)
    finally:
        if receiver is not None:
            receiver.stop()
    return ok


def _print(exchange: SimulatedExchange, as_json: bool) -> None:
    if as_json:
        body = exchange.response.to_json() if exchange.response is not None else None
        record = {"utterance": exchange.utterance, "mode": exchange.mode, "response": body}
        if exchange.error is not None:
            record["error"] = exchange.error
        sys.stdout.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        sys.stdout.write(f"> {exchange.utterance}\n" + "\n".join(render(exchange)) + "\n\n")
    sys.stdout.flush()


def _stdin_lines() -> Iterator[str]:
    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            sys.stdout.write("> ")
            sys.stdout.flush()
        line = sys.stdin.readline()
        if not line:
            return
        if line.strip():
            yield line.strip()
