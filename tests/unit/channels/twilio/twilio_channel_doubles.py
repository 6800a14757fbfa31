"""Test doubles and helpers for the Twilio phone channel: a scripted dialogue, a signing client,
recording SMS and outcome sinks, TwiML well-formedness checks and snapshots."""

from __future__ import annotations

import asyncio
import os
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from twilio.request_validator import RequestValidator

from assistant.core.clock import FakeClock
from assistant.core.events import DialogueInput, UserTurn
from assistant.core.replies import Capabilities, Reply
from assistant.dialogue.ports import ReplyDelta
from channels.twilio import (
    CallOutcome,
    CallTasks,
    InMemoryCallStateStore,
    TwilioChannelConfig,
    build_twilio_router,
)

TEST_TOKEN = SecretStr("0123456789abcdef0123456789abcdef")
CALL_SID = "CA" + "1" * 32
CALLER = "+821012345678"
SNAPSHOTS = Path(__file__).with_name("snapshots")

# Twilio's voice TwiML: verbs and nouns with the attributes the SDK's builders accept.
TWIML_ATTRIBUTES: Mapping[str, frozenset[str]] = {
    "Response": frozenset(),
    "Say": frozenset({"voice", "loop", "language"}),
    "Play": frozenset({"loop", "digits"}),
    "Pause": frozenset({"length"}),
    "Gather": frozenset(
        {
            "input",
            "action",
            "method",
            "timeout",
            "speechTimeout",
            "maxSpeechTime",
            "profanityFilter",
            "finishOnKey",
            "numDigits",
            "partialResultCallback",
            "partialResultCallbackMethod",
            "language",
            "hints",
            "bargeIn",
            "debug",
            "actionOnEmptyResult",
            "speechModel",
            "enhanced",
        }
    ),
    "Redirect": frozenset({"method"}),
    "Hangup": frozenset(),
    "Reject": frozenset({"reason"}),
    "Dial": frozenset(
        {
            "action",
            "method",
            "timeout",
            "hangupOnStar",
            "timeLimit",
            "callerId",
            "record",
            "trim",
            "recordingStatusCallback",
            "recordingStatusCallbackMethod",
            "recordingStatusCallbackEvent",
            "answerOnBridge",
            "ringTone",
            "recordingTrack",
            "sequential",
            "referUrl",
            "referMethod",
        }
    ),
    "Number": frozenset(
        {"sendDigits", "url", "method", "statusCallbackEvent", "statusCallback", "statusCallbackMethod"}
    ),
    "Enqueue": frozenset({"action", "method", "waitUrl", "waitUrlMethod", "workflowSid", "maxQueueSize"}),
    "Queue": frozenset({"url", "method", "reservationSid", "postWorkActivitySid"}),
}
_CHILDREN: Mapping[str, frozenset[str]] = {
    "Response": frozenset(
        {"Say", "Play", "Pause", "Gather", "Redirect", "Hangup", "Reject", "Dial", "Enqueue"}
    ),
    "Gather": frozenset({"Say", "Play", "Pause"}),
    "Dial": frozenset({"Number", "Queue"}),
}


def parse_twiml(text: str | bytes) -> ET.Element:
    """Parses a TwiML document and checks every element and attribute is Twilio's."""
    root = ET.fromstring(text)
    assert root.tag == "Response", root.tag
    _check(root)
    return root


def _check(element: ET.Element) -> None:
    allowed = TWIML_ATTRIBUTES.get(element.tag)
    assert allowed is not None, f"<{element.tag}> is not a TwiML voice element"
    unknown = set(element.attrib) - allowed
    assert not unknown, f"<{element.tag}> has unknown attributes {unknown}"
    for child in element:
        assert child.tag in _CHILDREN.get(element.tag, frozenset()), f"<{child.tag}> inside <{element.tag}>"
        _check(child)


def spoken(root: ET.Element) -> list[str]:
    return [(say.text or "") for say in root.iter("Say")]


def verbs(root: ET.Element) -> list[str]:
    return [child.tag for child in root]


def assert_snapshot(name: str, twiml: str) -> None:
    """Compares pretty-printed TwiML with snapshots/<name>.xml (written when missing or with
    UPDATE_SNAPSHOTS=1)."""
    root = parse_twiml(twiml)
    ET.indent(root)
    pretty = ET.tostring(root, encoding="unicode") + "\n"
    path = SNAPSHOTS / f"{name}.xml"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1" or not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(pretty, encoding="utf-8")
        return
    expected = path.read_text(encoding="utf-8")
    assert pretty == expected, f"TwiML snapshot {name} changed (UPDATE_SNAPSHOTS=1 to accept):\n{pretty}"


class ScriptedDialogue:
    """Replays scripted replies to user turns, in order; other events get an empty reply.

    With ``gated`` each user turn waits until ``release()`` (a slow dialogue). Fails loudly when it
    runs out; ``assert_used_up`` checks every scripted reply was asked for.
    """

    def __init__(self, replies: Iterable[Reply | Exception] = (), *, gated: bool = False) -> None:
        self._replies: deque[Reply | Exception] = deque(replies)
        self._gate = asyncio.Event()
        if not gated:
            self._gate.set()
        self.events: list[DialogueInput] = []
        self.capabilities: list[Capabilities] = []
        self.turn_started = asyncio.Event()
        self.cancelled = asyncio.Event()

    def release(self) -> None:
        self._gate.set()

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply:
        self.events.append(event)
        self.capabilities.append(capabilities)
        if not isinstance(event, UserTurn):
            return Reply(text="")
        if not self._replies:
            raise AssertionError(f"ScriptedDialogue has no reply left for {event.text!r}")
        scripted = self._replies.popleft()
        self.turn_started.set()
        try:
            await self._gate.wait()
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        if isinstance(scripted, Exception):
            raise scripted
        return scripted

    async def stream(
        self, event: DialogueInput, capabilities: Capabilities
    ) -> AsyncIterator[ReplyDelta | Reply]:
        reply = await self.respond(event, capabilities)
        yield ReplyDelta(reply.text)
        yield reply

    def user_turns(self) -> list[UserTurn]:
        return [event for event in self.events if isinstance(event, UserTurn)]

    def assert_used_up(self) -> None:
        assert not self._replies, f"{len(self._replies)} scripted replies were never asked for"


class ExplodingStore:
    """A call-state store whose every call fails, for the webhooks' error boundary."""

    async def get(self, call_sid: str) -> None:
        raise RuntimeError("store unavailable")

    async def put(self, state: object) -> None:
        raise RuntimeError("store unavailable")

    async def delete(self, call_sid: str) -> None:
        raise RuntimeError("store unavailable")


@dataclass
class RecordingSmsSender:
    sent: list[tuple[str, str]] = field(default_factory=list)
    delivered: asyncio.Event = field(default_factory=asyncio.Event)

    async def send(self, to: str, body: str) -> None:
        self.sent.append((to, body))
        self.delivered.set()


@dataclass
class RecordingOutcomeSink:
    outcomes: list[CallOutcome] = field(default_factory=list)
    recorded: asyncio.Event = field(default_factory=asyncio.Event)

    async def record(self, outcome: CallOutcome) -> None:
        self.outcomes.append(outcome)
        self.recorded.set()


def phone_config(**overrides: object) -> TwilioChannelConfig:
    values: dict[str, object] = {
        "agent_number": "+8227000120",
        "filler_budget": timedelta(seconds=2),
        "answer_poll_wait": timedelta(milliseconds=50),
        "answer_deadline": timedelta(seconds=6),
    }
    values.update(overrides)
    return TwilioChannelConfig.model_validate(values)


@dataclass
class PhoneHarness:
    """The router in a FastAPI app, driven over ASGI by a client that signs like Twilio."""

    app: FastAPI
    client: httpx.AsyncClient
    dialogue: ScriptedDialogue
    tasks: CallTasks
    store: Any
    clock: FakeClock
    validator: RequestValidator
    base: str = "http://testserver"

    def sign(self, url: str, params: Mapping[str, str]) -> str:
        return str(self.validator.compute_signature(url, dict(params)))

    async def post(
        self,
        path: str,
        fields: Mapping[str, str] | None = None,
        *,
        signed_url: str | None = None,
        headers: Mapping[str, str] | None = None,
        signature: str | None = None,
    ) -> httpx.Response:
        params = {"CallSid": CALL_SID, "AccountSid": "AC" + "0" * 32, "From": CALLER, "To": "+8221200120"}
        params.update(fields or {})
        sig = signature if signature is not None else self.sign(signed_url or self.base + path, params)
        return await self.client.post(
            path, data=params, headers={"X-Twilio-Signature": sig, **(headers or {})}
        )

    async def twiml(self, path: str, fields: Mapping[str, str] | None = None) -> ET.Element:
        response = await self.post(path, fields)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("text/xml")
        return parse_twiml(response.text)

    async def aclose(self) -> None:
        await self.client.aclose()
        await self.tasks.aclose()


def make_harness(
    dialogue: ScriptedDialogue,
    config: TwilioChannelConfig | None = None,
    *,
    peer: str = "203.0.113.9",
    store: Any | None = None,
    **router_kwargs: object,
) -> PhoneHarness:
    clock = FakeClock(datetime(2026, 3, 2, 9, 0, tzinfo=UTC))
    tasks = CallTasks(clock)
    store = store if store is not None else InMemoryCallStateStore(clock)
    app = FastAPI()
    app.include_router(
        build_twilio_router(
            dialogue,
            config or phone_config(),
            clock,
            auth_token=TEST_TOKEN,
            tasks=tasks,
            store=store,
            **router_kwargs,  # type: ignore[arg-type]
        )
    )
    transport = httpx.ASGITransport(app=app, client=(peer, 44321))
    client = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    return PhoneHarness(
        app, client, dialogue, tasks, store, clock, RequestValidator(TEST_TOKEN.get_secret_value())
    )
