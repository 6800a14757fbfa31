"""Cuts streamed model text into finished sentences, each with the ``[n]`` markers that follow it."""

from __future__ import annotations

from assistant.answering.text import KoreanText

_BOUNDARY_HINTS = frozenset(".!?\n]요다")


class SentenceAssembler:
    """Buffers tokens and releases a sentence only once it is certainly finished.

    The buffer is re-split (Kiwi) when a delta may end a sentence. All sentences but the last are
    finished — unless the last one starts with ``[``: then it may be the rest of the previous sentence's
    citation ("…예요. [1" waiting for "]"), so that one is held back too. ``flush`` releases the rest when
    the stream ends.
    """

    def __init__(self, text: KoreanText) -> None:
        self._text = text
        self._buffer = ""

    @property
    def pending(self) -> str:
        return self._buffer

    def feed(self, delta: str) -> list[str]:
        self._buffer += delta
        if not any(ch in _BOUNDARY_HINTS for ch in delta):
            return []
        sentences = self._text.sentences(self._buffer)
        if len(sentences) < 2:
            return []
        keep = 2 if sentences[-1].startswith("[") and len(sentences) >= 3 else 1
        if sentences[-1].startswith("[") and len(sentences) < 3:
            return []
        finished, held = sentences[:-keep], sentences[-keep:]
        start = self._buffer.rfind(held[0])
        self._buffer = self._buffer[start:] if start >= 0 else " ".join(held)
        return finished

    def flush(self) -> list[str]:
        rest, self._buffer = self._buffer, ""
        return self._text.sentences(rest) if rest.strip() else []
