"""What a trace may carry: pseudonymous ids, per-channel content capture, and redaction of everything.

- ``Pseudonymizer`` turns a conversation key or a channel user id (a Kakao user key, a caller's phone
  number) into an HMAC-SHA256 keyed hash. The salt is a deployment secret, so ids group a session's
  traces but cannot be reversed by hashing every phone number (10^8 candidates) without it.
- ``CapturePolicy`` says which channels export content (inputs and outputs). Phone calls and check-in
  calls are off by default: their transcripts are voice data about often vulnerable people.
- ``ContentFilter`` applies one turn's rules: content is redacted when captured and omitted (only its
  size kept) when not; metadata is always exported, with its strings redacted.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from assistant.core.errors import ConfigurationError
from assistant.core.events import Channel, ConversationKey
from assistant.tracing.ports import Metadata, TextRedactor

DEFAULT_CAPTURE_CHANNELS: frozenset[Channel] = frozenset({"web", "api", "rasa", "kakao"})
"""Channels whose content is captured unless configured otherwise (not ``phone``, not ``checkin``)."""

MIN_SALT_CHARS = 16
_DIGEST_HEX_CHARS = 24  # 96 bits: no collisions among a city's conversations, short in the UI


class Pseudonymizer:
    """Keyed hashes for session and user ids (stable for one salt)."""

    def __init__(self, salt: str | bytes) -> None:
        key = salt.encode("utf-8") if isinstance(salt, str) else salt
        if len(key) < MIN_SALT_CHARS:
            raise ConfigurationError(
                f"the tracing hash salt must be at least {MIN_SALT_CHARS} characters "
                "(DASAN_TRACING__HASH_SALT)"
            )
        self._key = key

    def session_id(self, conversation: ConversationKey) -> str:
        return f"{conversation.channel}-{self._digest('session', str(conversation))}"

    def user_id(self, channel: Channel, user: str) -> str:
        return f"{channel}-{self._digest('user', f'{channel}:{user}')}"

    def _digest(self, purpose: str, value: str) -> str:
        message = f"{purpose}\x00{value}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()[:_DIGEST_HEX_CHARS]


@dataclass(frozen=True, slots=True)
class CapturePolicy:
    """The channels whose turns export (redacted) content."""

    channels: frozenset[Channel] = DEFAULT_CAPTURE_CHANNELS

    @classmethod
    def of(cls, channels: Collection[Channel]) -> CapturePolicy:
        return cls(frozenset(channels))

    def captures(self, channel: Channel) -> bool:
        return channel in self.channels


class ContentFilter:
    """One turn's privacy rules, applied to every value a span records."""

    def __init__(self, redactor: TextRedactor, *, capture: bool) -> None:
        self._redactor = redactor
        self.capture = capture

    def content(self, field: str, value: object) -> tuple[object, dict[str, object]]:
        """The exported value (None when omitted) and size metadata (``<field>_chars`` when omitted)."""
        if value is None:
            return None, {}
        if self.capture:
            return self._redact(value), {}
        return None, {f"{field}_chars": _chars(value)}

    def metadata(self, metadata: Metadata | None) -> dict[str, object]:
        """Structural metadata with every string redacted (keys are ours and kept)."""
        if not metadata:
            return {}
        return {key: self._redact(value) for key, value in metadata.items()}

    def text(self, value: str) -> str:
        return self._redactor.redact_text(value)

    def _redact(self, value: object) -> object:
        match value:
            case str():
                return self._redactor.redact_text(value)
            case bool() | int() | float() | None:
                return value
            case Mapping():
                return {str(k): self._redact(v) for k, v in value.items()}
            case list() | tuple() | set() | frozenset():
                return [self._redact(v) for v in value]
            case _:
                return self._redactor.redact_text(str(value))


def _chars(value: object) -> int:
    """Characters of text in a value (strings inside mappings and sequences count)."""
    match value:
        case str():
            return len(value)
        case Mapping():
            return sum(_chars(v) for v in value.values())
        case list() | tuple() | set() | frozenset():
            return sum(_chars(v) for v in value)
        case None | bool() | int() | float():
            return 0
        case _:
            return len(str(value))
