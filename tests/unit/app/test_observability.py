"""Observability wiring: the tracing settings section, the generated hash salt, the app tracer (off
without keys, Langfuse with them), and the turn observer that feeds the metrics."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from pydantic import SecretStr, ValidationError

from assistant.app.metrics import Metrics, metrics_endpoint
from assistant.app.observability import (
    SALT_FILE,
    TurnMetrics,
    TurnObservers,
    build_app_tracer,
    resolve_hash_salt,
)
from assistant.app.settings import Settings, TracingSettings
from assistant.core.clock import SystemClock
from assistant.core.errors import ConfigurationError
from assistant.core.events import ConversationKey, MessageId
from assistant.dialogue.manager_ports import TurnTiming
from assistant.tracing.langfuse_tracer import LangfuseTracer
from assistant.tracing.noop import NoopTracer

KEYS = {
    "LANGFUSE_PUBLIC_KEY": "pk-lf-observability-unit",
    "LANGFUSE_SECRET_KEY": "sk-lf",
    "LANGFUSE_BASE_URL": "http://127.0.0.1:9",
}


def _settings(tmp_path: Path, **tracing: object) -> Settings:
    return Settings(data_dir=tmp_path / "data", tracing=TracingSettings.model_validate(tracing))


def test_capture_channels_default_to_screens_and_parse_a_comma_separated_list() -> None:
    assert TracingSettings().capture_channels == frozenset({"web", "api", "rasa", "kakao"})
    parsed = TracingSettings.model_validate({"capture_channels": " web, phone ,"})
    assert parsed.capture_channels == frozenset({"web", "phone"})
    assert TracingSettings.model_validate({"capture_channels": ""}).capture_channels == frozenset()
    with pytest.raises(ValidationError, match="capture_channels"):
        TracingSettings.model_validate({"capture_channels": "web,sms"})


def test_the_settings_read_the_tracing_section_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DASAN_TRACING__CAPTURE_CHANNELS", "kakao")
    monkeypatch.setenv("DASAN_TRACING__HASH_SALT", "a-configured-salt-0123")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.tracing.capture_channels == frozenset({"kakao"})
    assert settings.tracing.hash_salt is not None
    assert settings.tracing.hash_salt.get_secret_value() == "a-configured-salt-0123"


def test_a_missing_salt_is_generated_once_private_and_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistant.app.observability")
    first = resolve_hash_salt(None, tmp_path)
    path = tmp_path / SALT_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert len(first.get_secret_value()) >= 32
    assert resolve_hash_salt(None, tmp_path).get_secret_value() == first.get_secret_value()
    assert "generated the tracing hash salt" in caplog.text
    assert first.get_secret_value() not in caplog.text
    configured = resolve_hash_salt(SecretStr("  configured-salt-0123456  "), tmp_path)
    assert configured.get_secret_value() == "configured-salt-0123456"


def test_an_empty_salt_file_fails_fast(tmp_path: Path) -> None:
    (tmp_path / SALT_FILE).write_text("\n")
    with pytest.raises(ConfigurationError, match="empty"):
        resolve_hash_salt(None, tmp_path)


@pytest.mark.anyio
async def test_without_keys_the_app_tracer_is_off_and_writes_no_salt(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    tracer = build_app_tracer(settings, {}, metrics=Metrics(CollectorRegistry()), clock=SystemClock())
    assert isinstance(tracer.inner, NoopTracer)
    assert not (settings.data_dir / SALT_FILE).exists()
    await tracer.aclose()


@pytest.mark.anyio
async def test_with_keys_the_app_tracer_is_langfuse_with_a_generated_salt(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    tracer = build_app_tracer(settings, KEYS, metrics=Metrics(CollectorRegistry()), clock=SystemClock())
    try:
        assert isinstance(tracer.inner, LangfuseTracer)
        assert (settings.data_dir / SALT_FILE).exists()
    finally:
        await tracer.aclose()


def test_a_short_configured_salt_is_refused_at_startup(tmp_path: Path) -> None:
    settings = _settings(tmp_path, hash_salt="short")
    with pytest.raises(ConfigurationError, match="at least 16"):
        build_app_tracer(settings, KEYS, metrics=Metrics(CollectorRegistry()), clock=SystemClock())


def test_half_configured_langfuse_fails_fast(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="LANGFUSE_SECRET_KEY"):
        build_app_tracer(
            _settings(tmp_path),
            {"LANGFUSE_PUBLIC_KEY": "pk"},
            metrics=Metrics(CollectorRegistry()),
            clock=SystemClock(),
        )


def _timing(channel: str, route: str, **facts: object) -> TurnTiming:
    key = ConversationKey(channel, "t")  # type: ignore[arg-type]
    return TurnTiming(key, MessageId("m"), route, total_ms=250.0, answer_ms=200.0, **facts)  # type: ignore[arg-type]


def test_turn_metrics_count_turns_abstentions_handoffs_flags_and_errors() -> None:
    metrics = Metrics(CollectorRegistry())
    seen: list[TurnTiming] = []

    class Seen:
        def turn_done(self, timing: TurnTiming) -> None:
            seen.append(timing)

    observer = TurnObservers(TurnMetrics(metrics), Seen())
    observer.turn_done(_timing("web", "answer", action="continue", answer_mode="llm"))
    observer.turn_done(_timing("web", "answer:abstain", action="continue", answer_mode="abstain"))
    observer.turn_done(_timing("kakao", "handoff:safety", action="handoff", safety_flags=("fire",)))
    observer.turn_done(_timing("phone", "answer:failed", action="continue", error="LLMTimeout"))
    observer.turn_done(_timing("web", "unknown", error="StorageError", failed=True))

    text = bytes(metrics_endpoint(metrics.registry).body).decode()
    samples = {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }
    assert samples[("dasan_turns_total", (("channel", "web"), ("route", "answer")))] == 1
    assert samples[("dasan_turns_total", (("channel", "kakao"), ("route", "handoff:safety")))] == 1
    assert samples[("dasan_turn_duration_seconds_count", (("channel", "web"),))] == 3
    assert samples[("dasan_turn_duration_seconds_sum", (("channel", "web"),))] == pytest.approx(0.75)
    assert samples[("dasan_abstentions_total", (("channel", "web"),))] == 1
    assert samples[("dasan_handoffs_total", (("channel", "kakao"),))] == 1
    assert samples[("dasan_safety_flags_total", (("flag", "fire"),))] == 1
    assert samples[("dasan_errors_total", (("type", "LLMTimeout"),))] == 1
    assert samples[("dasan_errors_total", (("type", "StorageError"),))] == 1
    assert len(seen) == 5
