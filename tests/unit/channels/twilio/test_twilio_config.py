"""TwilioChannelConfig and the development auth token kept in the data dir."""

from __future__ import annotations

import logging
import stat
from datetime import timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from assistant.core.errors import ConfigurationError
from channels.twilio.config import DEV_TOKEN_FILE, TwilioChannelConfig, resolve_auth_token


def test_an_unset_token_is_generated_once_kept_private_and_reused(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = tmp_path / "data"
    with caplog.at_level(logging.INFO, logger="channels.twilio.config"):
        first = resolve_auth_token(None, data_dir)
        second = resolve_auth_token(SecretStr("  "), data_dir)

    token = first.get_secret_value()
    assert len(token) == 32
    assert second.get_secret_value() == token
    path = data_dir / DEV_TOKEN_FILE
    assert path.read_text().strip() == token
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    messages = " ".join(record.getMessage() for record in caplog.records)
    assert "generated a development Twilio auth token" in messages
    assert str(path) in messages
    assert token not in messages


def test_a_configured_token_wins_and_writes_nothing(tmp_path: Path) -> None:
    assert resolve_auth_token(SecretStr("real-token"), tmp_path).get_secret_value() == "real-token"
    assert not (tmp_path / DEV_TOKEN_FILE).exists()


def test_a_token_file_left_readable_by_others_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / DEV_TOKEN_FILE
    path.write_text("abc\n")
    path.chmod(0o644)
    assert resolve_auth_token(None, tmp_path).get_secret_value() == "abc"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_an_empty_token_file_is_a_configuration_error(tmp_path: Path) -> None:
    (tmp_path / DEV_TOKEN_FILE).write_text("\n")
    with pytest.raises(ConfigurationError, match="empty"):
        resolve_auth_token(None, tmp_path)


def test_config_reads_like_env_values() -> None:
    config = TwilioChannelConfig.model_validate(
        {
            "auth_token": "s3cr3t-t0ken",
            "public_base_url": "https://voice.example.go.kr/dasan/",
            "trusted_proxies": ["10.0.0.0/8", "::1"],
            "filler_budget": "PT0.5S",
            "answer_deadline": 15,
        }
    )
    assert config.public_base_url == "https://voice.example.go.kr/dasan"
    assert config.filler_budget == timedelta(milliseconds=500)
    assert config.answer_deadline == timedelta(seconds=15)
    assert len(config.proxy_networks()) == 2
    assert "s3cr3t" not in repr(config)
    with pytest.raises(ValueError):
        TwilioChannelConfig(public_base_url="voice.example.go.kr")
    with pytest.raises(ValueError, match="13335"):
        TwilioChannelConfig(speech_model="phone_call")
    assert TwilioChannelConfig(speech_model="phone_call", speech_timeout="2").speech_timeout == "2"
