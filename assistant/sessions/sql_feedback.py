"""SqlFeedbackStore: agents' ratings of copilot suggestions in the ``agent_feedback`` table."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncEngine

from assistant.core.errors import StorageError
from assistant.sessions.feedback import AgentFeedback, Rating
from assistant.sessions.sql_errors import storage_errors
from assistant.sessions.sql_schema import AGENT_FEEDBACK

_RATINGS: frozenset[str] = frozenset({"up", "down"})
_UPDATED = ("rating", "question", "suggestion", "cited_chunk_ids", "comment", "at")


class SqlFeedbackStore:
    """``FeedbackStore`` on SQLite or PostgreSQL. ``record`` is one upsert on the unique key
    (conversation, suggestion, agent), so two racing ratings leave exactly one row: the later write."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def record(self, feedback: AgentFeedback) -> None:
        if feedback.rating not in _RATINGS:
            raise ValueError(f"a rating is 'up' or 'down', not {feedback.rating!r}")
        values: dict[str, Any] = {
            "conversation_id": feedback.conversation_id,
            "assist_seq": feedback.assist_seq,
            "agent": feedback.agent,
            "rating": feedback.rating,
            "question": feedback.question,
            "suggestion": feedback.suggestion,
            "cited_chunk_ids": list(feedback.cited_chunk_ids),
            "comment": feedback.comment,
            "at": feedback.at,
        }
        with storage_errors("feedback"):
            async with self._engine.begin() as conn:
                insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
                statement = insert(AGENT_FEEDBACK).values(**values)
                await conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["conversation_id", "assist_seq", "agent"],
                        set_={name: statement.excluded[name] for name in _UPDATED},
                    )
                )

    async def list_feedback(self, *, since: datetime | None = None, limit: int = 1000) -> list[AgentFeedback]:
        """Newest first; ``since`` is inclusive."""
        f = AGENT_FEEDBACK.c
        query = sa.select(AGENT_FEEDBACK).order_by(f.at.desc(), f.id.desc()).limit(max(0, limit))
        if since is not None:
            query = query.where(f.at >= since)
        with storage_errors("feedback"):
            async with self._engine.begin() as conn:
                rows = (await conn.execute(query)).all()
        return [_feedback(row) for row in rows]

    async def purge(self, older_than: datetime) -> int:
        """Delete ratings given before ``older_than`` (retention); returns how many."""
        with storage_errors("feedback"):
            async with self._engine.begin() as conn:
                deleted = await conn.execute(
                    sa.delete(AGENT_FEEDBACK).where(AGENT_FEEDBACK.c.at < older_than)
                )
        return int(deleted.rowcount)


def _feedback(row: sa.Row[*tuple[Any, ...]]) -> AgentFeedback:
    rating: Rating
    match row.rating:
        case "up" | "down":
            rating = row.rating
        case _:
            raise StorageError(f"agent_feedback row {row.id} has an unknown rating")
    return AgentFeedback(
        conversation_id=row.conversation_id,
        assist_seq=row.assist_seq,
        rating=rating,
        agent=row.agent,
        question=row.question,
        suggestion=row.suggestion,
        cited_chunk_ids=tuple(str(chunk_id) for chunk_id in row.cited_chunk_ids),
        at=row.at,
        comment=row.comment,
    )
