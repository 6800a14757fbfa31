"""Alembic environment of the session tables: migrates the connection that upgrade_database hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy.engine import Connection

from assistant.sessions.sql_schema import METADATA, VERSION_TABLE


def run_migrations() -> None:
    connection = context.config.attributes.get("connection")
    if context.is_offline_mode() or not isinstance(connection, Connection):
        raise RuntimeError("run the session migrations through assistant.sessions.migrate.upgrade_database")
    context.configure(
        connection=connection,
        target_metadata=METADATA,
        version_table=VERSION_TABLE,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()


run_migrations()
