"""What the assistant says back, and what a channel can show: citations, replies, capabilities."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from assistant.core.knowledge import ChunkId

ReplyAction = Literal["continue", "handoff", "end_call"]
Audience = Literal["user", "agent"]
AnswerMode = Literal["llm", "extractive", "abstain"]


@dataclass(frozen=True, slots=True)
class Citation:
    """Source ``n`` of an answer, as cited by ``[n]`` markers in its text."""

    n: int
    chunk_id: ChunkId
    title: str
    source: str
    url: str | None = None
    section: str = ""


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a channel can render, as data (not subclass behaviour).

    ``spoken`` selects voice prompts and ear-friendly text; ``reply_budget`` is how long the channel
    can wait for a reply (Kakao: under 5 s before falling back to its callback).
    """

    markdown: bool = True
    spoken: bool = False
    max_chars: int = 4000
    max_quick_replies: int = 10
    reply_budget: timedelta = timedelta(seconds=60)
    pushes_agent_messages: bool = True
    """True when the channel shows an agent's messages as they are sent (the web page polls for them);
    False (KakaoTalk, Rasa REST, the JSON API) when they can only ride on the reply to the citizen's
    next turn."""


@dataclass(frozen=True, slots=True)
class Reply:
    """One reply. A stream yields text deltas and ends with exactly one Reply."""

    text: str
    citations: tuple[Citation, ...] = ()
    quick_replies: tuple[str, ...] = ()
    action: ReplyAction = "continue"
    audience: Audience = "user"
