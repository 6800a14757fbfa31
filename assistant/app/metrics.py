"""Prometheus metrics: one ``Metrics`` object on an injected registry, exposed at ``GET /metrics``.

Labels are closed, low-cardinality sets (channel, route, step, model, outcome, error type); never a
conversation, user or text. The composition root builds one ``CollectorRegistry`` and one ``Metrics``;
tests build their own, so nothing is registered globally.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Literal

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from starlette.responses import Response

from assistant.core.events import Channel

KakaoCallbackOutcome = Literal["delivered", "failed", "expired"]
"""As ``channels.kakao.callback.DeliveryStatus``: expired = the callback window closed first."""
TokenKind = Literal["prompt", "completion"]

STEP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
"""Seconds; from a Kiwi-tokenised query (ms) to an embedded-model generation (tens of seconds)."""
WEBHOOK_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 15.0)
"""Seconds; Twilio waits 15 s for a webhook, Kakao 5 s for a skill answer."""


class Metrics:
    """The service's counters and histograms, registered on ``registry``."""

    def __init__(self, registry: CollectorRegistry, *, namespace: str = "dasan") -> None:
        self.registry = registry
        self._turns = Counter(
            "turns", "Dialogue turns answered.", ["channel", "route"], namespace=namespace, registry=registry
        )
        self._turn_seconds = Histogram(
            "turn_duration_seconds",
            "Time from receiving a turn to its reply.",
            ["channel"],
            namespace=namespace,
            buckets=STEP_BUCKETS,
            registry=registry,
        )
        self._step_seconds = Histogram(
            "step_duration_seconds",
            "Time spent in one step of a turn (safety, routing, rewrite, retrieval, generation, ...).",
            ["step"],
            namespace=namespace,
            buckets=STEP_BUCKETS,
            registry=registry,
        )
        self._tokens = Counter(
            "llm_tokens", "LLM tokens used.", ["model", "kind"], namespace=namespace, registry=registry
        )
        self._abstentions = Counter(
            "abstentions",
            "Turns answered with an abstention (no grounded answer).",
            ["channel"],
            namespace=namespace,
            registry=registry,
        )
        self._handoffs = Counter(
            "handoffs",
            "Turns handed off to a human agent.",
            ["channel"],
            namespace=namespace,
            registry=registry,
        )
        self._safety_flags = Counter(
            "safety_flags", "Safety rules that fired.", ["flag"], namespace=namespace, registry=registry
        )
        self._kakao_callbacks = Counter(
            "kakao_callbacks",
            "Kakao callback deliveries by outcome (expired: the callback window closed first).",
            ["outcome"],
            namespace=namespace,
            registry=registry,
        )
        self._twilio_webhook_seconds = Histogram(
            "twilio_webhook_duration_seconds",
            "Time to answer a Twilio webhook.",
            ["endpoint"],
            namespace=namespace,
            buckets=WEBHOOK_BUCKETS,
            registry=registry,
        )
        self._errors = Counter(
            "errors", "Errors by type, at task boundaries.", ["type"], namespace=namespace, registry=registry
        )

    def record_turn(self, channel: Channel, route: str, seconds: float | None = None) -> None:
        self._turns.labels(channel=channel, route=route).inc()
        if seconds is not None:
            self._turn_seconds.labels(channel=channel).observe(seconds)

    def observe_step(self, step: str, seconds: float) -> None:
        self._step_seconds.labels(step=step).observe(seconds)

    @contextmanager
    def time_step(self, step: str, *, clock: Callable[[], float] = time.perf_counter) -> Iterator[None]:
        """Times a block as ``step`` (also when it raises)."""
        started = clock()
        try:
            yield
        finally:
            self.observe_step(step, clock() - started)

    def record_tokens(self, model: str, *, prompt: int, completion: int) -> None:
        self._tokens.labels(model=model, kind="prompt").inc(prompt)
        self._tokens.labels(model=model, kind="completion").inc(completion)

    def record_abstention(self, channel: Channel) -> None:
        self._abstentions.labels(channel=channel).inc()

    def record_handoff(self, channel: Channel) -> None:
        self._handoffs.labels(channel=channel).inc()

    def record_safety_flag(self, flag: str) -> None:
        self._safety_flags.labels(flag=flag).inc()

    def record_kakao_callback(self, outcome: KakaoCallbackOutcome) -> None:
        self._kakao_callbacks.labels(outcome=outcome).inc()

    def observe_twilio_webhook(self, endpoint: str, seconds: float) -> None:
        self._twilio_webhook_seconds.labels(endpoint=endpoint).observe(seconds)

    def record_error(self, error: BaseException | str) -> None:
        """Counts an error by its type name (never its message)."""
        name = error if isinstance(error, str) else type(error).__name__
        self._errors.labels(type=name).inc()


def metrics_endpoint(registry: CollectorRegistry) -> Response:
    """The response for ``GET /metrics``: the registry in the Prometheus text exposition format."""
    return Response(content=generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
