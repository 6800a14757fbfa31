"""The service database's tables (SQLAlchemy Core), as the latest migration leaves them: conversations,
staff accounts and logins, agent feedback and the case records flows create."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect

VERSION_TABLE = "alembic_version_sessions"
"""The sessions' own Alembic version table, so other parts of dasan can migrate the same database."""


class UtcDateTime(sa.TypeDecorator[datetime]):
    """Aware UTC datetimes in and out, also on SQLite (which stores naive text)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def json_type() -> sa.types.TypeEngine[Any]:
    """JSON text on SQLite, JSONB on PostgreSQL."""
    return sa.JSON().with_variant(JSONB(), "postgresql")


def id_type() -> sa.types.TypeEngine[int]:
    """BIGINT ids, except on SQLite, where only INTEGER PRIMARY KEY autoincrements."""
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


METADATA = sa.MetaData()

CONVERSATIONS = sa.Table(
    "conversations",
    METADATA,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("channel", sa.String(16), nullable=False),
    sa.Column("thread", sa.String(255), nullable=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("status", sa.String(16), nullable=False),
    sa.Column("state", json_type(), nullable=False),
    sa.Column("last_text", sa.Text(), nullable=True),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("channel", "thread", name="uq_conversations_key"),
    sa.Index("ix_conversations_updated_at", "updated_at"),
)

EVENTS = sa.Table(
    "conversation_events",
    METADATA,
    sa.Column(
        "conversation_id",
        id_type(),
        sa.ForeignKey("conversations.id", ondelete="CASCADE", name="fk_conversation_events_conversation"),
        nullable=False,
    ),
    sa.Column("seq", sa.Integer(), nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("message_id", sa.String(255), nullable=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.Column("payload", json_type(), nullable=False),
    sa.PrimaryKeyConstraint("conversation_id", "seq", name="pk_conversation_events"),
    sa.UniqueConstraint("conversation_id", "message_id", name="uq_conversation_events_message"),
)

# ── Staff accounts and logins (assistant.accounts) ──────────────────────────────────────────────────────

STAFF_ACCOUNTS = sa.Table(
    "staff_accounts",
    METADATA,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("name", sa.String(64), nullable=False),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("password_hash", sa.String(255), nullable=False),
    sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("updated_at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("name", name="uq_staff_accounts_name"),
)

STAFF_LOGINS = sa.Table(
    "staff_logins",
    METADATA,
    sa.Column("secret_sha256", sa.String(64), primary_key=True),
    sa.Column(
        "account_id",
        id_type(),
        sa.ForeignKey("staff_accounts.id", ondelete="CASCADE", name="fk_staff_logins_account"),
        nullable=False,
    ),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("expires_at", UtcDateTime(), nullable=False),
    sa.Column("last_seen_at", UtcDateTime(), nullable=False),
    sa.Index("ix_staff_logins_account_id", "account_id"),
    sa.Index("ix_staff_logins_expires_at", "expires_at"),
)

# ── Agents' ratings of copilot suggestions (assistant.sessions.feedback) ────────────────────────────────

AGENT_FEEDBACK = sa.Table(
    "agent_feedback",
    METADATA,
    sa.Column("id", id_type(), primary_key=True, autoincrement=True),
    sa.Column("conversation_id", sa.String(300), nullable=False),
    sa.Column("assist_seq", sa.Integer(), nullable=False),
    sa.Column("agent", sa.String(64), nullable=False),
    sa.Column("rating", sa.String(8), nullable=False),
    sa.Column("question", sa.Text(), nullable=False),
    sa.Column("suggestion", sa.Text(), nullable=False),
    sa.Column("cited_chunk_ids", json_type(), nullable=False),
    sa.Column("comment", sa.Text(), nullable=True),
    sa.Column("at", UtcDateTime(), nullable=False),
    sa.UniqueConstraint("conversation_id", "assist_seq", "agent", name="uq_agent_feedback_rating"),
    sa.Index("ix_agent_feedback_at", "at"),
)

# ── Bookings and complaints that flows create (assistant.dialogue.flows.sql_records) ────────────────────

CASE_RECORDS = sa.Table(
    "case_records",
    METADATA,
    sa.Column("reference", sa.String(64), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("created_at", UtcDateTime(), nullable=False),
    sa.Column("public", json_type(), nullable=False),
    sa.Column("restricted", json_type(), nullable=False),
    sa.Index("ix_case_records_created_at", "created_at"),
)
"""``public`` is the record's ``public_view()``; ``restricted`` holds what it leaves out (the citizen's
contact details and free text): read only by staff APIs, never logged."""

CASE_REFERENCE_COUNTERS = sa.Table(
    "case_reference_counters",
    METADATA,
    sa.Column("prefix", sa.String(16), nullable=False),
    sa.Column("day", sa.Date(), nullable=False),
    sa.Column("last", sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint("prefix", "day", name="pk_case_reference_counters"),
)
