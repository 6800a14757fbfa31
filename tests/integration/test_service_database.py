"""The service database as the app wires it: one engine shared by conversations, accounts, logins,
feedback and the flows' case records; a booking made over ``POST /v1/chat`` lands in ``case_records``
with its contact restricted, and reference numbers go on counting after a restart."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from assistant.app.http import create_app
from assistant.app.services import Services, build_services
from assistant.app.settings import Settings
from assistant.core.clock import FakeClock
from assistant.dialogue.flows.records import BulkyWasteBooking
from assistant.dialogue.flows.sql_records import SqlCaseRecordStore
from assistant.sessions.feedback import AgentFeedback
from assistant.sessions.sql_schema import CASE_RECORDS

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)  # 10:00 in Seoul
BOOKING = (
    "장롱 버리고 싶어요",
    "강남이요",
    "장롱",
    "3번",
    "강남구 테헤란로 123, 101동 1001호",
    "다음 주 월요일",
)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def settings(tmp_path: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        embedding={"backend": "none"},  # type: ignore[arg-type]
        retrieval={"mode": "lexical"},  # type: ignore[arg-type]
        llm={"backend": "none"},  # type: ignore[arg-type]
    )


async def book(services: Services, phone: str) -> str:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(services)), base_url="http://test"
    ) as client:
        session_id = None
        for text in (*BOOKING, phone, "네"):
            response = await client.post("/v1/chat", json={"session_id": session_id, "text": text})
            assert response.status_code == 200, response.text
            session_id = response.json()["session_id"]
        reply: str = response.json()["reply"]["text"]
    return reply


async def test_a_booking_lands_in_the_database_and_references_survive_a_restart(tmp_path: Path) -> None:
    services = await build_services(settings(tmp_path), clock=FakeClock(NOW))
    try:
        database = await services.database()
        assert await services.database() is database  # one engine, migrated once
        reply = await book(services, "010-1234-5678")
        assert "접수번호: BW-20260302-0001" in reply

        record = await SqlCaseRecordStore(database).get("BW-20260302-0001")
        assert isinstance(record, BulkyWasteBooking)
        assert (record.district, record.item, record.contact.phone) == ("강남구", "장롱", "010-1234-5678")
        async with database.connect() as conn:
            public = (await conn.execute(sa.select(CASE_RECORDS.c.public))).scalar_one()
        assert "010-1234-5678" not in str(public) and "테헤란로" not in str(public)

        accounts = await services.accounts()
        kim = await accounts.create("kim", "agent", "correct horse 1")
        secret = await (await services.logins()).open(kim)
        feedback = AgentFeedback("web:t", 3, "up", "kim", "질문", "답변", ("c#0",), at=NOW)
        await (await services.feedback()).record(feedback)
        assert services.login_throttle is services.login_throttle
    finally:
        await services.aclose()

    restarted = await build_services(settings(tmp_path), clock=FakeClock(NOW))
    try:
        assert "접수번호: BW-20260302-0002" in await book(restarted, "010-2222-3333")
        login = await (await restarted.logins()).resolve(secret)
        assert login is not None and login.account.name == "kim"
        assert await (await restarted.feedback()).list_feedback() == [feedback]
        report = await (await restarted.retention_sweeper()).run_once()
        assert report.counts() == {"conversations": 0, "feedback": 0, "case_records": 0, "logins": 0}
    finally:
        await restarted.aclose()
