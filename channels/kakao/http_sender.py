"""``HttpCallbackSender``: the httpx implementation of ``CallbackSender`` (the channel's only httpx use)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

import httpx

from assistant.core.errors import DeliveryError


class HttpCallbackSender:
    """One POST of a SkillResponse to a callbackUrl through an injected ``httpx.AsyncClient``.

    2xx is delivered. 408, 429 and 5xx, timeouts and connection errors are retryable
    ``DeliveryError``s; any other status (an expired or already used callbackUrl) is final.
    """

    def __init__(self, client: httpx.AsyncClient) -> None:
        self._client = client

    async def send(self, url: str, body: Mapping[str, Any], *, attempt_timeout: timedelta) -> None:
        try:
            response = await self._client.post(url, json=dict(body), timeout=attempt_timeout.total_seconds())
        except httpx.TimeoutException as exc:
            raise DeliveryError(f"the callback timed out ({type(exc).__name__})", retryable=True) from exc
        except httpx.HTTPError as exc:
            raise DeliveryError(f"the callback failed ({type(exc).__name__})", retryable=True) from exc
        if response.is_success:
            return
        status = response.status_code
        retryable = status in (408, 429) or status >= 500
        raise DeliveryError(f"the callback endpoint answered {status}", retryable=retryable)
