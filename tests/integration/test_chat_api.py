"""The chat API over real services (lexical-only sample FAQ, no model: extractive answers): ``/v1/chat``,
its SSE stream, the Rasa REST webhook, agent transcripts behind the admin token, JSON errors, and the
durable conversation records on the real PostgreSQL."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from assistant.app.http import create_app
from assistant.app.services import Services, build_services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.clock import SystemClock
from assistant.core.events import ConversationKey
from assistant.ingest.progress import SilentProgress
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.sql_store import SqlConversationStore
from connectors.folder import FolderConnector

pytestmark = pytest.mark.anyio

POSTGRES_URL = os.environ.get("DASAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
FAQ_IDS = {
    "faq-passport-new",
    "faq-basic-pension-eligibility",
    "faq-basic-pension-apply",
    "faq-resident-copy-online",
    "faq-resident-copy-kiosk",
    "faq-bulky-how-to-report",
    "faq-bulky-sticker",
    "faq-ddareungi-price",
    "faq-ddareungi-rent",
}
TOKEN = "test-admin-token-0123456789"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a lexical index of a slice of the sample FAQ, built once for the module."""
    data_dir = tmp_path_factory.mktemp("chat") / "data"
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


def _settings(
    data_dir: Path, database: Path | str, *, schema: str | None = None, **overrides: Any
) -> Settings:
    url = database if isinstance(database, str) else f"sqlite+aiosqlite:///{database}"
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "embedding": {"backend": "none"},
        "retrieval": {"mode": "lexical"},
        "llm": {"backend": "none"},
        "database": {"url": url, "schema_name": schema},
        **overrides,
    }
    return Settings(**values)


@pytest.fixture(scope="module")
def build(knowledge_dir: Path) -> Any:
    """Builds services over the module's index (the caller closes them); SQLite next to it by default."""

    async def make(database: Path | str | None = None, **overrides: Any) -> Services:
        where = database or knowledge_dir.parent / f"{uuid.uuid4().hex}.sqlite3"
        return await build_services(_settings(knowledge_dir, where, **overrides))

    return make


@pytest.fixture(scope="module")
async def services(build: Any) -> AsyncIterator[Services]:
    """One app's services for the module (loading the Korean analyzer once); tests use their own sessions."""
    built: Services = await build(server={"admin_token": TOKEN})
    try:
        yield built
    finally:
        await built.aclose()


def _client(services: Services) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=create_app(services)), base_url="http://test")


def _sse(body: str) -> list[tuple[str, Any]]:
    """(event, data) pairs of an SSE body (comments and keep-alives skipped)."""
    events = []
    for block in body.replace("\r\n", "\n").split("\n\n"):
        name, data = "message", []
        for line in block.split("\n"):
            if line.startswith("event:"):
                name = line[len("event:") :].strip()
            elif line.startswith("data:"):
                data.append(line[len("data:") :].lstrip())
        if data:
            events.append((name, json.loads("\n".join(data))))
    return events


async def test_chat_answers_with_citations_and_keeps_the_session(services: Services) -> None:
    async with _client(services) as client:
        first = await client.post("/v1/chat", json={"text": "여권은 어디서 어떻게 만들 수 있나요?"})
        assert first.status_code == 200, first.text
        body = first.json()
        session_id = body["session_id"]
        assert len(session_id) >= 16
        reply = body["reply"]
        assert set(reply) == {"text", "citations", "quick_replies", "action"}
        assert "여권" in reply["text"] and reply["action"] == "continue"
        (citation,) = reply["citations"]
        assert set(citation) == {"n", "title", "source", "url", "chunk_id"}
        assert citation["title"] == "여권은 어디서 어떻게 만들 수 있나요?" and citation["source"] == "sample"
        assert f"[{citation['n']}]" in reply["text"]
        assert first.headers["server-timing"].startswith("dialogue;dur=")
        follow = await client.post(
            "/v1/chat", json={"session_id": session_id, "text": "상담원 연결해 주세요"}
        )
        assert follow.json()["session_id"] == session_id
        assert follow.json()["reply"]["action"] == "handoff"
    stored = await (await services.sessions()).load(ConversationKey("web", session_id))
    assert [e.kind for e in stored.events] == ["user_turn", "bot_reply", "user_turn", "handoff", "bot_reply"]
    assert stored.status == "handoff"


async def test_a_retried_message_id_is_answered_once(services: Services) -> None:
    async with _client(services) as client:
        request = {
            "session_id": "retry-session-1",
            "text": "따릉이 이용권 요금은 얼마예요?",
            "message_id": "m-1",
        }
        first = await client.post("/v1/chat", json=request)
        second = await client.post("/v1/chat", json=request)
    assert first.json() == second.json()
    stored = await (await services.sessions()).load(ConversationKey("web", "retry-session-1"))
    assert [e.kind for e in stored.events] == ["user_turn", "bot_reply"]


async def test_chat_stream_sends_deltas_then_one_reply(services: Services) -> None:
    async with _client(services) as client:
        response = await client.post("/v1/chat/stream", json={"text": "기초연금은 누가 받을 수 있나요?"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = _sse(response.text)
    names = [name for name, _ in events]
    assert names[-1] == "reply" and names.count("reply") == 1
    assert set(names[:-1]) == {"delta"}
    final = events[-1][1]
    assert final["reply"]["citations"] and final["session_id"]
    assert "".join(data["text"] for name, data in events if name == "delta") == final["reply"]["text"]


async def test_the_rasa_rest_webhook_contract(services: Services) -> None:
    async with _client(services) as client:
        answer = await client.post(
            "/webhooks/rest/webhook",
            json={
                "sender": "rasa-user-1",
                "message": "무인민원발급기에서도 등본을 뗄 수 있나요?",
                "metadata": {},
            },
        )
        handoff = await client.post(
            "/webhooks/rest/webhook", json={"sender": "rasa-user-1", "message": "상담원 연결해 주세요"}
        )
    assert answer.status_code == 200
    reply, sources = answer.json()
    assert reply["recipient_id"] == "rasa-user-1" and "등본" in reply["text"]
    assert "buttons" not in reply
    assert sources["text"].startswith("출처\n[")
    (message,) = handoff.json()
    assert message["recipient_id"] == "rasa-user-1"
    assert message["buttons"] == [{"title": "챗봇으로 돌아가기", "payload": "챗봇으로 돌아가기"}]


async def test_transcripts_need_the_admin_token_and_are_redacted(services: Services, build: Any) -> None:
    async with _client(services) as client:
        said = await client.post(
            "/v1/chat", json={"session_id": "pii-session-1", "text": "제 번호 010-2345-6789로 연락 주세요"}
        )
        assert said.status_code == 200
        missing = await client.get("/v1/conversations/pii-session-1")
        wrong = await client.get(
            "/v1/conversations/pii-session-1", headers={"Authorization": "Bearer not-the-token"}
        )
        right = await client.get(
            "/v1/conversations/web:pii-session-1", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        unknown = await client.get(
            "/v1/conversations/nobody-here", headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert missing.status_code == 401 and missing.json()["error"]["code"] == "unauthorized"
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "forbidden"
    assert right.status_code == 200
    transcript = right.json()
    assert transcript["conversation_id"] == "web:pii-session-1"
    assert transcript["events"][0]["payload"]["text"] == "제 번호 [전화번호]로 연락 주세요"
    assert "6789" not in right.text
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    unset = await build()
    try:
        async with _client(unset) as client:
            closed = await client.get(
                "/v1/conversations/pii-session-1", headers={"Authorization": f"Bearer {TOKEN}"}
            )
        assert closed.status_code == 403
    finally:
        await unset.aclose()


@pytest.mark.parametrize(
    ("body", "where"),
    [
        ({"text": ""}, "text"),
        ({"text": "안녕하세요", "session_id": "bad id!"}, "session_id"),
        ({"text": "안녕하세요", "channel": "kakao"}, "channel"),
        ({"session_id": "abcdefgh1234"}, "text"),
    ],
)
async def test_bad_requests_get_json_errors(services: Services, body: dict[str, Any], where: str) -> None:
    async with _client(services) as client:
        response = await client.post("/v1/chat", json=body)
        stream = await client.post("/v1/chat/stream", json=body)
    assert response.status_code == 422 and stream.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and error["message"].startswith(f"{where}:")


@pytest.mark.slow
async def test_conversations_are_durable_on_postgresql(build: Any) -> None:
    schema = f"dasan_chat_{uuid.uuid4().hex[:12]}"
    admin = create_session_engine(POSTGRES_URL)
    try:
        async with admin.begin() as conn:
            await conn.execute(sa.text("SELECT 1"))
    except Exception as exc:  # an unreachable server skips, whatever the driver raises
        await admin.dispose()
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__})")
    services = await build(POSTGRES_URL, schema=schema)
    try:
        async with _client(services) as client:
            first = await client.post(
                "/v1/chat", json={"session_id": "pg-session-1", "text": "따릉이는 어떻게 빌리나요?"}
            )
            second = await client.post(
                "/v1/chat", json={"session_id": "pg-session-1", "text": "불이 났어요!"}
            )
        assert first.status_code == second.status_code == 200
        assert "119" in second.json()["reply"]["text"]
        await services.aclose()
        engine = create_session_engine(POSTGRES_URL, schema=schema)
        try:
            record = await SqlConversationStore(engine, clock=SystemClock()).load(
                ConversationKey("web", "pg-session-1")
            )
        finally:
            await engine.dispose()
        assert record.status == "handoff"
        assert [e.kind for e in record.events] == [
            "user_turn",
            "bot_reply",
            "user_turn",
            "flag",
            "handoff",
            "bot_reply",
        ]
    finally:
        await services.aclose()
        async with admin.begin() as conn:
            await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()
