"""``GET /login`` (the Korean login form), ``POST /login`` and ``POST /logout``.

A failed login answers the form again with one generic message and HTTP 401, whether the name is
unknown, the password wrong or the account disabled; a name with too many recent failures gets 429
without its password being checked. Success sets the staff cookie and redirects (303) to a safe local
``next`` (``/copilot`` by default).
"""

from __future__ import annotations

import logging
import math
from typing import Annotated
from urllib.parse import parse_qsl

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import RedirectResponse

from assistant.accounts.ports import LoginStore
from channels.copilot.auth import DeniableRoute, StaffAuth, safe_next
from channels.copilot.config import STAFF_COOKIE, CopilotConfig
from channels.copilot.pages import PageRenderer
from channels.copilot.ports import CopilotStores, LoginGate

_log = logging.getLogger(__name__)

BAD_LOGIN = "아이디 또는 비밀번호가 맞지 않아요. 다시 확인해 주세요."
CROSS_SITE = "다른 사이트에서 보낸 요청은 받을 수 없어요. 로그인 화면에서 다시 시도해 주세요."
BAD_FORM = "요청을 읽을 수 없어요. 로그인 화면에서 다시 시도해 주세요."
LOGGED_OUT = "로그아웃했어요."
MAX_NAME = 64
MAX_PASSWORD = 1024


def throttled_message(minutes: int) -> str:
    return f"로그인에 여러 번 실패해서 잠시 막혔어요. {minutes}분 뒤에 다시 시도해 주세요."


def build_login_router(
    auth: StaffAuth, stores: CopilotStores, gate: LoginGate, pages: PageRenderer, config: CopilotConfig
) -> APIRouter:
    router = APIRouter(route_class=DeniableRoute, include_in_schema=False)

    def form(status: int, *, next_path: str, name: str = "", error: str | None = None) -> Response:
        return pages.page(
            "login.html", status, next_path=safe_next(next_path), name=name, error=error, notice=None
        )

    @router.get("/login")
    async def login_form(
        request: Request,
        next_path: Annotated[str | None, Query(alias="next", max_length=512)] = None,
        bye: Annotated[str | None, Query(max_length=8)] = None,
    ) -> Response:
        if await auth.account(request) is not None:
            return RedirectResponse(safe_next(next_path), status_code=303)
        return pages.page(
            "login.html",
            next_path=safe_next(next_path),
            name="",
            error=None,
            notice=LOGGED_OUT if bye else None,
        )

    @router.post("/login")
    async def login(request: Request) -> Response:
        if not auth.is_same_origin(request):
            return form(403, next_path="/copilot", error=CROSS_SITE)
        fields = await _form_fields(request, config.max_form_bytes)
        if fields is None:
            return form(400, next_path="/copilot", error=BAD_FORM)
        name = fields.get("name", "").strip()[:MAX_NAME]
        password = fields.get("password", "")
        next_path = fields.get("next", "")
        wait = gate.retry_after(name) if name else None
        if wait is not None:
            _log.warning("staff login refused: too many failures for the name")
            minutes = max(1, math.ceil(wait.total_seconds() / 60))
            response = form(429, next_path=next_path, name=name, error=throttled_message(minutes))
            response.headers["Retry-After"] = str(max(1, math.ceil(wait.total_seconds())))
            return response
        account = None
        if name and password and len(password) <= MAX_PASSWORD:
            account = await (await stores.accounts()).authenticate(name, password)
        if account is None or account.disabled:
            if name:
                gate.failed(name)
            _log.info("staff login failed")  # the typed name may be a mistyped password: not logged
            return form(401, next_path=next_path, name=name, error=BAD_LOGIN)
        gate.succeeded(name)
        logins: LoginStore = await stores.logins()
        secret = await logins.open(account)
        earlier = request.cookies.get(STAFF_COOKIE)
        if earlier and len(earlier) <= 256:
            await logins.close(earlier)  # a new login replaces the browser's earlier one
        _log.info("staff login: %s (%s)", account.name, account.role)
        response = RedirectResponse(safe_next(next_path), status_code=303)
        auth.set_cookie(response, request, secret)
        return response

    @router.post("/logout")
    async def logout(request: Request) -> Response:
        if not auth.is_same_origin(request):
            return form(403, next_path="/copilot", error=CROSS_SITE)
        secret = request.cookies.get(STAFF_COOKIE)
        if secret and len(secret) <= 256:
            await (await stores.logins()).close(secret)
        response = RedirectResponse("/login?bye=1", status_code=303)
        auth.clear_cookie(response, request)
        return response

    return router


async def _form_fields(request: Request, limit: int) -> dict[str, str] | None:
    """An ``application/x-www-form-urlencoded`` body as a dict (first value wins), or None when it is
    another type, too big or not UTF-8."""
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/x-www-form-urlencoded":
        return None
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            return None
    try:
        pairs = parse_qsl(
            body.decode("utf-8"), keep_blank_values=True, max_num_fields=16, strict_parsing=False
        )
    except (UnicodeDecodeError, ValueError):
        return None
    fields: dict[str, str] = {}
    for key, value in pairs:
        fields.setdefault(key, value)
    return fields
