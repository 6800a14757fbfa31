"""The 120 agent copilot: staff login (``/login``), the agent JSON API (``/v1/agent/…``) and the
``/copilot`` page over the one dialogue manager.

Entry points: ``channels.copilot.router.build_copilot_router``, ``channels.copilot.config.CopilotConfig``,
``channels.copilot.auth.StaffAuth`` (the cookie → account dependency). See README.md.
"""
