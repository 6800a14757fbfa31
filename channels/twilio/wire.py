"""Twilio's voice webhook bodies: form decoding and the fields dasan reads from them."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from assistant.core.errors import InvalidInbound

MAX_BODY_BYTES = 64 * 1024
"""Twilio's voice webhooks are a few hundred bytes; anything far larger is not from Twilio."""

FormPairs = tuple[tuple[str, str], ...]
M = TypeVar("M", bound=BaseModel)


def parse_form(body: bytes) -> FormPairs:
    """Decode ``application/x-www-form-urlencoded``, keeping repeated and blank fields."""
    if len(body) > MAX_BODY_BYTES:
        raise InvalidInbound("webhook body too large")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise InvalidInbound("webhook body is not UTF-8") from exc
    return tuple(parse_qsl(text, keep_blank_values=True))


def first_values(pairs: Sequence[tuple[str, str]]) -> dict[str, str]:
    """Each field's first value, the way Twilio's own webhooks never repeat a voice field."""
    values: dict[str, str] = {}
    for name, value in pairs:
        values.setdefault(name, value)
    return values


class TwilioVoiceRequest(BaseModel):
    """The fields of a voice webhook (incoming call, gather result, redirect) that dasan uses.

    ``caller`` (``From``) is PII: it is kept for the citation SMS and never logged.
    """

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    call_sid: str = Field(alias="CallSid", min_length=2, max_length=64)
    account_sid: str = Field(default="", alias="AccountSid")
    caller: str = Field(default="", alias="From", repr=False)
    called: str = Field(default="", alias="To", repr=False)
    call_status: str = Field(default="", alias="CallStatus")
    direction: str = Field(default="inbound", alias="Direction")
    speech_result: str = Field(default="", alias="SpeechResult", repr=False)
    confidence: float | None = Field(default=None, alias="Confidence")
    digits: str = Field(default="", alias="Digits", repr=False)


class TwilioStatusCallback(BaseModel):
    """A call status callback (``completed``, ``busy``, ``no-answer`` …) with its duration."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    call_sid: str = Field(alias="CallSid", min_length=2, max_length=64)
    call_status: str = Field(alias="CallStatus")
    call_duration: int | None = Field(default=None, alias="CallDuration", ge=0)
    sequence_number: str = Field(default="", alias="SequenceNumber")


class TwilioDialResult(BaseModel):
    """What Twilio posts to a ``<Dial action>`` when the dialled leg ends."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    call_sid: str = Field(alias="CallSid", min_length=2, max_length=64)
    dial_call_status: str = Field(default="", alias="DialCallStatus")
    queue_result: str = Field(default="", alias="QueueResult", description="after <Enqueue>")


def decode(model: type[M], pairs: FormPairs) -> M:
    """Validate the first value of each field into ``model``; bad input is ``InvalidInbound``."""
    values: dict[str, str | None] = dict(first_values(pairs))
    for blank in ("Confidence", "CallDuration"):
        if values.get(blank) == "":
            values[blank] = None
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        fields = ", ".join(str(err["loc"][0]) for err in exc.errors() if err["loc"])
        raise InvalidInbound(f"invalid Twilio webhook fields: {fields or 'body'}") from exc
