"""Fitting replies to a channel's capabilities: text clipped to ``max_chars`` (a stream's deltas clipped
the same way, so they always add up to the final text), and at most ``max_quick_replies`` buttons."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace

from assistant.core.replies import Capabilities, Reply

ELLIPSIS = "…"
_MARKER = re.compile(r"\[(\d+)\]")


def clip(text: str, max_chars: int) -> str:
    """``text`` if it fits, else its first ``max_chars - 1`` characters and an ellipsis."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - 1)] + ELLIPSIS if max_chars > 0 else ""


def fit_reply(reply: Reply, capabilities: Capabilities) -> Reply:
    """``reply`` within the channel's limits. Citations whose ``[n]`` a clip cut off are dropped (all are
    kept when the text never carried markers)."""
    text = clip(reply.text, capabilities.max_chars)
    citations = reply.citations
    if text != reply.text and citations:
        before = {int(n) for n in _MARKER.findall(reply.text)}
        after = {int(n) for n in _MARKER.findall(text)}
        citations = tuple(c for c in citations if c.n in after or c.n not in before)
    quick_replies = reply.quick_replies[: max(0, capabilities.max_quick_replies)]
    return replace(reply, text=text, citations=citations, quick_replies=quick_replies)


class ClippedDeltas:
    """Passes stream deltas through so that together they are ``clip(full text, max_chars)``.

    Text is held back only once it reaches ``max_chars - 1`` characters (it may still end within the
    limit, in which case no ellipsis is due); ``finish`` hands out what is left.
    """

    def __init__(self, max_chars: int) -> None:
        self._max = max_chars
        self._text: list[str] = []
        self._length = 0
        self._sent = 0

    @property
    def sent(self) -> int:
        """Characters handed out so far."""
        return self._sent

    def feed(self, delta: str) -> Iterator[str]:
        self._text.append(delta)
        self._length += len(delta)
        safe = min(self._length, self._max - 1)
        if safe > self._sent:
            yield from self._take(safe)

    def finish(self, final_text: str) -> Iterator[str]:
        """What is left of ``clip(final_text)`` after the deltas handed out (it extends them)."""
        clipped = clip(final_text, self._max)
        if len(clipped) > self._sent:
            yield clipped[self._sent :]
        self._sent = len(clipped)

    def _take(self, upto: int) -> Iterator[str]:
        text = "".join(self._text)
        self._text = [text]
        piece = text[self._sent : upto]
        self._sent = upto
        yield piece
