"""Alembic migrations of the session tables; run them with ``assistant.sessions.migrate.upgrade_database``."""
