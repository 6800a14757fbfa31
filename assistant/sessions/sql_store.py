"""SqlConversationStore: durable conversation records in SQLite or PostgreSQL (SQLAlchemy Core, async)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from assistant.core.clock import Clock
from assistant.core.errors import ConversationConflict, StorageError
from assistant.core.events import ConversationKey, MessageId
from assistant.sessions.codec import decode_state, parse_channel, parse_kind, parse_status
from assistant.sessions.conversation import (
    AppendResult,
    Conversation,
    ConversationEvent,
    ConversationStatus,
    ConversationSummary,
    NewEvent,
    apply_append,
    check_append,
)
from assistant.sessions.sql_schema import CONVERSATIONS, EVENTS

_DELETE_BATCH = 500


class _LostRace(Exception):
    """The conditional version update matched no row: another append committed first."""


class SqlConversationStore:
    """Conversations and their events in two tables (see ``sql_schema``; create them with
    ``upgrade_database``). The engine comes from ``create_session_engine`` and belongs to the caller.

    Races are settled by the database: the version update is conditional (``WHERE version = expected``)
    and the unique keys (channel, thread), (conversation, seq) and (conversation, message_id) reject a
    second writer, whose append then becomes a duplicate (same message) or a ``ConversationConflict``.
    """

    def __init__(self, engine: AsyncEngine, *, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock

    async def load(self, key: ConversationKey) -> Conversation:
        with _sql_errors():
            async with self._engine.begin() as conn:
                return (await _select(conn, key))[1]

    async def append(
        self,
        key: ConversationKey,
        expected_version: int,
        events: Sequence[NewEvent],
        *,
        state: Mapping[str, Any] | None = None,
        status: ConversationStatus | None = None,
    ) -> AppendResult:
        check_append(events, state, status)
        now = self._clock.now()
        try:
            with _sql_errors():
                async with self._engine.begin() as conn:
                    row_id, current = await _select(conn, key)
                    result = apply_append(
                        current, expected_version, events, state=state, status=status, now=now
                    )
                    if not result.duplicate:
                        await _write(conn, row_id, current, result.conversation)
                    return result
        except (IntegrityError, _LostRace) as exc:
            # Another writer committed first. If it carried one of our messages (a retried webhook
            # racing its original), ours is a duplicate; otherwise we lost the version race.
            latest = await self.load(key)
            if any(e.message_id is not None and latest.has_message(e.message_id) for e in events):
                return AppendResult(latest, duplicate=True)
            raise ConversationConflict(
                f"{key.channel} conversation moved to version {latest.version} during the append"
            ) from exc

    async def mirror(self, conversation: Conversation) -> None:
        if conversation.version == 0 or conversation.updated_at is None:
            return
        for attempt in range(2):
            try:
                with _sql_errors():
                    async with self._engine.begin() as conn:
                        await _mirror(conn, conversation)
                return
            except IntegrityError as exc:
                if attempt:  # the record holds different events at these seqs: it diverged
                    raise StorageError(f"session record diverged: {type(exc).__name__}") from exc

    async def list_active(self, limit: int) -> list[ConversationSummary]:
        c = CONVERSATIONS.c
        query = (
            sa.select(c.channel, c.thread, c.status, c.version, c.last_text, c.updated_at)
            .where(c.status != "closed")
            .order_by(c.updated_at.desc(), c.id.desc())
            .limit(max(0, limit))
        )
        with _sql_errors():
            async with self._engine.begin() as conn:
                rows = (await conn.execute(query)).all()
        return [
            ConversationSummary(
                key=ConversationKey(parse_channel(row.channel), row.thread),
                status=parse_status(row.status),
                version=row.version,
                last_text=row.last_text,
                updated_at=row.updated_at,
            )
            for row in rows
        ]

    async def purge(self, older_than: datetime) -> int:
        c = CONVERSATIONS.c
        with _sql_errors():
            async with self._engine.begin() as conn:
                # Lock the stale rows first: an append racing the purge then loses cleanly (its
                # conditional update finds no row) instead of writing events into a deleted record.
                stale = (
                    await conn.execute(
                        sa.select(c.id).where(c.updated_at < older_than).order_by(c.id).with_for_update()
                    )
                ).scalars()
                ids = list(stale)
                for start in range(0, len(ids), _DELETE_BATCH):
                    batch = ids[start : start + _DELETE_BATCH]
                    await conn.execute(sa.delete(EVENTS).where(EVENTS.c.conversation_id.in_(batch)))
                    await conn.execute(sa.delete(CONVERSATIONS).where(c.id.in_(batch)))
        return len(ids)


async def _select(conn: AsyncConnection, key: ConversationKey) -> tuple[int | None, Conversation]:
    c = CONVERSATIONS.c
    row = (
        await conn.execute(
            sa.select(c.id, c.version, c.status, c.state, c.updated_at).where(
                c.channel == key.channel, c.thread == key.thread
            )
        )
    ).one_or_none()
    if row is None:
        return None, Conversation.new(key)
    e = EVENTS.c
    events = await conn.execute(
        sa.select(e.seq, e.kind, e.message_id, e.at, e.payload)
        .where(e.conversation_id == row.id)
        .order_by(e.seq)
    )
    return row.id, Conversation(
        key=key,
        version=row.version,
        events=tuple(
            ConversationEvent(
                key=key,
                seq=event.seq,
                kind=parse_kind(event.kind),
                message_id=MessageId(event.message_id) if event.message_id is not None else None,
                at=event.at,
                payload=event.payload,
            )
            for event in events
        ),
        state=row.state if isinstance(row.state, dict) else decode_state(str(row.state)),
        status=parse_status(row.status),
        updated_at=row.updated_at,
    )


async def _write(conn: AsyncConnection, row_id: int | None, current: Conversation, new: Conversation) -> None:
    """Persist ``current`` → ``new`` (one append); raise ``_LostRace`` if the version moved meanwhile."""
    c = CONVERSATIONS.c
    values = {
        "version": new.version,
        "status": new.status,
        "state": dict(new.state),
        "last_text": new.last_text,
        "updated_at": new.updated_at,
    }
    if row_id is None:
        inserted = await conn.execute(
            sa.insert(CONVERSATIONS)
            .values(channel=new.key.channel, thread=new.key.thread, created_at=new.updated_at, **values)
            .returning(c.id)
        )
        row_id = int(inserted.scalar_one())
    else:
        updated = await conn.execute(
            sa.update(CONVERSATIONS).where(c.id == row_id, c.version == current.version).values(**values)
        )
        if updated.rowcount != 1:
            raise _LostRace
    await _insert_events(conn, row_id, new.events[len(current.events) :])


async def _mirror(conn: AsyncConnection, conversation: Conversation) -> None:
    c = CONVERSATIONS.c
    values = {
        "version": conversation.version,
        "status": conversation.status,
        "state": dict(conversation.state),
        "last_text": conversation.last_text,
        "updated_at": conversation.updated_at,
    }
    key = conversation.key
    row_id = (
        await conn.execute(sa.select(c.id).where(c.channel == key.channel, c.thread == key.thread))
    ).scalar_one_or_none()
    if row_id is None:
        created_at = conversation.events[0].at if conversation.events else conversation.updated_at
        inserted = await conn.execute(
            sa.insert(CONVERSATIONS)
            .values(channel=key.channel, thread=key.thread, created_at=created_at, **values)
            .returning(c.id)
        )
        row_id, stored_seq = int(inserted.scalar_one()), 0
    else:
        updated = await conn.execute(
            sa.update(CONVERSATIONS).where(c.id == row_id, c.version < conversation.version).values(**values)
        )
        if updated.rowcount != 1:
            return  # the record is as new as this or newer
        # The update holds the row lock, so no other mirror adds events until we commit.
        stored_seq = (
            await conn.execute(
                sa.select(sa.func.coalesce(sa.func.max(EVENTS.c.seq), 0)).where(
                    EVENTS.c.conversation_id == row_id
                )
            )
        ).scalar_one()
    await _insert_events(conn, row_id, [e for e in conversation.events if e.seq > stored_seq])


async def _insert_events(conn: AsyncConnection, row_id: int, events: Sequence[ConversationEvent]) -> None:
    if events:
        await conn.execute(
            sa.insert(EVENTS),
            [
                {
                    "conversation_id": row_id,
                    "seq": event.seq,
                    "kind": event.kind,
                    "message_id": event.message_id,
                    "at": event.at,
                    "payload": dict(event.payload),
                }
                for event in events
            ],
        )


@contextmanager
def _sql_errors() -> Iterator[None]:
    """Translate driver failures; integrity errors pass through for the race handling above."""
    try:
        yield
    except IntegrityError:
        raise
    except OperationalError as exc:
        raise StorageError(f"database unavailable: {type(exc.orig).__name__}", retryable=True) from exc
    except OSError as exc:  # asyncpg's connect errors are not wrapped by SQLAlchemy
        raise StorageError(f"database unavailable: {type(exc).__name__}", retryable=True) from exc
    except SQLAlchemyError as exc:
        raise StorageError(f"database failed: {type(exc).__name__}: {exc}") from exc
