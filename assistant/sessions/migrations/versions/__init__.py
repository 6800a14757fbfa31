"""Alembic revisions of the session tables, oldest first (r0001_initial, …)."""
