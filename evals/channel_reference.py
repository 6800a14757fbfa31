"""Reference encoders for the channel conformance suite, until the real channel encoders are wired in.

They encode a core ``Reply`` the way the channel packages are specified to (Kakao: up to three
``simpleText`` parts at sentence boundaries, ten quick replies with short labels; Twilio: ear-friendly
``<Say language="ko-KR">`` inside a speech ``<Gather>``). The composition root may pass the channels'
own encoders instead; the checks in ``channel_checks`` are the same either way.
"""

from __future__ import annotations

import re
from typing import Any
from xml.sax.saxutils import escape

from assistant.core.replies import Reply
from evals.channel_checks import (
    KAKAO_MAX_LABEL,
    KAKAO_MAX_OUTPUTS,
    KAKAO_MAX_QUICK_REPLIES,
    KAKAO_MAX_TEXT,
    POLLY_MAX_SAY_BYTES,
    char_length,
)

_SENTENCE_SPLIT = re.compile(r"(?<=[.!?。…])\s+|\n+")
_MARKERS = re.compile(r"\s*\[\s*\d{1,3}(?:\s*,\s*\d{1,3})*\s*\]")
_URLS = re.compile(r"\(?\s*(?:https?://|www\.)\S+\)?", re.IGNORECASE)
_MARKDOWN = re.compile(r"\*\*|__|`|^\s{0,3}#{1,6}\s+|^\s*[-*+]\s+|^\s*\d+\.\s+", re.MULTILINE)
_EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\U0001f000-\U0001f2ff]")
_TRUNCATED = " (이하 생략)"
VOICE = "Polly.Seoyeon-Neural"


def plain_text(text: str) -> str:
    """Markdown and emoji removed, whitespace tidied; citation markers kept."""
    text = _EMOJI.sub("", _MARKDOWN.sub("", text))
    return "\n".join(" ".join(line.split()) for line in text.splitlines() if line.strip())


def spoken_text(text: str) -> str:
    """What the phone may say: no citation markers, URLs, markdown or emoji; one line."""
    return " ".join(_URLS.sub("", _MARKERS.sub("", plain_text(text))).split())


def pack(text: str, limit: int, max_parts: int, *, measure: Any = char_length) -> list[str]:
    """Whole sentences packed into at most ``max_parts`` parts of at most ``limit``; overflow is cut."""
    parts: list[str] = []
    current = ""
    for sentence in (s for s in _SENTENCE_SPLIT.split(text) if s.strip()):
        candidate = f"{current} {sentence}".strip()
        if measure(candidate) <= limit:
            current = candidate
            continue
        if current:
            parts.append(current)
        current = sentence
        while measure(current) > limit:
            cut = _cut(current, limit, measure)
            parts.append(cut)
            current = current[len(cut) :].strip()
    if current:
        parts.append(current)
    if len(parts) > max_parts:
        parts = parts[:max_parts]
        parts[-1] = _cut(parts[-1], limit - measure(_TRUNCATED), measure) + _TRUNCATED
    return parts


def _cut(text: str, limit: int, measure: Any) -> str:
    end = len(text)
    while end > 0 and measure(text[:end]) > limit:
        end -= 1
    space = text.rfind(" ", 0, end)
    return text[: space if space > end // 2 else end].rstrip()


def short_label(label: str) -> str:
    label = " ".join(label.split())
    return label if char_length(label) <= KAKAO_MAX_LABEL else label[: KAKAO_MAX_LABEL - 1] + "…"


class ReferenceKakaoEncoder:
    """A core ``Reply`` as a Kakao SkillResponse 2.0 (simpleText parts and message quick replies)."""

    def encode(self, reply: Reply) -> dict[str, Any]:
        text = plain_text(reply.text)
        if reply.citations:
            text += "\n\n출처: " + ", ".join(f"[{c.n}] {c.title}" for c in reply.citations)
        parts = pack(text, KAKAO_MAX_TEXT, KAKAO_MAX_OUTPUTS) or ["…"]
        quick = [
            {"action": "message", "label": short_label(item), "messageText": item}
            for item in reply.quick_replies[:KAKAO_MAX_QUICK_REPLIES]
            if item.strip()
        ]
        template: dict[str, Any] = {"outputs": [{"simpleText": {"text": part}} for part in parts]}
        if quick:
            template["quickReplies"] = quick
        return {"version": "2.0", "template": template}


class ReferenceTwimlEncoder:
    """A core ``Reply`` as TwiML: the answer spoken, then listen again, hand off or hang up."""

    def __init__(
        self, *, gather_action: str = "/twilio/voice/gather", handoff_url: str = "/twilio/voice/handoff"
    ):
        self._gather_action = gather_action
        self._handoff_url = handoff_url

    def encode(self, reply: Reply) -> str:
        parts = pack(spoken_text(reply.text), POLLY_MAX_SAY_BYTES, 10, measure=_utf8_len) or ["…"]
        says = "".join(f'<Say language="ko-KR" voice="{VOICE}">{escape(part)}</Say>' for part in parts)
        match reply.action:
            case "end_call":
                body = f"{says}<Hangup/>"
            case "handoff":
                body = f'{says}<Redirect method="POST">{escape(self._handoff_url)}</Redirect>'
            case "continue":
                body = (
                    f'<Gather input="speech" language="ko-KR" speechTimeout="auto" '
                    f'action="{escape(self._gather_action)}" method="POST">{says}</Gather>'
                )
        return f'<?xml version="1.0" encoding="UTF-8"?><Response>{body}</Response>'


def _utf8_len(text: str) -> int:
    return len(text.encode("utf-8"))
