"""Conversation sessions: an append-only event log per conversation, with optimistic concurrency.

Entry points: ``SessionStore`` (the port, ``ports.py``), ``InMemorySessionStore``, ``RedisSessionStore``
(live sessions), ``SqlConversationStore`` (durable records, Alembic migrations via ``upgrade_database``)
and ``TieredSessionStore`` (live in front of durable).
"""
