"""Metrics: counters and histograms on an injected registry, exposed in the Prometheus text format."""

from __future__ import annotations

import itertools

from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families

from assistant.app.metrics import Metrics, metrics_endpoint


def _samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def _exposition(metrics: Metrics) -> tuple[str, str]:
    response = metrics_endpoint(metrics.registry)
    return bytes(response.body).decode(), response.media_type or ""


def test_counters_and_histograms_appear_in_the_exposition_text() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.record_turn("kakao", "answer", seconds=0.8)
    metrics.record_turn("kakao", "answer")
    metrics.record_turn("phone", "handoff")
    metrics.observe_step("retrieval", 0.004)
    metrics.record_tokens("qwen2.5-7b", prompt=120, completion=30)
    metrics.record_tokens("qwen2.5-7b", prompt=80, completion=10)
    metrics.record_abstention("web")
    metrics.record_handoff("phone")
    metrics.record_safety_flag("self_harm")
    metrics.record_kakao_callback("delivered")
    metrics.record_kakao_callback("expired")
    metrics.observe_twilio_webhook("gather", 0.3)
    metrics.record_error(TimeoutError("010-1234-5678 timed out"))
    metrics.record_error("LLMTimeout")

    text, media_type = _exposition(metrics)
    assert media_type.startswith("text/plain") and "version=" in media_type
    samples = _samples(text)
    assert samples[("dasan_turns_total", (("channel", "kakao"), ("route", "answer")))] == 2
    assert samples[("dasan_turns_total", (("channel", "phone"), ("route", "handoff")))] == 1
    assert samples[("dasan_turn_duration_seconds_count", (("channel", "kakao"),))] == 1
    assert samples[("dasan_step_duration_seconds_bucket", (("le", "0.005"), ("step", "retrieval")))] == 1
    assert samples[("dasan_step_duration_seconds_bucket", (("le", "+Inf"), ("step", "retrieval")))] == 1
    assert samples[("dasan_llm_tokens_total", (("kind", "prompt"), ("model", "qwen2.5-7b")))] == 200
    assert samples[("dasan_llm_tokens_total", (("kind", "completion"), ("model", "qwen2.5-7b")))] == 40
    assert samples[("dasan_abstentions_total", (("channel", "web"),))] == 1
    assert samples[("dasan_handoffs_total", (("channel", "phone"),))] == 1
    assert samples[("dasan_safety_flags_total", (("flag", "self_harm"),))] == 1
    assert samples[("dasan_kakao_callbacks_total", (("outcome", "delivered"),))] == 1
    assert samples[("dasan_kakao_callbacks_total", (("outcome", "expired"),))] == 1
    assert samples[("dasan_twilio_webhook_duration_seconds_sum", (("endpoint", "gather"),))] == 0.3
    assert samples[("dasan_errors_total", (("type", "TimeoutError"),))] == 1
    assert samples[("dasan_errors_total", (("type", "LLMTimeout"),))] == 1
    assert "010-1234-5678" not in text
    assert "# TYPE dasan_turns_total counter" in text
    assert "# TYPE dasan_step_duration_seconds histogram" in text


def test_time_step_observes_the_block_even_when_it_raises() -> None:
    metrics = Metrics(CollectorRegistry())
    ticks = itertools.count(start=10.0, step=0.25)
    try:
        with metrics.time_step("generation", clock=lambda: next(ticks)):
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    samples = _samples(_exposition(metrics)[0])
    assert samples[("dasan_step_duration_seconds_sum", (("step", "generation"),))] == 0.25
    assert samples[("dasan_step_duration_seconds_count", (("step", "generation"),))] == 1


def test_registries_are_independent() -> None:
    first, second = Metrics(CollectorRegistry()), Metrics(CollectorRegistry())
    first.record_handoff("web")
    assert ("dasan_handoffs_total", (("channel", "web"),)) not in _samples(_exposition(second)[0])
    assert ("dasan_handoffs_total", (("channel", "web"),)) in _samples(_exposition(first)[0])
