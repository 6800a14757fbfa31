"""Staff login for the copilot over real services on PostgreSQL: the login form, the cookie, failed and
throttled logins, logout, lapsed logins, every agent route closed without a login, roles, cross-site
requests refused, and the chat API's transcript route taking the staff cookie."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import Depends, FastAPI

from assistant.accounts.ports import Account
from assistant.app.channel_mounts import LazyDialogue
from assistant.app.services import Services
from assistant.core.clock import FakeClock
from assistant.dialogue.pii import PiiRedactor
from channels.copilot.auth import DeniableRoute, StaffAuth
from channels.copilot.config import STAFF_COOKIE, CopilotConfig
from channels.copilot.router import build_copilot_router
from tests.integration.test_copilot_api import (  # the module's fixtures, shared
    ORIGIN,
    PASSWORD,
    SAME_ORIGIN,
    TOKEN,
    anyio_backend,
    app,
    client_of,
    clock,
    knowledge_dir,
    logged_in,
    new_web_conversation,
    path,
    postgres_schema,
    services,
)

__all__ = ["anyio_backend", "app", "clock", "knowledge_dir", "postgres_schema", "services"]

pytestmark = pytest.mark.anyio

BAD_LOGIN = "아이디 또는 비밀번호가 맞지 않아요. 다시 확인해 주세요."
AGENT_ROUTES: list[tuple[str, str, dict[str, Any] | None]] = [
    ("GET", "/v1/agent/conversations", None),
    ("GET", "/v1/agent/conversations/web:some-session-1", None),
    ("POST", "/v1/agent/conversations/web:some-session-1/assist", {}),
    ("POST", "/v1/agent/conversations/web:some-session-1/messages", {"text": "안녕하세요"}),
    ("POST", "/v1/agent/conversations/web:some-session-1/feedback", {"assist_seq": 3, "rating": "up"}),
]


async def _login(client: httpx.AsyncClient, name: str, password: str, **extra: str) -> httpx.Response:
    return await client.post(
        "/login", data={"name": name, "password": password, **extra}, headers=SAME_ORIGIN
    )


async def test_the_login_form_is_korean_and_loads_no_inline_script(app: FastAPI) -> None:
    async with client_of(app) as client:
        page = await client.get("/login", params={"next": "/copilot"})
        style = await client.get("/copilot/static/copilot.css")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    assert '<html lang="ko">' in html and "상담원 로그인" in html
    assert 'name="name"' in html and 'name="password"' in html and 'value="/copilot"' in html
    assert "<script>" not in html and "style=" not in html and "onclick" not in html
    assert page.headers["content-security-policy"].startswith("default-src 'self'")
    assert page.headers["x-frame-options"] == "DENY" and page.headers["cache-control"] == "no-store"
    assert style.status_code == 200 and style.headers["content-type"].startswith("text/css")


async def test_a_login_sets_a_strict_http_only_cookie_and_opens_the_copilot(app: FastAPI) -> None:
    async with client_of(app) as client:
        response = await _login(client, "agent-kim", PASSWORD, next="/copilot")
        page = await client.get("/copilot")
        script = await client.get("/copilot/static/copilot.js")
        again = await client.get("/login", params={"next": "/copilot"})
    assert response.status_code == 303 and response.headers["location"] == "/copilot"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{STAFF_COOKIE}=")
    attributes = {part.strip().lower() for part in cookie.split(";")[1:]}
    assert {"httponly", "path=/", "samesite=strict"} <= attributes
    assert "secure" not in attributes  # plain http and cookie_secure "auto"
    assert not any(a.startswith(("max-age", "expires")) for a in attributes)  # ends with the browser
    assert page.status_code == 200
    assert 'id="who-name">agent-kim<' in page.text and ">상담원<" in page.text
    assert 'data-poll-ms="2000"' in page.text and "로그아웃" in page.text
    assert script.status_code == 200 and "innerHTML" not in script.text
    assert again.status_code == 303 and again.headers["location"] == "/copilot"  # already logged in


@pytest.mark.parametrize(
    ("given", "landing"),
    [
        ("/copilot?tab=1", "/copilot?tab=1"),
        ("//evil.example/x", "/copilot"),
        ("https://evil.example/", "/copilot"),
        ("/\\evil.example", "/copilot"),
        ("/login", "/copilot"),
        ("", "/copilot"),
    ],
)
async def test_after_login_only_a_local_next_is_followed(app: FastAPI, given: str, landing: str) -> None:
    async with client_of(app) as client:
        response = await _login(client, "sv-lee", PASSWORD, next=given)
    assert response.status_code == 303 and response.headers["location"] == landing


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("agent-kim", "wrong password 123"),
        ("nobody-here", PASSWORD),
        ("agent-off", PASSWORD),
        ("agent-kim", ""),
    ],
)
async def test_failed_logins_get_the_same_generic_401(app: FastAPI, name: str, password: str) -> None:
    async with client_of(app) as client:
        response = await _login(client, name, password)
    assert response.status_code == 401
    assert BAD_LOGIN in response.text and "set-cookie" not in response.headers
    assert f'value="{name}"' in response.text  # the name stays filled in


async def test_repeated_failures_throttle_the_name_with_a_korean_429(
    app: FastAPI, services: Services, clock: FakeClock
) -> None:
    await (await services.accounts()).create("agent-throttled", "agent", PASSWORD)
    async with client_of(app) as client:
        failures = [
            (await _login(client, "agent-throttled", f"wrong guess {i:03d}")).status_code for i in range(5)
        ]
        blocked = await _login(client, "agent-throttled", PASSWORD)
        other = await _login(client, "agent-kim", PASSWORD)
        clock.advance(timedelta(minutes=16))
        later = await _login(client, "agent-throttled", PASSWORD)
    assert failures == [401] * 5
    assert blocked.status_code == 429 and "set-cookie" not in blocked.headers
    assert "로그인에 여러 번 실패해서 잠시 막혔어요." in blocked.text
    assert 0 < int(blocked.headers["retry-after"]) <= 15 * 60
    assert other.status_code == 303  # a name's failures block only that name
    assert later.status_code == 303


async def test_without_a_login_every_agent_route_is_closed(app: FastAPI, services: Services) -> None:
    async with client_of(app) as client:
        answers = [
            await client.request(method, route, json=body, headers=SAME_ORIGIN)
            for method, route, body in AGENT_ROUTES
        ]
        client.cookies.set(STAFF_COOKIE, "not-a-login-secret")
        forged = [
            await client.request(method, route, json=body, headers=SAME_ORIGIN)
            for method, route, body in AGENT_ROUTES
        ]
        page = await client.get("/copilot")
    for response in answers + forged:
        assert response.status_code == 401, response.request.url
        assert response.json()["error"]["code"] == "unauthorized"
    assert page.status_code == 303 and page.headers["location"] == "/login?next=/copilot"


async def test_logout_and_lapsed_logins_close_the_copilot(app: FastAPI, clock: FakeClock) -> None:
    async with logged_in(app) as client:
        secret = client.cookies[STAFF_COOKIE]
        out = await client.post("/logout", headers=SAME_ORIGIN)
        assert out.status_code == 303 and out.headers["location"] == "/login?bye=1"
        assert (
            f'{STAFF_COOKIE}=""' in out.headers["set-cookie"]
            or "max-age=0" in out.headers["set-cookie"].lower()
        )
        farewell = await client.get("/login?bye=1")
    async with client_of(app) as replay:
        replay.cookies.set(STAFF_COOKIE, secret)  # the old secret is closed on the server, not just forgotten
        closed = await replay.get("/v1/agent/conversations")
    assert closed.status_code == 401
    assert "로그아웃했어요." in farewell.text
    async with logged_in(app) as client:
        assert (await client.get("/v1/agent/conversations")).status_code == 200
        clock.advance(timedelta(hours=13))  # past the 12-hour login lapse
        assert (await client.get("/v1/agent/conversations")).status_code == 401
        page = await client.get("/copilot")
    assert page.status_code == 303


async def test_logging_in_again_replaces_the_browsers_earlier_login(app: FastAPI) -> None:
    async with logged_in(app) as client:
        first = client.cookies[STAFF_COOKIE]
        again = await _login(client, "sv-lee", PASSWORD)
        assert again.status_code == 303
        second = client.cookies[STAFF_COOKIE]
        assert second != first
        assert 'id="who-name">sv-lee<' in (await client.get("/copilot")).text
    async with client_of(app) as replay:
        replay.cookies.set(STAFF_COOKIE, first)
        assert (await replay.get("/v1/agent/conversations")).status_code == 401
        replay.cookies.set(STAFF_COOKIE, second)
        assert (await replay.get("/v1/agent/conversations")).status_code == 200


async def test_cross_site_state_changes_are_refused(app: FastAPI, services: Services) -> None:
    async with logged_in(app) as client:
        conversation_id = await new_web_conversation(client, "여권은 어디서 만들어요?")
        assist = path(conversation_id, "/assist")
        evil = await client.post(assist, json={}, headers={"Origin": "https://evil.example"})
        sneaky = await client.post(
            assist, json={}, headers={"Origin": ORIGIN, "Sec-Fetch-Site": "cross-site"}
        )
        sibling = await client.post(assist, json={}, headers={"Sec-Fetch-Site": "same-site"})
        bare = await client.post(assist, json={})
        null_origin = await client.post(assist, json={}, headers={"Origin": "null"})
        form = await client.post(
            path(conversation_id, "/messages"),
            content="text=hello",
            headers={**SAME_ORIGIN, "Content-Type": "text/plain"},
        )
        fetch_only = await client.post(assist, json={}, headers={"Sec-Fetch-Site": "same-origin"})
        logout = await client.post("/logout", headers={"Origin": "https://evil.example"})
        still = await client.get("/v1/agent/conversations")
    for refused in (evil, sneaky, sibling, bare, null_origin):
        assert refused.status_code == 403 and refused.json()["error"]["code"] == "cross_origin"
    assert form.status_code == 415
    assert fetch_only.status_code == 200
    assert logout.status_code == 403 and still.status_code == 200
    async with client_of(app) as client:
        login = await client.post(
            "/login",
            data={"name": "agent-kim", "password": PASSWORD},
            headers={"Origin": "https://evil.example"},
        )
    assert login.status_code == 403 and "set-cookie" not in login.headers
    transcript = await _transcript(app, conversation_id)
    assert [e["kind"] for e in transcript["events"]] == [
        "user_turn",
        "bot_reply",
        "assist_request",
        "assist_reply",
    ]


async def _transcript(app: FastAPI, conversation_id: str) -> dict[str, Any]:
    async with logged_in(app) as client:
        response = await client.get(path(conversation_id))
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_every_staff_role_may_use_the_copilot_and_roles_are_enforced(
    app: FastAPI, services: Services
) -> None:
    for name in ("agent-kim", "sv-lee", "admin-park"):
        async with logged_in(app, name) as client:
            assert (await client.get("/v1/agent/conversations")).status_code == 200
            assert (await client.get("/copilot")).status_code == 200
    # a route that needs more than the agent role, built from the same dependency
    auth = StaffAuth(services.logins, CopilotConfig())
    gated = FastAPI()
    gated.router.route_class = DeniableRoute
    supervisor = auth.api("supervisor")

    @gated.get("/supervised")
    async def supervised(account: Account = Depends(supervisor)) -> dict[str, str]:  # noqa: B008
        return {"name": account.name}

    gated.include_router(
        build_copilot_router(
            services, LazyDialogue(services), services.login_throttle, services.clock, redactor=PiiRedactor()
        )
    )  # the login routes
    for name, status in (("agent-kim", 403), ("sv-lee", 200), ("admin-park", 200)):
        async with logged_in(gated, name) as client:
            assert (await client.get("/supervised")).status_code == status


async def test_the_chat_apis_transcript_route_takes_the_staff_cookie_or_the_token(
    app: FastAPI, services: Services
) -> None:
    async with client_of(app) as anonymous:
        conversation_id = await new_web_conversation(anonymous, "따릉이는 어떻게 빌리나요?")
        nothing = await anonymous.get(f"/v1/conversations/{conversation_id}")
        token = await anonymous.get(
            f"/v1/conversations/{conversation_id}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    async with logged_in(app) as staff:
        cookie = await staff.get(f"/v1/conversations/{conversation_id}")
    assert nothing.status_code == 401
    assert token.status_code == 200 and cookie.status_code == 200
    assert cookie.json()["conversation_id"] == conversation_id == token.json()["conversation_id"]
