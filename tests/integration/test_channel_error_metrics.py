"""The composition root wires the app's ``Metrics`` into the Kakao boundaries and gives the embedded model
its short Kakao callback budget: ``create_app`` over real services whose conversation database is
unreachable (a closed port), so a dialogue turn fails where only the channel catches it."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from assistant.app.channel_mounts import kakao_callback_budget
from assistant.app.http import create_app
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from channels.kakao.simulator import build_skill_payload
from channels.kakao.wire_response import KakaoSkillResponse

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
async def services(tmp_path: Path) -> AsyncIterator[Services]:
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding={"backend": "none"},  # type: ignore[arg-type]
        retrieval={"mode": "lexical"},  # type: ignore[arg-type]
        llm={"backend": "none"},  # type: ignore[arg-type]
        database={"url": f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port()}/nowhere"},  # type: ignore[arg-type]
    )
    built = await build_services(settings, env={})
    try:
        yield built
    finally:
        await built.aclose()


async def errors_counted(http: httpx.AsyncClient) -> dict[str, float]:
    text = (await http.get("/metrics")).text
    return {
        sample.labels["type"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dasan_errors_total"
    }


async def test_a_kakao_turn_that_fails_outside_the_dialogue_reaches_dasan_errors_total(
    services: Services,
) -> None:
    """Building the dialogue fails (its database is down) before the dialogue could count anything:
    only the channel's boundary sees it. (The Twilio flow answers such a turn itself, without reaching
    its router's boundary; ``tests/unit/channels/twilio/test_twilio_boundary_errors.py`` covers that.)"""
    app = create_app(services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as http:
        before = await errors_counted(http)
        skill = await http.post(
            "/kakao/skill", json=build_skill_payload("여권은 어디서 만들어요?", bot_id="b", user_key="u")
        )
        after = await errors_counted(http)

    assert skill.status_code == 200
    response = KakaoSkillResponse.model_validate(skill.json())  # an apology, as a valid SkillResponse
    assert response.template is not None and "120" in skill.text
    assert before == {}
    assert after == {"kakao.ConnectionRefusedError": 1.0}


@pytest.mark.parametrize(
    ("llm", "embedded"),
    [
        ({"backend": "embedded"}, True),
        ({"backend": "remote", "base_url": "http://127.0.0.1:9/v1"}, False),
        ({"backend": "none"}, False),
        ({"backend": "embedded", "base_url": "http://127.0.0.1:9/v1"}, False),  # a base URL means remote
    ],
)
def test_only_the_embedded_model_gets_the_short_kakao_callback_budget(
    llm: dict[str, Any], embedded: bool
) -> None:
    settings = Settings(llm=llm)  # type: ignore[arg-type]
    short, usual = settings.kakao.embedded_callback_budget, settings.kakao.callback_reply_budget
    assert short < usual
    assert kakao_callback_budget(settings) == (short if embedded else usual)
