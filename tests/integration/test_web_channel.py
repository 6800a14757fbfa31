"""The web channel over real services (lexical sample FAQ, no model): the chat page and its security and
cache headers, its static assets, and ``GET /v1/chat/{session_id}/messages`` (what the page has not
shown yet) through the real dialogue manager and session store."""

from __future__ import annotations

import asyncio
import json
import re
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from assistant.app.chat_api import _ID as CHAT_SESSION_ID_PATTERN
from assistant.app.http import create_app
from assistant.app.services import Services, build_services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.errors import StorageError
from assistant.core.events import AgentMessage, AssistRequested, ConversationKey, MessageId
from assistant.core.replies import Capabilities
from assistant.ingest.progress import SilentProgress
from assistant.sessions.conversation import Conversation, NewEvent
from channels.web.assets import STATIC_DIR
from channels.web.router import build_web_router
from channels.web.wire import SESSION_ID_PATTERN
from connectors.folder import FolderConnector

pytestmark = pytest.mark.anyio

FAQ_IDS = {"faq-passport-new", "faq-bulky-how-to-report", "faq-ddareungi-price", "faq-basic-pension-apply"}


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


def _settings(data_dir: Path, database: Path) -> Settings:
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "embedding": {"backend": "none"},
        "retrieval": {"mode": "lexical"},
        "llm": {"backend": "none"},
        "database": {"url": f"sqlite+aiosqlite:///{database}"},
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("web") / "data"
    folder = data_dir.parent / "kb"
    folder.mkdir()
    lines = (sample_knowledge_dir() / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if line.strip() and json.loads(line)["id"] in FAQ_IDS]
    (folder / "faq.jsonl").write_text("\n".join(picked), encoding="utf-8")

    async def ingest() -> None:
        services = await build_services(_settings(data_dir, data_dir.parent / "ingest.sqlite3"))
        try:
            await services.ingest_pipeline(dense=False).run(
                [FolderConnector(folder, source="sample")], SilentProgress()
            )
        finally:
            await services.aclose()

    asyncio.run(ingest())
    return data_dir


@pytest.fixture(scope="module")
async def services(knowledge_dir: Path) -> AsyncIterator[Services]:
    built = await build_services(_settings(knowledge_dir, knowledge_dir.parent / "web.sqlite3"))
    try:
        yield built
    finally:
        await built.aclose()


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test")


def _session() -> str:
    return f"web-test-{uuid.uuid4().hex}"


async def _chat(client: httpx.AsyncClient, session_id: str, text: str, message_id: str) -> dict[str, Any]:
    response = await client.post(
        "/v1/chat", json={"session_id": session_id, "text": text, "message_id": message_id}
    )
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def _agent_says(services: Services, session_id: str, text: str) -> None:
    message = AgentMessage(
        key=ConversationKey("web", session_id),
        message_id=MessageId(f"agent-{uuid.uuid4().hex}"),
        received_at=services.clock.now(),
        agent_id="agent-1",
        text=text,
    )
    await (await services.dialogue()).respond(message, Capabilities())


async def test_the_page_is_korean_self_contained_and_locked_down(services: Services) -> None:
    async with _client(create_app(services)) as client:
        page = await client.get("/")
        again = await client.get("/", headers={"If-None-Match": page.headers["etag"]})
        docs = await client.get("/docs")
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    html = page.text
    assert '<html lang="ko">' in html and "서울시 120 다산콜센터 상담 도우미" in html
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["referrer-policy"] == "no-referrer"
    assert page.headers["cache-control"] == "no-cache"
    assert again.status_code == 304 and again.content == b""
    assert docs.status_code == 200  # the API docs stay where they were
    scripts = re.findall(r"<script([^>]*)>(.*?)</script>", html, flags=re.S)
    assert scripts and all('src="/web/static/' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\sstyle=|\son[a-z]+=", html), "inline styles or handlers would break the CSP"
    assert 'for="message-input"' in html and 'role="log"' in html and 'aria-live="polite"' in html


async def test_every_asset_is_served_versioned_and_nothing_else(services: Services) -> None:
    async with _client(create_app(services)) as client:
        page = (await client.get("/")).text
        urls = sorted(set(re.findall(r'"(/web/static/[^"]+)"', page)))
        served = {url: await client.get(url) for url in urls}
        unversioned = await client.get("/web/static/chat.js")
        stale = await client.get("/web/static/chat.js?v=0000")
        revalidated = await client.get(
            "/web/static/chat.js", headers={"If-None-Match": unversioned.headers["etag"]}
        )
        missing = await client.get("/web/static/nope.js")
        template = await client.get("/web/static/chat.html")
        outside = await client.get("/web/static/..%2Frouter.py")
    assert {url.split("?")[0].rsplit("/", 1)[1] for url in urls} >= {
        "chat.css",
        "chat.js",
        "prefs.js",
        "icon.svg",
    }
    for url, response in served.items():
        assert response.status_code == 200, url
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable", url
        assert response.headers["x-content-type-options"] == "nosniff"
        assert url.endswith(f"?v={response.headers['etag'].strip(chr(34))}")
    assert (
        served[next(u for u in urls if "chat.js" in u)].headers["content-type"].startswith("text/javascript")
    )
    assert served[next(u for u in urls if "chat.css" in u)].headers["content-type"].startswith("text/css")
    assert unversioned.status_code == 200 and unversioned.headers["cache-control"] == "no-cache"
    assert stale.headers["cache-control"] == "no-cache"
    assert revalidated.status_code == 304
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert template.status_code == 404 and outside.status_code == 404


def test_assets_load_nothing_from_elsewhere() -> None:
    """No CDN, no remote fonts, no inline HTML insertion in the scripts."""
    for path in STATIC_DIR.iterdir():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"(?:src|href|url)\s*[=(]\s*[\"']?https?://", text), path.name
        assert "@import" not in text, path.name
        if path.suffix == ".js":
            assert not re.search(r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(", text), (
                path.name
            )


async def test_messages_deliver_agents_and_unseen_replies_with_the_status(services: Services) -> None:
    session_id = _session()
    async with _client(create_app(services)) as client:
        answered = await _chat(client, session_id, "여권은 어디서 어떻게 만들 수 있나요?", "m-1")
        first = await client.get(f"/v1/chat/{session_id}/messages")
        handoff = await _chat(client, session_id, "상담원 연결해 주세요", "m-2")
        waiting = await client.get(f"/v1/chat/{session_id}/messages", params={"after": 2})
        await _agent_says(services, session_id, "안녕하세요, 상담사예요. 010-2345-6789로 전화드릴게요.")
        talking = await client.get(f"/v1/chat/{session_id}/messages", params={"after": 5})
        everything = await client.get(f"/v1/chat/{session_id}/messages", params={"after": 0})
        nothing_new = await client.get(
            f"/v1/chat/{session_id}/messages", params={"after": everything.json()["messages"][-1]["seq"]}
        )
    assert first.status_code == 200 and first.headers["cache-control"] == "no-store"
    body = first.json()
    assert body["status"] == "bot" and body["version"] == 1
    (reply,) = body["messages"]
    assert reply["role"] == "assistant" and reply["seq"] == 2 and reply["in_reply_to"] == "m-1"
    assert reply["text"] == answered["reply"]["text"]
    assert reply["citations"] == answered["reply"]["citations"]
    assert reply["at"].endswith("+00:00")

    assert handoff["reply"]["action"] == "handoff"
    assert waiting.json()["status"] == "handoff"
    assert [(m["role"], m["in_reply_to"]) for m in waiting.json()["messages"]] == [("assistant", "m-2")]
    assert waiting.json()["messages"][0]["quick_replies"] == handoff["reply"]["quick_replies"]

    assert talking.json()["status"] == "agent"
    (agent,) = talking.json()["messages"]
    assert agent["role"] == "agent" and agent["in_reply_to"] is None and agent["citations"] == []
    assert agent["text"] == "안녕하세요, 상담사예요. [전화번호]로 전화드릴게요."  # stored redacted
    assert [m["role"] for m in everything.json()["messages"]] == ["assistant", "assistant", "agent"]
    seqs = [m["seq"] for m in everything.json()["messages"]]
    assert seqs == sorted(seqs)
    assert (
        nothing_new.json()["messages"] == [] and nothing_new.json()["version"] == everything.json()["version"]
    )


async def test_copilot_suggestions_and_citizen_turns_are_not_delivered(services: Services) -> None:
    session_id = _session()
    async with _client(create_app(services)) as client:
        await _chat(client, session_id, "따릉이 이용권 요금은 얼마예요?", "m-1")
        suggestion = AssistRequested(
            key=ConversationKey("web", session_id),
            message_id=MessageId("assist-1"),
            received_at=services.clock.now(),
            agent_id="agent-1",
        )
        await (await services.dialogue()).respond(suggestion, Capabilities())
        response = await client.get(f"/v1/chat/{session_id}/messages")
    stored = await (await services.sessions()).load(ConversationKey("web", session_id))
    assert "assist_reply" in [e.kind for e in stored.events]
    assert [m["in_reply_to"] for m in response.json()["messages"]] == ["m-1"]


async def test_statuses_include_closed(services: Services) -> None:
    session_id = _session()
    store = await services.sessions()
    key = ConversationKey("web", session_id)
    at = services.clock.now()
    await store.append(key, 0, [NewEvent("user_turn", at, {"text": "안녕하세요"}, MessageId("u-1"))])
    await store.append(key, 1, [], status="closed")
    async with _client(create_app(services)) as client:
        response = await client.get(f"/v1/chat/{session_id}/messages")
    assert response.json() == {"status": "closed", "version": 2, "messages": []}


async def test_unknown_and_other_channel_conversations_are_not_found(services: Services) -> None:
    api_session = _session()
    async with _client(create_app(services)) as client:
        made = await client.post(
            "/v1/chat", json={"session_id": api_session, "text": "여권 발급", "channel": "api"}
        )
        assert made.status_code == 200
        other_channel = await client.get(f"/v1/chat/{api_session}/messages")
        unknown = await client.get(f"/v1/chat/{_session()}/messages")
    for response in (other_channel, unknown):
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "no such conversation"}}


@pytest.mark.parametrize(
    ("path", "where"),
    [
        ("/v1/chat/short/messages", "session_id"),
        ("/v1/chat/has%20a%20space%21/messages", "session_id"),
        (f"/v1/chat/web:{'a' * 12}/messages", "session_id"),
        (f"/v1/chat/{'a' * 129}/messages", "session_id"),
        ("/v1/chat/abcdefgh1234/messages?after=-1", "after"),
        ("/v1/chat/abcdefgh1234/messages?after=two", "after"),
    ],
)
async def test_bad_ids_and_cursors_get_json_errors(services: Services, path: str, where: str) -> None:
    async with _client(create_app(services)) as client:
        response = await client.get(path)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and where in error["message"]


def test_the_session_id_rule_is_the_chat_apis() -> None:
    assert SESSION_ID_PATTERN == CHAT_SESSION_ID_PATTERN


class UnavailableConversations:
    """A conversation store whose backing service is down."""

    async def load(self, key: ConversationKey) -> Conversation:
        raise StorageError("the database is unreachable")

    async def append(self, *args: Sequence[Any], **kwargs: Mapping[str, Any]) -> None:  # pragma: no cover
        raise AssertionError("the web channel only reads")


async def test_a_storage_failure_is_a_503() -> None:
    app = FastAPI()
    app.include_router(build_web_router(UnavailableConversations()))
    async with _client(app) as client:
        response = await client.get("/v1/chat/abcdefgh1234/messages")
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "storage_unavailable"
