"""`dasan simulate kakao|phone`: hold a conversation with a running server through a channel protocol."""

from __future__ import annotations

import typer

from channels.kakao import simulate_cli as kakao_simulate
from channels.twilio import simulate_cli as phone_simulate


def build() -> typer.Typer:
    app = typer.Typer(
        help="Simulate a KakaoTalk user or a phone caller against a running `dasan serve`.",
        no_args_is_help=True,
    )
    kakao_simulate.register(app)
    phone_simulate.register(app)
    return app
