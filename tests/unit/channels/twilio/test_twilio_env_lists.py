"""List settings of the phone channel read from the environment the way the Kakao allow-list does."""

from __future__ import annotations

import os

import pytest

from assistant.app.settings import Settings


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """Only the variables a test sets: the developer's own DASAN_* values are removed."""
    for name in list(os.environ):
        if name.startswith("DASAN_"):
            monkeypatch.delenv(name)
    return monkeypatch


def _settings() -> Settings:
    return Settings(_env_file=None)  # type: ignore[call-arg]  # pydantic-settings' init keyword


def test_trusted_proxies_and_bot_ids_split_a_comma_separated_value_alike(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASAN_TWILIO__TRUSTED_PROXIES", "10.0.0.1, 10.1.0.0/16,,::1")
    env.setenv("DASAN_KAKAO__ALLOWED_BOT_IDS", "bot-a, bot-b,,bot-c")
    settings = _settings()
    assert settings.twilio.trusted_proxies == ("10.0.0.1", "10.1.0.0/16", "::1")
    assert settings.kakao.allowed_bot_ids == frozenset({"bot-a", "bot-b", "bot-c"})
    assert [str(n) for n in settings.twilio.proxy_networks()] == ["10.0.0.1/32", "10.1.0.0/16", "::1/128"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("10.0.0.1", ("10.0.0.1",)), ('["10.0.0.1", "10.2.0.0/16"]', ("10.0.0.1", "10.2.0.0/16")), ("", ())],
)
def test_one_proxy_a_json_list_and_an_empty_value(
    env: pytest.MonkeyPatch, value: str, expected: tuple[str, ...]
) -> None:
    env.setenv("DASAN_TWILIO__TRUSTED_PROXIES", value)
    assert _settings().twilio.trusted_proxies == expected


def test_a_bad_proxy_in_the_list_is_still_refused(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASAN_TWILIO__TRUSTED_PROXIES", "10.0.0.1,not-an-ip")
    with pytest.raises(ValueError, match="not-an-ip"):
        _settings()


def test_speech_hints_split_on_commas_as_twilio_joins_them(env: pytest.MonkeyPatch) -> None:
    env.setenv("DASAN_TWILIO__HINTS", "여권, 대형폐기물 ,민원")
    assert _settings().twilio.hints == ("여권", "대형폐기물", "민원")
