"""Web chat channel: the citizen's chat page at ``/``, its static assets, and the poll route that
delivers an agent's messages (``GET /v1/chat/{session_id}/messages``).

Entry point: ``channels.web.router.build_web_router``. See README.md.
"""
