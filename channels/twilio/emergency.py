"""Recognising an emergency handoff: a reply that carries the safety rulebook's guidance."""

from __future__ import annotations

import re
from typing import Protocol

from assistant.core.replies import Reply
from assistant.dialogue.safety_rulebook import SafetyRulebook

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


class EmergencyDetector(Protocol):
    """Says whether a reply hands an emergency or a crisis over (and so may go to a transfer line)."""

    def is_emergency(self, reply: Reply) -> bool: ...


def _normal(text: str) -> str:
    return " ".join(text.split())


class SafetyGuidanceDetector:
    """A ``handoff`` reply whose text contains an emergency or crisis guidance of the rulebook (its
    written or spoken form, whole or its longest sentence): the dialogue answers emergencies with
    that guidance, so no extra field on ``Reply`` is needed."""

    def __init__(self, rulebook: SafetyRulebook) -> None:
        markers: set[str] = set()
        for category in rulebook.categories:
            for guidance in (category.guidance, category.spoken_guidance):
                text = _normal(guidance)
                markers.add(text)
                markers.add(max(_SENTENCE.split(text), key=len))
        self._markers = tuple(sorted(markers, key=len, reverse=True))

    def is_emergency(self, reply: Reply) -> bool:
        if reply.action != "handoff":
            return False
        text = _normal(reply.text)
        return any(marker in text for marker in self._markers)
