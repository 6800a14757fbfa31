"""The dialogue manager's port: the single entry point every channel calls."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

from assistant.core.events import DialogueInput
from assistant.core.replies import Capabilities, Reply


@dataclass(frozen=True, slots=True)
class ReplyDelta:
    """A piece of reply text, streamed before the final ``Reply``."""

    text: str


class DialogueManager(Protocol):
    """Turns one channel-agnostic input into one reply, with the channel's capabilities as data.

    ``respond`` is idempotent per ``message_id``: a retried webhook gets the reply of the first
    delivery. ``stream`` yields ``ReplyDelta``s and ends with exactly one ``Reply``.
    """

    async def respond(self, event: DialogueInput, capabilities: Capabilities) -> Reply: ...

    def stream(
        self, event: DialogueInput, capabilities: Capabilities
    ) -> AsyncIterator[ReplyDelta | Reply]: ...
