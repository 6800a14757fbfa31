"""The webhooks' never-a-500 boundary counts what it caught in ``dasan_errors_total{type="twilio.<Type>"}``
(the app's real ``Metrics``, read back from ``GET /metrics``) and still answers valid TwiML."""

from __future__ import annotations

import pytest
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from starlette.responses import Response

from assistant.app.metrics import Metrics, metrics_endpoint
from tests.unit.channels.twilio.twilio_channel_doubles import (
    ExplodingStore,
    PhoneHarness,
    ScriptedDialogue,
    make_harness,
    parse_twiml,
    verbs,
)

pytestmark = pytest.mark.anyio

GATHER = "/twilio/voice/gather"


class BrokenRecorder:
    def record_error(self, error: str) -> None:
        raise RuntimeError("metrics down")


def with_metrics(phone: PhoneHarness, metrics: Metrics) -> PhoneHarness:
    @phone.app.get("/metrics")
    def scrape() -> Response:
        return metrics_endpoint(metrics.registry)

    return phone


async def errors_counted(phone: PhoneHarness) -> dict[str, float]:
    text = (await phone.client.get("/metrics")).text
    return {
        sample.labels["type"]: sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "dasan_errors_total"
    }


async def test_an_unexpected_exception_is_counted_and_still_answered_with_twiml() -> None:
    metrics = Metrics(CollectorRegistry())
    phone = with_metrics(make_harness(ScriptedDialogue(), store=ExplodingStore(), errors=metrics), metrics)
    try:
        before = await errors_counted(phone)
        first = await phone.post(GATHER, {"SpeechResult": "여권 발급", "Confidence": "0.9"})
        second = await phone.post(GATHER, {"SpeechResult": "여권 발급", "Confidence": "0.9"})
        after = await errors_counted(phone)
    finally:
        await phone.aclose()

    for response in (first, second):
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/xml")
        assert verbs(parse_twiml(response.text)) == ["Say", "Hangup"]
    assert before == {}
    assert after == {"twilio.RuntimeError": 2.0}


async def test_a_rejected_signature_is_not_an_error() -> None:
    metrics = Metrics(CollectorRegistry())
    phone = with_metrics(make_harness(ScriptedDialogue(), errors=metrics), metrics)
    try:
        response = await phone.post(GATHER, {"SpeechResult": "여권"}, signature="forged")
        counted = await errors_counted(phone)
    finally:
        await phone.aclose()

    assert response.status_code == 403
    assert counted == {}


async def test_a_failing_recorder_never_breaks_the_answer() -> None:
    phone = make_harness(ScriptedDialogue(), store=ExplodingStore(), errors=BrokenRecorder())
    try:
        response = await phone.post(GATHER, {"SpeechResult": "여권 발급", "Confidence": "0.9"})
    finally:
        await phone.aclose()

    assert response.status_code == 200
    assert verbs(parse_twiml(response.text)) == ["Say", "Hangup"]
