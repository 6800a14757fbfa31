"""Create staff_accounts, staff_logins, agent_feedback, case_records and case_reference_counters."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None


def _json() -> sa.types.TypeEngine[Any]:
    return sa.JSON().with_variant(JSONB(), "postgresql")


def _id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "staff_accounts",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("password_hash", sa.String(255), nullable=False),
        sa.Column("disabled", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("name", name="uq_staff_accounts_name"),
    )
    op.create_table(
        "staff_logins",
        sa.Column("secret_sha256", sa.String(64), primary_key=True),
        sa.Column(
            "account_id",
            _id(),
            sa.ForeignKey("staff_accounts.id", ondelete="CASCADE", name="fk_staff_logins_account"),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_staff_logins_account_id", "staff_logins", ["account_id"])
    op.create_index("ix_staff_logins_expires_at", "staff_logins", ["expires_at"])
    op.create_table(
        "agent_feedback",
        sa.Column("id", _id(), primary_key=True, autoincrement=True),
        sa.Column("conversation_id", sa.String(300), nullable=False),
        sa.Column("assist_seq", sa.Integer(), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("rating", sa.String(8), nullable=False),
        sa.Column("question", sa.Text(), nullable=False),
        sa.Column("suggestion", sa.Text(), nullable=False),
        sa.Column("cited_chunk_ids", _json(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("conversation_id", "assist_seq", "agent", name="uq_agent_feedback_rating"),
    )
    op.create_index("ix_agent_feedback_at", "agent_feedback", ["at"])
    op.create_table(
        "case_records",
        sa.Column("reference", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("public", _json(), nullable=False),
        sa.Column("restricted", _json(), nullable=False),
    )
    op.create_index("ix_case_records_created_at", "case_records", ["created_at"])
    op.create_table(
        "case_reference_counters",
        sa.Column("prefix", sa.String(16), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("last", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prefix", "day", name="pk_case_reference_counters"),
    )


def downgrade() -> None:
    op.drop_table("case_reference_counters")
    op.drop_index("ix_case_records_created_at", table_name="case_records")
    op.drop_table("case_records")
    op.drop_index("ix_agent_feedback_at", table_name="agent_feedback")
    op.drop_table("agent_feedback")
    op.drop_index("ix_staff_logins_expires_at", table_name="staff_logins")
    op.drop_index("ix_staff_logins_account_id", table_name="staff_logins")
    op.drop_table("staff_logins")
    op.drop_table("staff_accounts")
