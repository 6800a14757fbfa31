"""Posting the final answer to Kakao's single-use callbackUrl: the sender port and the retry wrapper.

``CallbackSender`` makes one attempt and raises ``DeliveryError`` (``retryable`` when another attempt
may help: connection failures, timeouts, 408/429/5xx). ``CallbackDelivery`` owns the policy: bounded
attempts with exponential backoff, each attempt cut to the time left, and no attempt started once the
window (minus a safety margin) has closed. It never raises for a failed delivery; it reports, to
the caller and to an optional ``CallbackRecorder`` (the app's metrics count outcomes).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from assistant.core.clock import Clock
from assistant.core.errors import DeliveryError

_log = logging.getLogger(__name__)

MIN_ATTEMPT = timedelta(milliseconds=250)
"""An attempt with less time than this left is not started."""


class CallbackSender(Protocol):
    """POSTs one SkillResponse body to a callbackUrl, once. Raises ``DeliveryError`` on failure."""

    async def send(self, url: str, body: Mapping[str, Any], *, attempt_timeout: timedelta) -> None: ...


DeliveryStatus = Literal["delivered", "failed", "expired"]


class CallbackRecorder(Protocol):
    """Counts delivery outcomes (``assistant.app.metrics.Metrics`` satisfies it)."""

    def record_kakao_callback(self, outcome: DeliveryStatus) -> None: ...


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """``expired``: the window closed before a successful attempt; ``failed``: a final error."""

    status: DeliveryStatus
    attempts: int


Sleep = Callable[[float], Awaitable[None]]


class CallbackDelivery:
    """Bounded, deadline-aware retries around a ``CallbackSender``.

    ``sleep`` is injectable so tests can drive backoff with a ``FakeClock``.
    """

    def __init__(
        self,
        sender: CallbackSender,
        clock: Clock,
        *,
        attempts: int = 3,
        attempt_timeout: timedelta = timedelta(seconds=5),
        backoff: timedelta = timedelta(seconds=0.5),
        safety_margin: timedelta = timedelta(seconds=1),
        sleep: Sleep = asyncio.sleep,
        recorder: CallbackRecorder | None = None,
    ) -> None:
        if attempts < 1:
            raise ValueError("attempts must be at least 1")
        self._sender = sender
        self._clock = clock
        self._attempts = attempts
        self._attempt_timeout = attempt_timeout
        self._backoff = backoff
        self._safety_margin = safety_margin
        self._sleep = sleep
        self._recorder = recorder

    async def deliver(
        self, url: str, body: Mapping[str, Any], *, closes_at: datetime, correlation_id: str = "-"
    ) -> DeliveryResult:
        """Tries to POST ``body`` before ``closes_at`` (minus the safety margin)."""
        result = await self._attempts_until(url, body, closes_at, correlation_id)
        if self._recorder is not None:
            try:
                self._recorder.record_kakao_callback(result.status)
            except Exception as exc:  # counting must not fail a delivery
                _log.warning("kakao callback outcome not recorded: %s", type(exc).__name__)
        return result

    async def _attempts_until(
        self, url: str, body: Mapping[str, Any], closes_at: datetime, correlation_id: str
    ) -> DeliveryResult:
        last_attempt_by = closes_at - self._safety_margin
        host = urlsplit(url).netloc  # the path carries Kakao's opaque token: never log it
        for attempt in range(1, self._attempts + 1):
            left = last_attempt_by - self._clock.now()
            if left < MIN_ATTEMPT:
                _log.warning(
                    "kakao callback window closed before attempt %d (host=%s, correlation_id=%s)",
                    attempt,
                    host,
                    correlation_id,
                )
                return DeliveryResult("expired", attempt - 1)
            timeout = min(self._attempt_timeout, left)
            try:
                async with asyncio.timeout(timeout.total_seconds()):
                    await self._sender.send(url, body, attempt_timeout=timeout)
            except TimeoutError:
                error = DeliveryError("the callback attempt timed out", retryable=True)
            except DeliveryError as exc:
                error = exc
            else:
                return DeliveryResult("delivered", attempt)
            _log.warning(
                "kakao callback attempt %d/%d failed: %s (retryable=%s, host=%s, correlation_id=%s)",
                attempt,
                self._attempts,
                error,
                error.retryable,
                host,
                correlation_id,
            )
            if not error.retryable or attempt == self._attempts:
                return DeliveryResult("failed", attempt)
            pause = self._backoff * (2 ** (attempt - 1))
            if self._clock.now() + pause > last_attempt_by - MIN_ATTEMPT:
                _log.warning(
                    "kakao callback gives up: no time for another attempt (correlation_id=%s)",
                    correlation_id,
                )
                return DeliveryResult("expired", attempt)
            await self._sleep(pause.total_seconds())
        raise AssertionError("unreachable")  # pragma: no cover
