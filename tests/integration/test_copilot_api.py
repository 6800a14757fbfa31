"""The agent copilot's JSON API over real services (lexical sample FAQ, no model: extractive answers) on
the real PostgreSQL: the live list with masked labels, transcripts, suggestions with citations,
feedback stored and scored, takeover messages. The fixtures here are shared with test_copilot_auth."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI

from assistant.accounts.ports import Role
from assistant.app.channel_mounts import LazyDialogue
from assistant.app.http import create_app
from assistant.app.services import Services, build_services, sample_knowledge_dir
from assistant.app.settings import Settings
from assistant.core.clock import FakeClock
from assistant.core.events import ConversationKey, MessageId, UserTurn
from assistant.core.replies import Capabilities
from assistant.dialogue.pii import PiiRedactor
from assistant.ingest.progress import SilentProgress
from assistant.sessions.conversation import NewEvent
from assistant.sessions.sql_engine import create_session_engine
from assistant.sessions.write_behind import WriteBehindSessionStore
from assistant.tracing.recording import RecordedScore, RecordingTracer
from channels.copilot.router import build_copilot_router
from connectors.folder import FolderConnector

pytestmark = pytest.mark.anyio

POSTGRES_URL = os.environ.get("DASAN_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")
FAQ_IDS = {
    "faq-passport-new",
    "faq-basic-pension-eligibility",
    "faq-basic-pension-apply",
    "faq-ddareungi-price",
    "faq-ddareungi-rent",
    "faq-bulky-how-to-report",
}
TOKEN = "copilot-admin-token-0123456789"
ORIGIN = "http://test"
SAME_ORIGIN = {"Origin": ORIGIN}
PASSWORD = "correct horse battery staple"
STAFF: dict[str, Role] = {"agent-kim": "agent", "sv-lee": "supervisor", "admin-park": "admin"}
KAKAO_USER_KEY = "a1B2c3D4e5F6kakaoUserKey0099"
CALL_SID = "CA0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="module")
def knowledge_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data dir with a lexical index of a slice of the sample FAQ, built once for the module."""
    data_dir = tmp_path_factory.mktemp("copilot") / "data"
    folder = data_dir.parent / "kb"
    folder.mkdir()
    lines = (sample_knowledge_dir() / "faq.jsonl").read_text(encoding="utf-8").splitlines()
    picked = [line for line in lines if line.strip() and json.loads(line)["id"] in FAQ_IDS]
    (folder / "faq.jsonl").write_text("\n".join(picked), encoding="utf-8")

    async def ingest() -> None:
        services = await build_services(_settings(data_dir, f"sqlite+aiosqlite:///{data_dir.parent}/i.db"))
        try:
            await services.ingest_pipeline(dense=False).run(
                [FolderConnector(folder, source="sample")], SilentProgress()
            )
        finally:
            await services.aclose()

    asyncio.run(ingest())
    return data_dir


def _settings(data_dir: Path, url: str, schema: str | None = None) -> Settings:
    return Settings(
        data_dir=data_dir,
        embedding={"backend": "none"},
        retrieval={"mode": "lexical"},
        llm={"backend": "none"},
        database={"url": url, "schema_name": schema},
        server={"admin_token": TOKEN},
    )


@pytest.fixture(scope="module")
def postgres_schema() -> Iterator[str]:
    """A fresh PostgreSQL schema for the module, dropped afterwards (skips when the server is down)."""
    schema = f"dasan_copilot_{uuid.uuid4().hex[:12]}"

    async def run(statement: str) -> None:
        engine = create_session_engine(POSTGRES_URL)
        try:
            async with engine.begin() as conn:
                await conn.execute(sa.text(statement))
        finally:
            await engine.dispose()

    try:
        asyncio.run(run("SELECT 1"))
    except Exception as exc:  # an unreachable server skips, whatever the driver raises
        pytest.skip(f"PostgreSQL at {POSTGRES_URL} is unreachable ({type(exc).__name__})")
    yield schema
    asyncio.run(run(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock(datetime(2026, 3, 2, 0, 30, tzinfo=UTC))


@pytest.fixture(scope="module")
async def services(knowledge_dir: Path, postgres_schema: str, clock: FakeClock) -> AsyncIterator[Services]:
    """The module's services on PostgreSQL, with one account per role (and a disabled one)."""
    built = await build_services(_settings(knowledge_dir, POSTGRES_URL, postgres_schema), clock=clock)
    try:
        accounts = await built.accounts()
        for name, role in STAFF.items():
            await accounts.create(name, role, PASSWORD)
        await accounts.create("agent-off", "agent", PASSWORD)
        await accounts.set_disabled("agent-off", True)
        yield built
    finally:
        await built.aclose()


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=ORIGIN)


@asynccontextmanager
async def logged_in(app: FastAPI, name: str = "agent-kim") -> AsyncIterator[httpx.AsyncClient]:
    """A client holding ``name``'s staff cookie."""
    async with client_of(app) as client:
        response = await client.post("/login", data={"name": name, "password": PASSWORD}, headers=SAME_ORIGIN)
        assert response.status_code == 303, response.text
        yield client


async def settled(services: Services) -> None:
    """Waits until every conversation write has reached the durable store the live list reads."""
    store = await services.sessions()
    if isinstance(store, WriteBehindSessionStore):
        await store.flush()


async def citizen_says(services: Services, key: ConversationKey, text: str, clock: FakeClock) -> None:
    """A citizen's turn through the real dialogue, as a channel would send it."""
    clock.advance(timedelta(seconds=5))
    turn = UserTurn(key, MessageId(uuid.uuid4().hex), clock.now(), text)
    await (await services.dialogue()).respond(turn, Capabilities())


async def new_web_conversation(client: httpx.AsyncClient, text: str) -> str:
    response = await client.post("/v1/chat", json={"text": text})
    assert response.status_code == 200, response.text
    return f"web:{response.json()['session_id']}"


def path(conversation_id: str, suffix: str = "") -> str:
    return f"/v1/agent/conversations/{conversation_id}{suffix}"


@pytest.fixture(scope="module")
def app(services: Services) -> FastAPI:
    return create_app(services)


async def test_the_live_list_masks_kakao_and_phone_thread_ids(
    app: FastAPI, services: Services, clock: FakeClock
) -> None:
    kakao = ConversationKey("kakao", KAKAO_USER_KEY)
    phone = ConversationKey("phone", CALL_SID)
    await citizen_says(services, kakao, "따릉이 이용권 요금은 얼마예요?", clock)
    await citizen_says(services, phone, "상담원 연결해 주세요", clock)
    await settled(services)
    async with logged_in(app) as client:
        response = await client.get("/v1/agent/conversations")
    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    rows = {row["id"]: row for row in response.json()["conversations"]}
    kakao_row, phone_row = rows[str(kakao)], rows[str(phone)]
    assert kakao_row["channel"] == "kakao" and kakao_row["channel_label"] == "카카오"
    assert kakao_row["label"].startswith("카카오 ·") and len(kakao_row["label"]) == len("카카오 ·") + 4
    assert phone_row["label"].startswith("전화 ·")
    for row in (kakao_row, phone_row):
        shown = json.dumps({k: v for k, v in row.items() if k != "id"}, ensure_ascii=False)
        assert KAKAO_USER_KEY not in shown and CALL_SID not in shown
        assert KAKAO_USER_KEY[:6] not in row["label"] and CALL_SID[:6] not in row["label"]
    assert phone_row["status"] == "handoff" and phone_row["needs_human"] is True
    assert phone_row["status_label"] == "상담원 연결 대기"
    assert kakao_row["status"] == "bot" and kakao_row["needs_human"] is False
    stored = await (await services.sessions()).load(kakao)
    assert kakao_row["last_text"] == stored.last_text == stored.events[-1].payload["text"]  # the bot's
    order = list(rows)
    assert order.index(str(phone)) < order.index(str(kakao))  # newest first


async def test_a_transcript_is_the_stored_log_with_its_label(app: FastAPI, services: Services) -> None:
    async with logged_in(app, "sv-lee") as client:
        conversation_id = await new_web_conversation(
            client, "제 번호 010-2345-6789인데 여권 어디서 만들어요?"
        )
        found = await client.get(path(conversation_id))
        unknown = await client.get(path("web:nobody-here-123"))
        malformed = await client.get(path("fax:123"))
    assert found.status_code == 200, found.text
    body = found.json()
    assert body["conversation_id"] == conversation_id and body["status"] == "bot"
    assert body["label"].startswith("웹 ·") and conversation_id.split(":")[1] not in body["label"]
    assert [e["kind"] for e in body["events"]] == ["user_turn", "bot_reply"]
    assert body["events"][0]["payload"]["text"].startswith("제 번호 [전화번호]인데")
    assert "6789" not in found.text
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "not_found"
    assert malformed.status_code == 400


async def test_assist_suggests_a_cited_answer_to_the_latest_turn(app: FastAPI, services: Services) -> None:
    async with logged_in(app) as client:
        conversation_id = await new_web_conversation(client, "여권은 어디서 어떻게 만들 수 있나요?")
        first = await client.post(
            path(conversation_id, "/assist"), json={"message_id": "s-1"}, headers=SAME_ORIGIN
        )
        again = await client.post(
            path(conversation_id, "/assist"), json={"message_id": "s-1"}, headers=SAME_ORIGIN
        )
        follow = await client.post(
            "/v1/chat", json={"session_id": conversation_id.split(":")[1], "text": "기초연금도 알려 주세요"}
        )
        assert follow.status_code == 200
        later = await client.post(path(conversation_id, "/assist"), json={}, headers=SAME_ORIGIN)
        missing = await client.post(path("web:nobody-here-123", "/assist"), json={}, headers=SAME_ORIGIN)
    assert first.status_code == 200, first.text
    suggestion = first.json()
    assert set(suggestion) == {"assist_seq", "text", "citations", "trace_id"}
    assert "여권" in suggestion["text"] and suggestion["citations"]
    assert suggestion["citations"][0]["title"] == "여권은 어디서 어떻게 만들 수 있나요?"
    assert f"[{suggestion['citations'][0]['n']}]" in suggestion["text"]
    assert again.json() == suggestion  # one suggestion per message id
    assert missing.status_code == 404
    stored = await (await services.sessions()).load(ConversationKey("web", conversation_id.split(":")[1]))
    kinds = [e.kind for e in stored.events]
    assert kinds == [
        "user_turn",
        "bot_reply",
        "assist_request",
        "assist_reply",
        "user_turn",
        "bot_reply",
        "assist_request",
        "assist_reply",
    ]
    request = stored.events[suggestion["assist_seq"] - 1]
    assert request.kind == "assist_request" and request.payload == {"agent_id": "agent-kim", "for_seq": 1}
    assert later.status_code == 200 and later.json()["assist_seq"] == 7
    assert stored.events[6].payload["for_seq"] == 5  # the citizen's latest turn
    assert stored.status == "bot"  # a suggestion is for the agent: the citizen sees nothing


async def test_feedback_is_stored_with_the_question_suggestion_and_sources(
    app: FastAPI, services: Services
) -> None:
    async with logged_in(app) as client:
        conversation_id = await new_web_conversation(
            client, "기초연금은 누가 받을 수 있나요? 제 번호는 010-1111-2222예요"
        )
        assist = await client.post(path(conversation_id, "/assist"), json={}, headers=SAME_ORIGIN)
        seq = assist.json()["assist_seq"]
        rated = await client.post(
            path(conversation_id, "/feedback"),
            json={"assist_seq": seq, "rating": "up", "comment": "정확해요. 시민 번호 010-9876-5432"},
            headers=SAME_ORIGIN,
        )
        rerated = await client.post(
            path(conversation_id, "/feedback"),
            json={"assist_seq": seq, "rating": "down"},
            headers=SAME_ORIGIN,
        )
        wrong_seq = await client.post(
            path(conversation_id, "/feedback"), json={"assist_seq": 1, "rating": "up"}, headers=SAME_ORIGIN
        )
        bad_rating = await client.post(
            path(conversation_id, "/feedback"), json={"assist_seq": seq, "rating": "meh"}, headers=SAME_ORIGIN
        )
    assert rated.status_code == 200, rated.text
    assert rated.json() == {
        "conversation_id": conversation_id,
        "assist_seq": seq,
        "rating": "up",
        "scored": False,
    }
    assert rerated.status_code == 200
    assert wrong_seq.status_code == 404 and bad_rating.status_code == 422
    mine = [
        f for f in await (await services.feedback()).list_feedback() if f.conversation_id == conversation_id
    ]
    assert len(mine) == 1  # rating again replaces the agent's earlier rating
    (feedback,) = mine
    assert feedback.rating == "down" and feedback.agent == "agent-kim" and feedback.assist_seq == seq
    assert feedback.question.startswith("기초연금은 누가 받을 수 있나요? 제 번호는 [전화번호]")
    assert feedback.suggestion and "010-1111-2222" not in feedback.suggestion
    assert feedback.cited_chunk_ids == tuple(c["chunk_id"] for c in assist.json()["citations"])
    assert feedback.cited_chunk_ids


async def test_feedback_scores_the_suggestions_trace_on_an_injected_tracer(
    services: Services, clock: FakeClock
) -> None:
    """The feedback route reads the ``trace_id`` the dialogue recorded on the ``assist_reply`` (with
    tracing on) and scores that trace; the log is written here as the traced dialogue writes it."""
    redactor = PiiRedactor()
    tracer = RecordingTracer(redactor)
    app = FastAPI()
    app.include_router(
        build_copilot_router(
            services, LazyDialogue(services), services.login_throttle, clock, redactor=redactor, tracer=tracer
        )
    )
    key = ConversationKey("kakao", "traced-kakao-user-key-1")
    store = await services.sessions()
    now = clock.now()
    citation = {"n": 1, "chunk_id": "faq-passport-new#0", "title": "여권", "source": "sample", "url": None}
    await store.append(
        key,
        0,
        [
            NewEvent(
                "user_turn", now, {"text": "여권 어디서 만들어요?", "pii": []}, message_id=MessageId("u1")
            ),
            NewEvent(
                "bot_reply", now, {"text": "구청에서요 [1]", "in_reply_to": "u1"}, MessageId("u1#reply")
            ),
            NewEvent(
                "assist_request", now, {"agent_id": "agent-kim", "for_seq": 1}, message_id=MessageId("a1")
            ),
            NewEvent(
                "assist_reply",
                now,
                {
                    "text": "구청 민원실에서 신청해요 [1]",
                    "in_reply_to": "a1",
                    "citations": [citation],
                    "trace_id": "f" * 32,
                },
                message_id=MessageId("a1#reply"),
            ),
        ],
    )
    async with logged_in(app, "admin-park") as client:
        scored = await client.post(
            path(str(key), "/feedback"),
            json={"assist_seq": 3, "rating": "down", "comment": "출처가 달라요 010-2222-3333"},
            headers=SAME_ORIGIN,
        )
        up = await client.post(
            path(str(key), "/feedback"), json={"assist_seq": 3, "rating": "up"}, headers=SAME_ORIGIN
        )
    assert scored.status_code == 200, scored.text
    assert scored.json()["scored"] is True and up.json()["scored"] is True
    assert tracer.scores == [
        RecordedScore("f" * 32, "agent_feedback", 0.0, "출처가 달라요 [전화번호]"),
        RecordedScore("f" * 32, "agent_feedback", 1.0, None),
    ]
    (stored,) = [
        f for f in await (await services.feedback()).list_feedback() if f.conversation_id == str(key)
    ]
    assert stored.question == "여권 어디서 만들어요?" and stored.suggestion == "구청 민원실에서 신청해요 [1]"
    assert stored.cited_chunk_ids == ("faq-passport-new#0",) and stored.agent == "admin-park"


async def test_an_agent_message_takes_the_conversation_over(
    app: FastAPI, services: Services, clock: FakeClock
) -> None:
    async with logged_in(app) as client:
        conversation_id = await new_web_conversation(client, "상담원 연결해 주세요")
        await settled(services)
        listed = {c["id"]: c for c in (await client.get("/v1/agent/conversations")).json()["conversations"]}
        assert listed[conversation_id]["needs_human"] is True
        sent = await client.post(
            path(conversation_id, "/messages"),
            json={"text": "안녕하세요, 상담원 김다산이에요. 무엇을 도와드릴까요?", "message_id": "m-1"},
            headers=SAME_ORIGIN,
        )
        resent = await client.post(
            path(conversation_id, "/messages"),
            json={"text": "안녕하세요, 상담원 김다산이에요. 무엇을 도와드릴까요?", "message_id": "m-1"},
            headers=SAME_ORIGIN,
        )
        empty = await client.post(path(conversation_id, "/messages"), json={"text": ""}, headers=SAME_ORIGIN)
        await settled(services)
        after = {c["id"]: c for c in (await client.get("/v1/agent/conversations")).json()["conversations"]}
        transcript = (await client.get(path(conversation_id))).json()
    assert sent.status_code == 200, sent.text
    assert sent.json() == {"text": "안녕하세요, 상담원 김다산이에요. 무엇을 도와드릴까요?", "status": "agent"}
    assert resent.status_code == 200 and empty.status_code == 422
    agent_messages = [e for e in transcript["events"] if e["kind"] == "agent_message"]
    assert len(agent_messages) == 1  # the retried message id was not appended twice
    assert agent_messages[0]["payload"]["agent_id"] == "agent-kim"
    assert transcript["status"] == "agent" and after[conversation_id]["status"] == "agent"
    assert after[conversation_id]["needs_human"] is False


async def test_a_closed_conversation_takes_no_agent_message(
    app: FastAPI, services: Services, clock: FakeClock
) -> None:
    key = ConversationKey("phone", "CAclosed0000000000000000000000000")
    store = await services.sessions()
    await store.append(
        key, 0, [NewEvent("call_ended", clock.now(), {"outcome": "completed"})], status="closed"
    )
    async with logged_in(app) as client:
        response = await client.post(
            path(str(key), "/messages"), json={"text": "여보세요"}, headers=SAME_ORIGIN
        )
    assert response.status_code == 409 and response.json()["error"]["code"] == "conversation_closed"


async def test_a_live_call_takes_no_typed_agent_message(
    app: FastAPI, services: Services, clock: FakeClock
) -> None:
    key = ConversationKey("phone", "CAlive00000000000000000000000000")
    store = await services.sessions()
    started = NewEvent("call_started", clock.now(), {"direction": "inbound"})
    await store.append(key, 0, [started], status="bot")
    async with logged_in(app) as client:
        response = await client.post(
            path(str(key), "/messages"), json={"text": "여보세요"}, headers=SAME_ORIGIN
        )
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_deliverable"
    assert (await store.load(key)).status == "bot"  # not taken over: nothing was appended
