"""The phone channel of ``create_app`` recognises emergencies of the configured safety rulebook
(``DASAN_SAFETY__RULES_PATH``), not only the bundled one: a custom rulebook's emergency phrase gets its
guidance spoken and the call transferred to the emergency line. Real services (no model, no index
needed: the safety screen answers first), requests signed through Twilio's ``RequestValidator``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from assistant.app.http import create_app
from assistant.app.services import build_services
from assistant.app.settings import Settings
from assistant.dialogue.safety_rulebook import load_safety_rulebook
from channels.twilio.spoken import ear_sentences
from tests.unit.channels.twilio.twilio_channel_doubles import parse_twiml, spoken, verbs

pytestmark = pytest.mark.anyio

TOKEN = SecretStr("c" * 32)
CALL_SID = "CA" + "7" * 32
AGENT = "+8227000120"
EMERGENCY_LINE = "+8225550119"
GUIDANCE = (
    "멧돼지를 마주치면 등을 보이지 말고 천천히 물러나 건물 안으로 피하세요. "
    "안전한 곳에 가면 119에 신고해 주세요."
)
RULES = f"""\
version: 1
spoken_numbers:
  "119": "일일구"
categories:
  - name: wild_boar
    kind: emergency
    guidance: >-
      {GUIDANCE}
    patterns:
      - "멧돼지(가|를)?(나타|나왔|봤|보여|출몰|있어)"
injection:
  guidance: 그 요청은 도와드릴 수 없어요.
  categories:
    - name: prompt_leak
      patterns:
        - "시스템(프롬프트|지시)"
"""
SAID = "집 앞 골목에 멧돼지가 나타났어요"


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
async def phone(tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    rules = tmp_path / "safety_rules.yaml"
    rules.write_text(RULES, encoding="utf-8")
    settings = Settings(
        data_dir=tmp_path / "data",
        embedding={"backend": "none"},  # type: ignore[arg-type]
        retrieval={"mode": "lexical"},  # type: ignore[arg-type]
        llm={"backend": "none"},  # type: ignore[arg-type]
        database={"url": f"sqlite+aiosqlite:///{tmp_path / 'dasan.sqlite3'}"},  # type: ignore[arg-type]
        safety={"rules_path": rules},  # type: ignore[arg-type]
        twilio={  # type: ignore[arg-type]
            "auth_token": TOKEN.get_secret_value(),
            "agent_number": AGENT,
            "emergency_transfer_number": EMERGENCY_LINE,
        },
    )
    services = await build_services(settings, env={})
    transport = httpx.ASGITransport(app=create_app(services), client=("203.0.113.9", 44321))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client
    finally:
        await services.aclose()


async def post(client: httpx.AsyncClient, path: str, fields: dict[str, str]) -> str:
    params = {
        "CallSid": CALL_SID,
        "AccountSid": "AC" + "0" * 32,
        "From": "+821012345678",
        "To": "+8221200120",
    }
    params.update(fields)
    signature = RequestValidator(TOKEN.get_secret_value()).compute_signature(
        "http://testserver" + path, params
    )
    response = await client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200, response.text
    return response.text


def test_the_phrase_is_not_an_emergency_of_the_bundled_rulebook() -> None:
    """Otherwise the test below could pass with the bundled detector."""
    bundled = load_safety_rulebook()
    assert not any(GUIDANCE.split(".", maxsplit=1)[0] in category.guidance for category in bundled.categories)


async def test_a_custom_rulebooks_emergency_phrase_gets_its_guidance_and_the_emergency_line(
    phone: httpx.AsyncClient,
) -> None:
    await post(phone, "/twilio/voice/incoming", {"Direction": "inbound"})
    twiml = await post(phone, "/twilio/voice/gather", {"SpeechResult": SAID, "Confidence": "0.92"})
    root = parse_twiml(twiml)
    assert verbs(root) == ["Say", "Dial"]
    said = " ".join(spoken(root))
    for sentence in ear_sentences(GUIDANCE.replace("119", "일일구"), 1000):
        assert sentence in said
    assert said.endswith("지금 긴급 상담 전화로 연결해 드릴게요.")
    assert (root.find("Dial/Number").text or "") == EMERGENCY_LINE  # type: ignore[union-attr]

    # the call's end leaves the dial result's repeat of the guidance, as for bundled emergencies
    failed = await post(phone, "/twilio/voice/dial-result", {"DialCallStatus": "no-answer"})
    assert verbs(parse_twiml(failed)) == ["Say", "Hangup"]
    assert GUIDANCE.split(".", maxsplit=1)[0] in " ".join(spoken(parse_twiml(failed)))
