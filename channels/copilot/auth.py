"""Staff authentication: the ``dasan_staff`` cookie resolved to an ``Account``, as FastAPI dependencies.

``StaffAuth.api(role)`` answers 401 JSON without a valid login (403 for a lower role);
``StaffAuth.page(role)`` redirects to ``/login?next=…`` (303) instead. ``StaffAuth.same_origin`` refuses
cross-site state changes (403). The dependencies raise ``Denied`` carrying the response, which
``DeniableRoute`` (the route class of the copilot's routers) answers, so routes stay free of checks.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.routing import APIRoute

from assistant.accounts.ports import Account, LoginStore, Role
from channels.copilot.config import STAFF_COOKIE, CopilotConfig
from channels.copilot.origin import is_same_origin

LoginSource = Callable[[], Awaitable[LoginStore]]
"""Opens (or returns) the login store; the app's services open stores on first use."""

DEFAULT_LANDING = "/copilot"


class Denied(Exception):
    """A dependency refused the request; ``response`` is what to answer instead."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class DeniableRoute(APIRoute):
    """An ``APIRoute`` that answers a ``Denied`` raised by its dependencies with its response."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                return await handler(request)
            except Denied as denied:
                return denied.response

        return guarded


def json_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """dasan's JSON error shape: ``{"error": {"code", "message"}}``."""
    return JSONResponse(
        status_code=status, content={"error": {"code": code, "message": message}}, headers=headers
    )


def safe_next(target: str | None) -> str:
    """A local path to go to after login; anything else (another host, ``//host``, ``/\\host``,
    control characters, the login routes themselves) becomes ``/copilot``."""
    if not target or len(target) > 512 or not target.startswith("/") or target.startswith(("//", "/\\")):
        return DEFAULT_LANDING
    if any(ch == "\\" or ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return DEFAULT_LANDING
    if target.split("?", 1)[0] in ("/login", "/logout"):
        return DEFAULT_LANDING
    return target


def login_url(next_path: str) -> str:
    return "/login?next=" + quote(safe_next(next_path), safe="/")


class StaffAuth:
    """Resolves the staff cookie against the login store and sets or clears it."""

    def __init__(self, logins: LoginSource, config: CopilotConfig) -> None:
        self._logins = logins
        self._config = config

    async def account(self, request: Request) -> Account | None:
        """The account of the request's login (extended), or None: no cookie, unknown, expired,
        or a disabled account."""
        secret = request.cookies.get(STAFF_COOKIE)
        if not secret or len(secret) > 256:
            return None
        login = await (await self._logins()).resolve(secret)
        return login.account if login is not None and not login.account.disabled else None

    def api(self, role: Role = "agent") -> Callable[[Request], Awaitable[Account]]:
        """A dependency for JSON routes: the account, or 401 (no login) / 403 (a lower role) JSON."""

        async def dependency(request: Request) -> Account:
            account = await self.account(request)
            if account is None:
                raise Denied(json_error(401, "unauthorized", "log in at /login first"))
            if not account.may(role):
                raise Denied(json_error(403, "forbidden", f"this needs the {role} role"))
            return account

        return dependency

    def page(self, role: Role = "agent") -> Callable[[Request], Awaitable[Account]]:
        """A dependency for pages: the account, or a 303 to ``/login?next=<this page>``."""

        async def dependency(request: Request) -> Account:
            account = await self.account(request)
            if account is None:
                target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                raise Denied(RedirectResponse(login_url(target), status_code=303))
            if not account.may(role):
                raise Denied(HTMLResponse("<!doctype html><p lang=ko>이 화면을 볼 권한이 없어요.</p>", 403))
            return account

        return dependency

    def same_origin(self, request: Request) -> None:
        """A dependency for state-changing JSON routes: 403 unless the browser says same-origin."""
        if not self.is_same_origin(request):
            raise Denied(json_error(403, "cross_origin", "cross-site requests are refused"))

    def is_same_origin(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        headers = {
            name: request.headers[name] for name in ("origin", "sec-fetch-site") if name in request.headers
        }
        return bool(host) and is_same_origin(headers, host=host, trusted=self._config.trusted_origins)

    def set_cookie(self, response: Response, request: Request, secret: str) -> None:
        """The login's secret as a session cookie (no Max-Age: it ends with the browser; the server
        ends the login itself when it lapses)."""
        response.set_cookie(
            STAFF_COOKIE,
            secret,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self._secure(request),
        )

    def clear_cookie(self, response: Response, request: Request) -> None:
        response.delete_cookie(
            STAFF_COOKIE, path="/", httponly=True, samesite="strict", secure=self._secure(request)
        )

    def _secure(self, request: Request) -> bool:
        match self._config.cookie_secure:
            case "always":
                return True
            case "never":
                return False
            case "auto":
                return request.url.scheme == "https"
