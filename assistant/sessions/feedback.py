"""Agents' thumbs on the copilot's suggestions, kept as eval material for the QA team.

Everything here is already redacted: the question as the conversation log holds it, the suggestion the
agent rated (generated from redacted input) and the ids of the chunks it cited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal, Protocol

Rating = Literal["up", "down"]


@dataclass(frozen=True, slots=True)
class AgentFeedback:
    """One rating of one suggestion: ``conversation_id`` is ``channel:thread``, ``assist_seq`` the
    ``assist_request`` event the suggestion answered."""

    conversation_id: str
    assist_seq: int
    rating: Rating
    agent: str
    question: str
    suggestion: str
    cited_chunk_ids: tuple[str, ...]
    at: datetime
    comment: str | None = None


class FeedbackStore(Protocol):
    """Ratings, one per (conversation, suggestion, agent): rating again replaces the earlier one."""

    async def record(self, feedback: AgentFeedback) -> None: ...

    async def list_feedback(self, *, since: datetime | None = None, limit: int = 1000) -> list[AgentFeedback]:
        """Newest first."""
        ...
