"""``build_copilot_router``: the login routes, the agent API and the ``/copilot`` page in one router."""

# No ``from __future__ import annotations`` here: FastAPI resolves route annotations at runtime, and
# the ``Annotated`` dependencies below close over the router factory's locals.

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from assistant.accounts.ports import Account, Role
from assistant.core.clock import Clock
from assistant.dialogue.ports import DialogueManager
from assistant.tracing.ports import TextRedactor, Tracer
from channels.copilot.agent_api import build_agent_api
from channels.copilot.auth import DeniableRoute, StaffAuth
from channels.copilot.config import CopilotConfig
from channels.copilot.login_routes import build_login_router
from channels.copilot.pages import STATIC_PREFIX, PageRenderer
from channels.copilot.ports import CopilotStores, LoginGate

ROLE_LABELS: dict[Role, str] = {"agent": "상담원", "supervisor": "슈퍼바이저", "admin": "관리자"}


def build_copilot_router(
    stores: CopilotStores,
    dialogue: DialogueManager,
    gate: LoginGate,
    clock: Clock,
    *,
    redactor: TextRedactor,
    config: CopilotConfig | None = None,
    tracer: Tracer | None = None,
) -> APIRouter:
    """``GET/POST /login``, ``POST /logout``, ``/v1/agent/conversations…`` and ``GET /copilot`` (with
    its assets under ``/copilot/static/``). Nothing but the login form and the assets answers without
    a staff login."""
    config = config or CopilotConfig()
    auth = StaffAuth(stores.logins, config)
    pages = PageRenderer()
    router = APIRouter()
    router.include_router(build_login_router(auth, stores, gate, pages, config))
    router.include_router(
        build_agent_api(auth, stores, dialogue, clock, config, redactor=redactor, tracer=tracer)
    )
    page = APIRouter(route_class=DeniableRoute, include_in_schema=False)

    @page.get("/copilot")
    async def copilot(account: Annotated[Account, Depends(auth.page("agent"))]) -> Response:
        return pages.page(
            "copilot.html",
            name=account.name,
            role=ROLE_LABELS[account.role],
            poll_ms=int(config.poll_interval.total_seconds() * 1000),
        )

    @page.get(STATIC_PREFIX + "/{name}")
    async def asset(name: str, request: Request) -> Response:
        return pages.asset(name, request)

    router.include_router(page)
    return router
