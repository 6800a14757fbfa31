"""Citation SMS: the ``SmsSender`` port, its Twilio REST implementation and the message text."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from typing import Any, Protocol

from aiohttp import ClientError
from pydantic import SecretStr
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.async_http_client import AsyncTwilioHttpClient
from twilio.rest import Client

from assistant.core.errors import DeliveryError
from assistant.core.replies import Citation
from channels.twilio.config import TwilioChannelConfig

MAX_SMS_CHARS = 1000
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")


def can_receive_sms(number: str) -> bool:
    """A caller id that is a real E.164 number (not ``client:…``, ``anonymous`` or a SIP URI)."""
    return bool(_E164.match(number))


def citation_sms_body(header: str, citations: Sequence[Citation]) -> str:
    """The header, then one numbered line per source with its link, cut to ``MAX_SMS_CHARS``."""
    lines = [header]
    for citation in citations:
        title = citation.title + (f" - {citation.section}" if citation.section else "")
        lines.append(f"[{citation.n}] {title} ({citation.source})")
        if citation.url:
            lines.append(citation.url)
    body = "\n".join(lines)
    return body if len(body) <= MAX_SMS_CHARS else body[: MAX_SMS_CHARS - 1] + "…"


class SmsSender(Protocol):
    """Sends one text message; failure is ``DeliveryError``."""

    async def send(self, to: str, body: str) -> None: ...


class TwilioSmsSender:
    """Sends SMS through Twilio's Messages API with the official SDK (its aiohttp transport).

    ``http_client`` is the SDK's seam: tests pass a subclass that points the real client at a local
    fake server. The client is created on first use, inside the running event loop.
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: SecretStr,
        from_number: str,
        *,
        http_client: Any | None = None,
        timeout_s: float = 10.0,
    ) -> None:
        self._account_sid = account_sid
        self._auth_token = auth_token
        self._from = from_number
        self._http_client = http_client
        self._timeout_s = timeout_s
        self._client: Any | None = None

    async def send(self, to: str, body: str) -> None:
        client = self._rest_client()
        try:
            async with asyncio.timeout(self._timeout_s):
                await client.messages.create_async(to=to, from_=self._from, body=body)
        except TwilioRestException as exc:
            raise DeliveryError(
                f"Twilio rejected the SMS: HTTP {exc.status}, code {exc.code}",
                retryable=exc.status == 429 or exc.status >= 500,
            ) from exc
        except TwilioException as exc:
            raise DeliveryError(f"Twilio SMS failed: {type(exc).__name__}", retryable=True) from exc
        except (ClientError, OSError, TimeoutError) as exc:
            raise DeliveryError(f"cannot reach Twilio: {type(exc).__name__}", retryable=True) from exc

    async def close(self) -> None:
        if self._http_client is not None and hasattr(self._http_client, "close"):
            await self._http_client.close()

    def _rest_client(self) -> Any:
        if self._client is None:
            if self._http_client is None:
                self._http_client = AsyncTwilioHttpClient(timeout=self._timeout_s)
            self._client = Client(
                self._account_sid,
                self._auth_token.get_secret_value(),
                http_client=self._http_client,
                environment={},  # no TWILIO_* variables from the process environment
            )
        return self._client


def build_sms_sender(config: TwilioChannelConfig, auth_token: SecretStr) -> TwilioSmsSender | None:
    """The Twilio SMS sender when both ``account_sid`` and ``sms_from`` are configured, else None."""
    if not (config.account_sid and config.sms_from):
        return None
    return TwilioSmsSender(config.account_sid, auth_token, config.sms_from)
