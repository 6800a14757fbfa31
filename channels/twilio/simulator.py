"""A pretend Twilio: plays a phone call against a running dasan server, signing every request.

It posts what Twilio would (an incoming call, one ``<Gather>`` result per caller line, the status
callback at the end), follows ``<Redirect>``s, and reports what ``<Say>`` would speak and any
``<Dial>``/``<Enqueue>``/``<Hangup>``.
"""

from __future__ import annotations

import secrets
import xml.etree.ElementTree as ET
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urljoin, urlsplit

import httpx
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from channels.twilio.twiml import GATHER_PATH

INCOMING_PATH = "/twilio/voice/incoming"
STATUS_PATH = "/twilio/voice/status"

EventKind = Literal["say", "pause", "dial", "enqueue", "hangup", "listen"]


@dataclass(frozen=True, slots=True)
class Heard:
    """What followed one request, redirects included, in order: ``(kind, detail)`` pairs."""

    events: tuple[tuple[EventKind, str], ...]

    @property
    def says(self) -> tuple[str, ...]:
        return tuple(detail for kind, detail in self.events if kind == "say")

    @property
    def dialed(self) -> str | None:
        return next((detail for kind, detail in self.events if kind in ("dial", "enqueue")), None)

    @property
    def ended(self) -> bool:
        """The call is over for the caller: hung up, or handed to a person."""
        return any(kind in ("hangup", "dial", "enqueue") for kind, _ in self.events)

    @property
    def listening(self) -> bool:
        return bool(self.events) and self.events[-1][0] == "listen"


class SimulatorError(Exception):
    """The server answered something a Twilio call could not continue with."""


class PhoneSimulator:
    """One simulated call. ``base_url`` is where the server listens; ``public_url`` (default: the
    same) is the URL the server believes Twilio called, which the signature covers."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        base_url: str,
        auth_token: SecretStr,
        *,
        public_url: str | None = None,
        caller: str = "+821012345678",
        called: str = "+8221200120",
        call_sid: str | None = None,
        max_redirects: int = 60,
        pause: Callable[[float], Awaitable[None]] | None = None,
    ) -> None:
        """``pause``: how to wait out a ``<Pause>`` before following a ``<Redirect>``, as Twilio does
        (``asyncio.sleep`` for a live call; None, the default, follows at once)."""
        self._pause = pause
        self._http = http
        self._base = base_url.rstrip("/")
        self._public = (public_url or base_url).rstrip("/")
        self._validator = RequestValidator(auth_token.get_secret_value())
        self._max_redirects = max_redirects
        self.call_sid = call_sid or "CA" + secrets.token_hex(16)
        self._common = {
            "AccountSid": "AC" + "0" * 32,
            "ApiVersion": "2010-04-01",
            "CallSid": self.call_sid,
            "From": caller,
            "To": called,
            "Caller": caller,
            "Called": called,
            "Direction": "inbound",
        }
        self._gather_url = self._public + GATHER_PATH

    async def call(self) -> Heard:
        return await self._play(self._public + INCOMING_PATH, {"CallStatus": "ringing"})

    async def say(self, text: str, confidence: float = 0.92) -> Heard:
        fields = {"SpeechResult": text, "Confidence": f"{confidence:.4f}"} if text else {}
        return await self._play(self._gather_url, {"CallStatus": "in-progress", **fields})

    async def press(self, digits: str) -> Heard:
        return await self._play(self._gather_url, {"CallStatus": "in-progress", "Digits": digits})

    async def hang_up(self, duration_s: int = 0) -> None:
        fields = {"CallStatus": "completed", "CallDuration": str(duration_s)}
        await self._post(self._public + STATUS_PATH, {**self._common, **fields})

    async def _play(self, url: str, fields: dict[str, str]) -> Heard:
        params = {**self._common, **fields}
        events: list[tuple[EventKind, str]] = []
        for _ in range(self._max_redirects):
            document = await self._post(url, params)
            before = len(events)
            redirect = self._walk(document, events, url)
            if redirect is None:
                return Heard(tuple(events))
            paused = sum(_seconds(detail) for kind, detail in events[before:] if kind == "pause")
            if self._pause is not None and paused > 0:
                await self._pause(paused)
            url = redirect
        raise SimulatorError(f"more than {self._max_redirects} redirects")

    def _walk(
        self, document: ET.Element, events: list[tuple[EventKind, str]], url: str, *, nested: bool = False
    ) -> str | None:
        """Records the verbs; returns the next URL when the document ends in a redirect."""
        for verb in document:
            match verb.tag:
                case "Say":
                    events.append(("say", (verb.text or "").strip()))
                case "Pause":
                    events.append(("pause", verb.get("length", "1")))
                case "Gather":
                    self._walk(verb, events, url, nested=True)
                    self._gather_url = urljoin(url, verb.get("action") or url)
                    events.append(("listen", ""))
                    return None
                case "Redirect":
                    return urljoin(url, (verb.text or "").strip())
                case "Dial":
                    number = verb.find("Number")
                    target = number.text if number is not None else verb.text
                    events.append(("dial", (target or "").strip()))
                    return None
                case "Enqueue":
                    events.append(("enqueue", (verb.text or "").strip()))
                    return None
                case "Hangup":
                    events.append(("hangup", ""))
                    return None
        if not nested:
            events.append(("hangup", ""))  # Twilio hangs up when a document runs out of verbs
        return None

    async def _post(self, public_url: str, params: dict[str, str]) -> ET.Element:
        signature = self._validator.compute_signature(public_url, params)
        if not public_url.startswith(self._public):
            raise SimulatorError(f"the server redirected outside {self._public}")
        target = self._base + public_url[len(self._public) :]
        parts = urlsplit(public_url)
        response = await self._http.post(target, data=params, headers={"X-Twilio-Signature": signature})
        if response.status_code != 200:
            raise SimulatorError(f"HTTP {response.status_code} from {parts.path}: {response.text[:200]}")
        try:
            root = ET.fromstring(response.content)
        except ET.ParseError as exc:
            raise SimulatorError(f"not TwiML from {parts.path}: {exc}") from exc
        if root.tag != "Response":
            raise SimulatorError(f"not TwiML from {parts.path}: <{root.tag}>")
        return root


def _seconds(length: str) -> float:
    try:
        return max(0.0, float(length))
    except ValueError:
        return 1.0  # Twilio's default <Pause length>
